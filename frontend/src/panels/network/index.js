// The network panel: input features, hidden layers and output as heatmap thumbnails joined by edges
// whose width and colour show each weight (or its gradient). Hover explains, click or tap edits, and the
// header adds or removes layers and neurons. This module wires the parts: layout.js (where things go),
// edges.js, heatmaps.js, tooltip.js and editing.js; it draws the nodes and answers "what is under (x, y)".
import { t, tPlural } from "../../i18n/index.js";
import { fitCanvas } from "../../dom.js";
import { NEGATIVE, POSITIVE } from "../../colors.js";
import { features as featureChoices } from "../../core/choices.js";
import { featureLabel } from "../../names.js";
import { layoutNetwork } from "./layout.js";
import { createEdges } from "./edges.js";
import { createHeatmaps } from "./heatmaps.js";
import { createEditing } from "./editing.js";
import { inputTooltip, neuronTooltip, showTooltip, summaryTooltip, weightTooltip } from "./tooltip.js";

const BIAS_RADIUS = 4;
const MOUSE_HIT_PX = 5;
const TOUCH_HIT_PX = 14;
const PROJECTOR_SCALE = 1.5;
const DEFAULT_EXTENT = [-6, 6, -6, 6];

export function createNetwork(app) {
  const panel = document.querySelector(".network-panel");
  const box = document.getElementById("network-scroll");
  const canvas = document.getElementById("network-canvas");
  const tooltip = document.getElementById("network-tooltip");
  const layerCount = document.getElementById("layer-count");
  const showGradients = document.getElementById("show-gradients");
  const edges = createEdges();
  const heatmaps = createHeatmaps();
  const editing = createEditing(app, { columnBar: document.getElementById("network-columns"), box });
  let layout = null;
  let model = null; // {inputs: [{name, index}], planar, sizes, naturalPair, inputRows}
  let hover = null;
  let barKey = "";
  let edgeTimer = null;

  // What to draw, from the run's resolved shape: which input nodes exist and which are active.
  function buildModel() {
    const { resolved, config } = app.state.run;
    const names = resolved.input_names;
    const all = featureChoices();
    const planar = (resolved.raw_input_size ?? names.length) === 2 && names.every((name) => all.includes(name));
    const label = (name) => (planar ? featureLabel(name, resolved.raw_names) : name);
    const inputs = (planar ? all.map((name) => ({ name, index: names.indexOf(name) })) : names.map((name, index) => ({ name, index }))).map((input) => ({ ...input, label: label(input.name) }));
    const inputRows = [];
    inputs.forEach((input, k) => input.index >= 0 && (inputRows[input.index] = k));
    model = { inputs, planar, inputRows, sizes: resolved.sizes, naturalPair: ["bce", "cross_entropy"].includes(resolved.loss) };
    layerCount.textContent = tPlural("network.layer_count", config.model.hidden.length, { count: config.model.hidden.length });
    barKey = "";
  }

  function draw() {
    const run = app.state.run;
    if (!run || !model) return;
    const scale = app.projector ? PROJECTOR_SCALE : 1;
    layout = layoutNetwork([model.inputs.length, ...model.sizes.slice(1)], box.clientWidth, box.clientHeight, scale);
    const key = `${layout.width}|${model.sizes.join(",")}|${scale}`;
    if (key !== barKey) {
      editing.renderColumnBar(layout, model.sizes);
      barKey = key;
    }
    heatmaps.paintFeatures((app.state.grid && app.state.grid.extent) || run.resolved.extent || DEFAULT_EXTENT);
    const ctx = fitCanvas(canvas, layout.width, layout.height);
    const params = app.state.params;
    if (params) {
      const wait = edges.update(layout, model.inputRows, params, showGradients.checked, app.isPlaying());
      if (wait > 0 && !edgeTimer) edgeTimer = setTimeout(() => ((edgeTimer = null), app.requestDraw(draw)), wait);
    }
    ctx.clearRect(0, 0, layout.width, layout.height);
    if (params) ctx.drawImage(edges.canvas, 0, 0, layout.width, layout.height);
    drawNodes(ctx, scale);
    if (hover) highlight(ctx, hover);
  }

  function drawNodes(ctx, scale) {
    const size = layout.nodeSize;
    const half = size / 2;
    ctx.imageSmoothingEnabled = true;
    ctx.font = `${Math.round(12 * scale)}px system-ui, sans-serif`;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    layout.columns[0].nodes.forEach((node, k) => {
      const input = model.inputs[k];
      const image = heatmaps.feature(input.name);
      ctx.globalAlpha = input.index >= 0 ? 1 : 0.25;
      if (model.planar && image) ctx.drawImage(image, node.x - half, node.y - half, size, size);
      else fillNode(ctx, node, size, "#cfd8dc");
      ctx.globalAlpha = 1;
      ctx.strokeStyle = input.index >= 0 ? "#37474f" : "#b0bec5";
      ctx.strokeRect(node.x - half, node.y - half, size, size);
      ctx.fillStyle = input.index >= 0 ? "#263238" : "#90a4ae";
      ctx.fillText(fitText(ctx, input.label, node.x - half - 6), node.x - half - 4, node.y);
    });
    if (layout.columns[0].hiddenCount > 0) {
      const last = layout.columns[0].nodes.at(-1);
      ctx.textAlign = "center";
      ctx.fillText(t("network.more_inputs", { count: layout.columns[0].hiddenCount }), last.x, last.y + size);
    }
    const layers = app.state.params ? app.state.params.layers : [];
    for (let c = 1; c < layout.columns.length; c++) {
      const column = layout.columns[c];
      if (column.summary) {
        drawSummary(ctx, column, size, scale);
        continue;
      }
      const biases = layers[c - 1] ? layers[c - 1].b : [];
      column.nodes.forEach((node, j) => {
        const image = heatmaps.neuron(c - 1, j);
        if (image) ctx.drawImage(image.canvas, image.x, image.y, image.size, image.size, node.x - half, node.y - half, size, size);
        else fillNode(ctx, node, size, "#eceff1");
        ctx.strokeStyle = "#37474f";
        ctx.lineWidth = 1;
        ctx.strokeRect(node.x - half, node.y - half, size, size);
        ctx.beginPath();
        ctx.arc(node.x - half, node.y + half, BIAS_RADIUS, 0, 2 * Math.PI);
        ctx.fillStyle = (biases[j] ?? 0) >= 0 ? POSITIVE : NEGATIVE;
        ctx.fill();
        ctx.strokeStyle = "#fff";
        ctx.stroke();
      });
    }
  }

  // A layer too wide to draw node by node: one block with its size written down the middle.
  function drawSummary(ctx, column, size, scale) {
    const { top, height, count } = column.summary;
    ctx.fillStyle = "#eceff1";
    ctx.strokeStyle = "#37474f";
    ctx.fillRect(column.x - size / 2, top, size, height);
    ctx.strokeRect(column.x - size / 2, top, size, height);
    ctx.save();
    ctx.translate(column.x, top + height / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillStyle = "#263238";
    ctx.textAlign = "center";
    ctx.font = `${Math.round(11 * scale)}px system-ui, sans-serif`;
    ctx.fillText(tPlural("network.neuron_count", count, { count }), 0, 0);
    ctx.restore();
  }

  function highlight(ctx, target) {
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 2;
    const half = layout.nodeSize / 2;
    if (target.kind === "edge") {
      const pair = edges.ends(layout, model.inputRows, target.layer, target.row, target.col);
      if (pair) {
        ctx.beginPath();
        ctx.moveTo(pair[0].x + half, pair[0].y);
        ctx.lineTo(pair[1].x - half, pair[1].y);
        ctx.stroke();
      }
    } else if (target.kind !== "summary") {
      const node = layout.columns[target.column].nodes[target.index];
      ctx.strokeRect(node.x - half - 1, node.y - half - 1, layout.nodeSize + 2, layout.nodeSize + 2);
    }
    ctx.lineWidth = 1;
  }

  // What lies under (x, y): a bias dot, a node, a summary block, or the nearest edge within `radius`.
  function hitTest(x, y, radius) {
    if (!layout || !model) return null;
    const half = layout.nodeSize / 2;
    const slack = Math.max(0, radius - MOUSE_HIT_PX);
    for (let c = 0; c < layout.columns.length; c++) {
      const column = layout.columns[c];
      if (Math.abs(x - column.x) > half + BIAS_RADIUS + slack) continue;
      if (column.summary && y >= column.summary.top && y <= column.summary.top + column.summary.height) {
        return { kind: "summary", column: c };
      }
      for (let k = 0; k < column.nodes.length; k++) {
        const node = column.nodes[k];
        const onBias = c > 0 && Math.hypot(x - (node.x - half), y - (node.y + half)) <= BIAS_RADIUS + 2 + slack;
        if (onBias || (Math.abs(x - node.x) <= half + slack && Math.abs(y - node.y) <= half + slack)) {
          return c === 0 ? { kind: "input", column: 0, index: k, name: model.inputs[k].name } : { kind: "neuron", column: c, index: k };
        }
      }
    }
    return app.state.params ? edges.hitTest(layout, model.inputRows, app.state.params, x, y, radius) : null;
  }

  function nodeName(column, index) {
    if (column === 0) return model.inputs[index].label;
    if (column === layout.columns.length - 1) return t("network.output_title", { index: index + 1 });
    return t("network.neuron_title", { layer: column, index: index + 1 });
  }

  function describe(target) {
    const layers = app.state.params ? app.state.params.layers : null;
    const last = layout.columns.length - 1;
    if (target.kind === "input") return inputTooltip({ name: model.inputs[target.index].label, active: model.inputs[target.index].index >= 0 });
    if (target.kind === "summary") return summaryTooltip({ layer: target.column - 1, count: layout.columns[target.column].summary.count, isOutput: target.column === last });
    if (!layers) return null;
    if (target.kind === "edge") {
      const layer = layers[target.layer];
      const fromIndex = target.layer === 0 ? model.inputRows[target.row] : target.row;
      return weightTooltip({
        ...target,
        value: layer.W[target.row][target.col],
        gradient: layer.dW ? layer.dW[target.row][target.col] : null,
        fromName: nodeName(target.layer, fromIndex),
        toName: nodeName(target.layer + 1, target.col),
        isOutput: target.layer + 1 === last,
        naturalPair: model.naturalPair,
      });
    }
    const layer = layers[target.column - 1];
    const image = heatmaps.neuron(target.column - 1, target.index);
    return neuronTooltip({
      layer: target.column - 1,
      index: target.index,
      bias: layer.b[target.index],
      gradient: layer.db ? layer.db[target.index] : null,
      range: image ? { min: image.min, max: image.max } : null,
      name: nodeName(target.column, target.index),
      isOutput: target.column === last,
      naturalPair: model.naturalPair,
    });
  }

  function pointer(event) {
    const rect = canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  canvas.addEventListener("pointermove", (event) => {
    if (event.pointerType !== "mouse") return;
    const { x, y } = pointer(event);
    const target = hitTest(x, y, MOUSE_HIT_PX);
    const changed = JSON.stringify(target) !== JSON.stringify(hover);
    hover = target;
    canvas.style.cursor = target ? "pointer" : "default";
    showTooltip(tooltip, box, target && describe(target), x, y);
    if (changed) app.requestDraw(draw);
  });
  canvas.addEventListener("pointerleave", () => {
    hover = null;
    tooltip.hidden = true;
    app.requestDraw(draw);
  });
  // A tap is a click whose pointerType is "touch": a finger gets a wider hit area than a mouse.
  canvas.addEventListener("click", (event) => {
    const { x, y } = pointer(event);
    const target = hitTest(x, y, event.pointerType === "touch" ? TOUCH_HIT_PX : MOUSE_HIT_PX);
    tooltip.hidden = true;
    if (target) editing.edit(target, x, y, model.planar);
  });

  // Neuron heatmaps are asked for only while this panel is on screen (and not hidden by ?hide=).
  let onScreen = false;
  const wantNeurons = () => app.grids.want("neurons", onScreen && !panel.hidden);
  new IntersectionObserver((entries) => {
    onScreen = entries.some((entry) => entry.isIntersecting);
    wantNeurons();
  }).observe(panel);
  new ResizeObserver(() => app.requestDraw(draw)).observe(box);
  showGradients.addEventListener("change", () => app.requestDraw(draw));
  app.on("run", () => {
    buildModel();
    app.requestDraw(draw);
  });
  app.on("grid", (grids) => {
    heatmaps.paintNeurons(grids);
    app.requestDraw(draw);
  });
  app.on("frame", () => app.requestDraw(draw));
  app.on("projector", () => app.requestDraw(draw));
  app.on("access", () => {
    barKey = "";
    app.requestDraw(draw);
  });
  app.on("panels", wantNeurons);
  app.on("language", () => {
    if (!app.state.run) return;
    buildModel();
    app.requestDraw(draw);
  });

  // Where a weight's edge or a neuron's bias dot is drawn, in canvas pixels (used by the browser tests).
  function pointOf(target) {
    const half = layout.nodeSize / 2;
    if (target.kind === "edge") {
      const pair = edges.ends(layout, model.inputRows, target.layer, target.row, target.col);
      return pair && { x: (pair[0].x + half + pair[1].x - half) / 2, y: (pair[0].y + pair[1].y) / 2 };
    }
    const node = layout.columns[target.layer + 1].nodes[target.index];
    return { x: node.x - half, y: node.y + half };
  }

  // The input nodes' labels as drawn (used by the browser tests).
  const inputLabels = () => (model ? model.inputs.map((input) => input.label) : []);

  return { pointOf, layout: () => layout, inputLabels };
}

// `text` cut to fit `width` pixels in the context's font, ending in "…" when cut (the tooltip has it whole).
function fitText(ctx, text, width) {
  if (ctx.measureText(text).width <= width) return text;
  let end = text.length;
  while (end > 1 && ctx.measureText(`${text.slice(0, end)}…`).width > width) end--;
  return `${text.slice(0, end)}…`;
}

function fillNode(ctx, node, size, color) {
  ctx.fillStyle = color;
  ctx.fillRect(node.x - size / 2, node.y - size / 2, size, size);
}
