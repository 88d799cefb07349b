// The network of a step trace as a computational graph (SVG): inputs, one column per layer, the loss.
// render(stage, sample) fills in what is known at that stage: z and a going forward, then at every neuron
// on the way back the upstream gradient × the local derivative = ∂L/∂z, and finally the updated weights.
import { formatNumber } from "../dom.js";
import { t } from "../i18n/index.js";
import { arrowLine, arrowMarker, declutter, fitText, graphRoot, setNumber, svg } from "./svg.js";

const NODE_W = 190;
const COLUMN = NODE_W + 130; // the gap between columns holds the edge labels
const ROW = 118;
const LINE = 16;
const NODE_H = 5 * LINE + 10; // a title and four lines
const MID = NODE_H / 2;
const PAD = 24;
const ALWAYS_LABELLED = 6; // networks with at most this many edges label every edge at every stage
const MAX_LAYER_LABELS = 16; // otherwise only the active layer's edges, if it has at most this many
const SUB = "₀₁₂₃₄₅₆₇₈₉";
const sub = (n) => String(n).replace(/\d/g, (digit) => SUB[digit]);

export function createNetworkGraph(container) {
  let trace = null;
  let nodes = new Map(); // id -> {lines: {name: text}, box}
  let edges = []; // {layer, from, to, line, label}
  let lossNode = null;

  function load(nextTrace) {
    trace = nextTrace;
    const sizes = trace.sizes;
    const tallest = Math.max(...sizes);
    const width = PAD * 2 + COLUMN * sizes.length + NODE_W;
    const height = PAD * 2 + ROW * tallest;
    const root = graphRoot("netgraph", width, height);
    arrowMarker(root, "net-arrow", "#90a4ae");
    const y = (count, j) => PAD + (tallest - count) * (ROW / 2) + j * ROW + 10;
    const x = (column) => PAD + column * COLUMN;
    nodes = new Map();
    edges = [];
    const edgeLayer = svg("g", { class: "edges" });
    const nodeLayer = svg("g", { class: "nodes" });
    const labelLayer = svg("g", { class: "labels" });
    root.append(edgeLayer, nodeLayer, labelLayer);
    const total = sizes.slice(1).reduce((sum, size, i) => sum + size * sizes[i], 0);
    for (let column = 1; column < sizes.length; column++) {
      for (let i = 0; i < sizes[column - 1]; i++) {
        for (let j = 0; j < sizes[column]; j++) {
          const x1 = x(column - 1) + NODE_W;
          const y1 = y(sizes[column - 1], i) + MID;
          const x2 = x(column);
          const y2 = y(sizes[column], j) + MID;
          const line = arrowLine(x1, y1, x2, y2, "net-arrow", { class: "edge" });
          const title = svg("title");
          line.append(title);
          // Labels of edges into different neurons sit at different distances, so fans do not pile up.
          const along = 0.3 + (0.4 * j) / Math.max(1, sizes[column] - 1);
          const label = svg("text", { x: x1 + (x2 - x1) * along, y: y1 + (y2 - y1) * along - 4, class: "edge-label", "text-anchor": "middle" });
          const always = total <= ALWAYS_LABELLED;
          const labelled = always || sizes[column] * sizes[column - 1] <= MAX_LAYER_LABELS;
          edgeLayer.append(line);
          if (labelled) labelLayer.append(label);
          edges.push({ layer: column - 1, from: i, to: j, line, title, label: labelled ? label : null, always });
        }
      }
    }
    for (let column = 0; column < sizes.length; column++) {
      for (let j = 0; j < sizes[column]; j++) {
        const id = column === 0 ? `in-${j}` : `${column - 1}-${j}`;
        const title = column === 0 ? `x${sub(j + 1)}` : neuronLabel(column - 1, j);
        nodeLayer.append(makeNode(id, title, x(column), y(sizes[column], j)));
      }
    }
    const last = sizes.length - 1;
    nodeLayer.append(makeNode("loss", t("teach.step.loss_node"), x(sizes.length), y(1, 0)));
    lossNode = nodes.get("loss");
    for (let j = 0; j < sizes[last]; j++) {
      const y1 = y(sizes[last], j) + MID;
      edgeLayer.append(arrowLine(x(last) + NODE_W, y1, x(sizes.length), y(1, 0) + MID, "net-arrow", { class: "edge loss-edge" }));
    }
    container.replaceChildren(root);
  }

  function neuronLabel(layer, j) {
    const stage = trace.stages.find((item) => item.kind === "forward" && item.layer === layer);
    return stage ? stage.neurons[j].label : `a${sub(j + 1)}`;
  }

  function makeNode(id, title, x, y) {
    const group = svg("g", { class: "node", "data-node": id, transform: `translate(${x},${y})` });
    const box = svg("rect", { width: NODE_W, height: NODE_H, rx: 8 });
    const heading = svg("text", { x: 8, y: 16, class: "node-title", text: title });
    group.append(box, heading);
    const lines = {};
    ["l1", "l2", "l3", "l4"].forEach((name, k) => {
      lines[name] = svg("text", { x: 8, y: 16 + LINE * (k + 1), class: `node-line ${name}` });
      group.append(lines[name]);
    });
    nodes.set(id, { group, lines });
    return group;
  }

  // What each stage kind reveals, as indices into trace.stages (stage −1: only inputs and weights).
  function render(stageIndex, sample) {
    const stages = trace.stages;
    const stage = stages[stageIndex] || { kind: "start" };
    const forwardDone = (layer) => stages.findIndex((s) => s.kind === "forward" && s.layer === layer) <= stageIndex;
    const backwardDone = (layer) => {
      const index = stages.findIndex((s) => s.kind === "backward" && s.layer === layer);
      return index >= 0 && index <= stageIndex;
    };
    const updated = stage.kind === "update";
    for (const { group, lines } of nodes.values()) {
      group.classList.remove("active", "known");
      for (const line of Object.values(lines)) setNumber(line, "", null, formatNumber);
    }
    trace.inputs[sample].forEach((value, i) => {
      const { group, lines } = nodes.get(`in-${i}`);
      group.classList.add("known");
      setNumber(lines.l1, "= ", value, formatNumber);
      lines.l1.classList.add("x");
      if (backwardDone(0)) {
        setNumber(lines.l3, "∂L/∂x = ", trace.input_gradient[sample][i], formatNumber);
      }
    });
    for (const forward of stages.filter((s) => s.kind === "forward")) {
      const backward = stages.find((s) => s.kind === "backward" && s.layer === forward.layer);
      forward.neurons.forEach((neuron, j) => {
        const { group, lines } = nodes.get(neuron.id);
        if (forwardDone(forward.layer)) {
          group.classList.add("known");
          setNumber(lines.l1, "z = ", neuron.z[sample], formatNumber);
          lines.l1.classList.add("z");
          setNumber(lines.l2, `a = ${neuron.activation}(z) = `, neuron.a[sample], formatNumber);
          lines.l2.classList.add("a");
        }
        if (backward && backwardDone(forward.layer)) renderBackward(lines, backward.neurons[j], sample);
        if (stage.layer === forward.layer && (stage.kind === "forward" || stage.kind === "backward")) group.classList.add("active");
      });
    }
    renderLoss(stages, stage, stageIndex, sample);
    renderEdges(stages, stage, updated);
    if (updated) renderBiasUpdates(stage);
    for (const { group } of nodes.values()) for (const text of group.querySelectorAll("text")) fitText(text, NODE_W - 12);
    declutter(edges.filter((edge) => edge.label).map((edge) => edge.label));
  }

  function renderBackward(lines, neuron, sample) {
    lines.l3.classList.add("chain");
    lines.l4.classList.add("gz");
    if (neuron.local !== null) {
      const up = formatNumber(neuron.upstream[sample]);
      const local = formatNumber(neuron.local[sample]);
      lines.l3.textContent = `∂L/∂a·∂a/∂z = ${up} × ${local}`;
      lines.l3.dataset.upstream = String(neuron.upstream[sample]);
      lines.l3.dataset.local = String(neuron.local[sample]);
    } else {
      lines.l3.textContent = t(neuron.upstream === null ? "teach.step.fused" : "teach.step.softmax_jacobian");
    }
    setNumber(lines.l4, "= ∂L/∂z = ", neuron.grad_z[sample], formatNumber);
  }

  function renderLoss(stages, stage, stageIndex, sample) {
    const lossIndex = stages.findIndex((s) => s.kind === "loss");
    const loss = stages[lossIndex];
    lossNode.group.classList.toggle("active", stage.kind === "loss");
    if (stageIndex < lossIndex) return;
    lossNode.group.classList.add("known");
    setNumber(lossNode.lines.l1, `${loss.name} = `, loss.total, formatNumber);
    lossNode.lines.l1.classList.add("loss-value");
    const target = Array.isArray(loss.target[sample]) ? loss.target[sample] : [loss.target[sample]];
    lossNode.lines.l2.textContent = `y = ${target.map(formatNumber).join(", ")}`;
    const gradient = loss.gradient[sample];
    lossNode.lines.l3.textContent = `∂L/∂${loss.name === "bce" || loss.name === "cross_entropy" ? "z" : "a"} = ${gradient.map(formatNumber).join(", ")}`;
  }

  function renderEdges(stages, stage, updated) {
    const forward = (layer) => stages.find((s) => s.kind === "forward" && s.layer === layer);
    for (const edge of edges) {
      const weight = forward(edge.layer).neurons[edge.to].weights[edge.from];
      const inBackward = stage.kind === "backward" && stage.layer === edge.layer;
      const newWeight = updated ? stage.weights[edge.layer].W[edge.from][edge.to] : null;
      let text = `w = ${formatNumber(weight)}`;
      if (inBackward) {
        const entry = stage.weights.find((item) => item.from === edge.from && item.to === edge.to);
        text = `∂L/∂w = ${formatNumber(entry.grad)}`;
        edge.title.textContent = entry.chain;
      } else if (updated) {
        text = `w ← ${formatNumber(newWeight)}`;
      }
      if (!inBackward) edge.title.textContent = text;
      const active = inBackward || (stage.kind === "forward" && stage.layer === edge.layer);
      edge.line.classList.toggle("active", active);
      edge.line.style.strokeWidth = String(1 + Math.min(4, Math.abs(updated ? newWeight : weight) * 2));
      if (edge.label) edge.label.textContent = edge.always || active ? text : "";
    }
  }

  function renderBiasUpdates(stage) {
    stage.weights.forEach((layer, index) =>
      layer.b.forEach((value, j) => setNumber(nodes.get(`${index}-${j}`).lines.l3, `${t("teach.step.bias")} ← `, value, formatNumber)),
    );
  }

  return { load, render };
}
