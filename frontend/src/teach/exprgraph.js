// J(a, b, c) = 3(a + bc) as a computation graph (SVG). Stages: the inputs, each operation forward, then
// each node backward from J, where dJ/d(node) = dJ/d(child) · ∂child/∂node appears with its numbers:
// d is the whole derivative of J, ∂ the local one of a single operation (∂v/∂u, not dv/du).
import { formatNumber } from "../dom.js";
import { t } from "../i18n/index.js";
import { arrowLine, arrowMarker, graphRoot, setNumber, svg } from "./svg.js";

const POSITIONS = { a: [0, 0], b: [0, 1], c: [0, 2], u: [1, 1.5], v: [2, 0.75], J: [3, 0.75] };
const NODE_W = 150;
const NODE_H = 66;
const COLUMN = 230;
const ROW = 96;
const PAD = 24;

export function createExpressionGraph(container) {
  let graph = null;
  let stages = [];
  const nodes = new Map();
  const edges = [];

  function load(nextGraph) {
    graph = nextGraph;
    stages = [
      { kind: "start" },
      ...graph.forward.filter((id) => graph.nodes.find((node) => node.id === id).kind === "operation").map((id) => ({ kind: "forward", id })),
      ...graph.backward.map((id) => ({ kind: "backward", id })),
    ];
    const width = PAD * 2 + COLUMN * 3 + NODE_W;
    const height = PAD * 2 + ROW * 2 + NODE_H;
    const root = graphRoot("exprgraph", width, height);
    arrowMarker(root, "expr-arrow", "#90a4ae");
    const at = (id) => [PAD + POSITIONS[id][0] * COLUMN, PAD + POSITIONS[id][1] * ROW];
    nodes.clear();
    edges.length = 0;
    for (const edge of graph.edges) {
      const [x1, y1] = at(edge.from);
      const [x2, y2] = at(edge.to);
      const line = arrowLine(x1 + NODE_W, y1 + NODE_H / 2, x2, y2 + NODE_H / 2, "expr-arrow", { class: "edge" });
      const label = svg("text", { x: (x1 + NODE_W + x2) / 2, y: (y1 + y2 + NODE_H) / 2 - 6, class: "edge-label", "text-anchor": "middle" });
      root.append(line, label);
      edges.push({ ...edge, line, label });
    }
    for (const node of graph.nodes) {
      const [x, y] = at(node.id);
      const group = svg("g", { class: "node", "data-node": node.id, transform: `translate(${x},${y})` });
      const value = svg("text", { x: 8, y: 36, class: "node-line value" });
      const grad = svg("text", { x: 8, y: 54, class: "node-line grad" });
      group.append(svg("rect", { width: NODE_W, height: NODE_H, rx: 8 }), svg("text", { x: 8, y: 17, class: "node-title", text: node.expression }), value, grad);
      root.append(group);
      nodes.set(node.id, { node, group, value, grad });
    }
    container.replaceChildren(root);
    return stages.length;
  }

  // Returns the stage's explanation (its chain-rule line) for the details list.
  function render(index) {
    const stage = stages[index];
    const visited = (kind, id) => stages.findIndex((s) => s.kind === kind && s.id === id) <= index;
    for (const { node, group, value, grad } of nodes.values()) {
      const known = node.kind === "input" || visited("forward", node.id);
      const back = visited("backward", node.id);
      group.classList.toggle("known", known);
      group.classList.toggle("active", stage.id === node.id);
      setNumber(value, `${node.id} = `, known ? node.value : null, formatNumber);
      setNumber(grad, `dJ/d${node.id} = `, back ? node.grad : null, formatNumber);
      grad.dataset.chain = back ? chainLine(node) : "";
    }
    for (const edge of edges) {
      const show = stage.kind === "backward" && visited("backward", edge.from);
      edge.label.textContent = show ? `∂${edge.to}/∂${edge.from} = ${formatNumber(edge.local)}` : "";
      edge.line.classList.toggle("active", stage.id === edge.from || (stage.kind === "forward" && stage.id === edge.to));
    }
    if (stage.kind === "start") return { title: t("teach.step.expr_start"), lines: [graph.expression] };
    const entry = nodes.get(stage.id).node;
    if (stage.kind === "forward") return { title: t("teach.step.expr_forward", { id: entry.id }), lines: [`${entry.expression} = ${formatNumber(entry.value)}`] };
    return { title: t("teach.step.expr_backward", { id: entry.id }), lines: [chainLine(entry)] };
  }

  // dJ/dnode = dJ/dchild · ∂child/∂node with the numbers, from the edge to the node's one consumer.
  function chainLine(node) {
    if (!graph.edges.some((edge) => edge.from === node.id)) return `dJ/d${node.id} = 1`;
    const edge = graph.edges.find((item) => item.from === node.id);
    const child = nodes.get(edge.to).node;
    return `dJ/d${node.id} = dJ/d${child.id} · ∂${child.id}/∂${node.id} = ${formatNumber(child.grad)} × ${formatNumber(edge.local)} = ${formatNumber(node.grad)}`;
  }

  return { load, render, count: () => stages.length };
}
