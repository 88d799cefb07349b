// The network drawing: input features, hidden layers and output as heatmap thumbnails joined by edges
// whose width and colour show each weight (or its gradient). Hover explains, click edits, and the header
// adds or removes layers and neurons. Drawn on canvases (edges on a layer of their own, heatmaps from one
// atlas) so 64×64-neuron layers stay cheap.
import { t } from "../i18n/index.js";
import { el, fitCanvas } from "../dom.js";
import { POSITIVE, NEGATIVE, gradientColor } from "../colors.js";
import { decodeBytes, paintSigned } from "../grid.js";
import { FEATURES, FEATURE_FUNCTIONS, MAX_LAYERS, MAX_NEURONS } from "../choices.js";
import { distanceToSegment, layoutNetwork } from "./network_layout.js";
import { inputTooltip, neuronTooltip, weightTooltip } from "./network_tooltip.js";
import { editValue } from "./value_editor.js";

const WIDTH_BUCKETS = 6;
const MAX_EDGE_WIDTH = 5;
const EDGE_HIT_PX = 5;
const BIAS_RADIUS = 4;
const FEATURE_RESOLUTION = 24;
const DEFAULT_EXTENT = [-6, 6, -6, 6];
const NEURON_PAINTS_PER_S = 10;
const ATLAS_GAP = 2;
const EDGE_PAINTS_PER_S = 15;

export function createNetwork(app) {
  const scroll = document.getElementById("network-scroll");
  const canvas = document.getElementById("network-canvas");
  const columnBar = document.getElementById("network-columns");
  const tooltip = document.getElementById("network-tooltip");
  const layerCount = document.getElementById("layer-count");
  const showGradients = document.getElementById("show-gradients");
  let layout = null;
  let model = null; // {inputs: [{name, index}], sizes, isOutputLayer(l)}
  let neuronImages = []; // per weight layer, per neuron: its heatmap's cell in the atlas, and its range
  let atlas = null;
  let featureImages = new Map();
  let featureExtent = "";
  let hover = null;
  let gridChanged = false;
  let lastNeuronPaint = -Infinity;
  let neuronTimer = null;
  const edgeLayer = { canvas: document.createElement("canvas"), key: "", codes: null, painted: -Infinity }; // see updateEdges
  let edgeTimer = null;
  let modelVersion = 0; // counts buildModel calls (a new shape, features or language)
  let drawnSignature = ""; // what the canvas shows now, see draw
  let neuronsPaintedNow = false; // this draw repainted the heatmaps

  document.getElementById("add-layer").addEventListener("click", () => changeLayers(+1));
  document.getElementById("remove-layer").addEventListener("click", () => changeLayers(-1));
  showGradients.addEventListener("change", () => app.requestDraw(draw));

  function hidden() {
    return [...app.state.run.config.model.hidden];
  }

  function changeLayers(delta) {
    const layers = hidden();
    if (delta > 0 && layers.length < MAX_LAYERS) layers.push(layers.length ? layers[layers.length - 1] : 4);
    else if (delta < 0 && layers.length) layers.pop();
    else return;
    app.setConfig({ model: { hidden: layers } });
  }

  function changeNeurons(layer, delta) {
    const layers = hidden();
    const next = layers[layer] + delta;
    if (next < 1 || next > MAX_NEURONS) return;
    layers[layer] = next;
    app.setConfig({ model: { hidden: layers } });
  }

  function toggleFeature(name) {
    const active = new Set(app.state.run.config.features);
    if (active.has(name)) active.delete(name);
    else active.add(name);
    if (!active.size) {
      app.emit("error", t("network.need_feature"));
      return;
    }
    app.setConfig({ features: FEATURES.filter((feature) => active.has(feature)) });
  }

  // What to draw, from the run's resolved shape: which input nodes exist and which are active.
  function buildModel() {
    modelVersion++;
    const { resolved, config } = app.state.run;
    const names = resolved.input_names;
    const planar = (resolved.raw_input_size ?? names.length) === 2 && names.every((name) => FEATURES.includes(name));
    const inputs = planar
      ? FEATURES.map((name) => ({ name, index: names.indexOf(name) }))
      : names.map((name, index) => ({ name, index }));
    model = { inputs, planar, sizes: resolved.sizes, naturalPair: ["bce", "cross_entropy"].includes(resolved.loss) };
    layerCount.textContent = t("network.layer_count", { count: config.model.hidden.length });
    renderColumnBar();
  }

  function renderColumnBar() {
    columnBar.replaceChildren();
    if (!model || !layout) return;
    const hiddenSizes = model.sizes.slice(1, -1);
    hiddenSizes.forEach((size, layer) => {
      const x = layout.columns[layer + 1].x;
      const group = el(
        "div",
        { class: "column-controls", dataset: { control: "layers" } },
        el("button", { class: "icon", onclick: () => changeNeurons(layer, +1), dataset: { i18nAria: "network.add_neuron", i18nTitle: "network.add_neuron" }, "aria-label": t("network.add_neuron"), title: t("network.add_neuron") }, "+"),
        el("button", { class: "icon", onclick: () => changeNeurons(layer, -1), dataset: { i18nAria: "network.remove_neuron", i18nTitle: "network.remove_neuron" }, "aria-label": t("network.remove_neuron"), title: t("network.remove_neuron") }, "−"),
        el("span", { class: "neuron-count" }, t("network.neuron_count", { count: size })),
      );
      group.style.left = `${x}px`;
      columnBar.append(group);
    });
    const label = (text, column) => {
      const node = el("span", { class: "column-label" }, text);
      node.style.left = `${layout.columns[column].x}px`;
      columnBar.append(node);
    };
    label(t("network.inputs"), 0);
    label(t("network.output"), layout.columns.length - 1);
  }

  function updateFeatureImages(extent) {
    const key = extent.join(",");
    if (key === featureExtent) return;
    featureExtent = key;
    featureImages = new Map();
    const [x1min, x1max, x2min, x2max] = extent;
    for (const name of FEATURES) {
      const fn = FEATURE_FUNCTIONS[name];
      const values = new Float64Array(FEATURE_RESOLUTION * FEATURE_RESOLUTION);
      let min = Infinity;
      let max = -Infinity;
      for (let row = 0; row < FEATURE_RESOLUTION; row++) {
        const x2 = x2min + ((x2max - x2min) * row) / (FEATURE_RESOLUTION - 1);
        for (let col = 0; col < FEATURE_RESOLUTION; col++) {
          const x1 = x1min + ((x1max - x1min) * col) / (FEATURE_RESOLUTION - 1);
          const value = fn(x1, x2);
          values[row * FEATURE_RESOLUTION + col] = value;
          min = Math.min(min, value);
          max = Math.max(max, value);
        }
      }
      const bytes = values.map((value) => Math.round(((value - min) / (max - min || 1)) * 255));
      featureImages.set(name, paintGrid(null, FEATURE_RESOLUTION, { min, max }, Uint8Array.from(bytes)));
    }
  }

  // All neuron heatmaps share one atlas canvas (one upload, one source image for the nodes' drawImage);
  // each neuron keeps its cell, repainted only when its grid changed. Cells are ATLAS_GAP px apart so
  // smoothing at a cell's edge does not pick up its neighbour.
  function updateNeuronImages(grid) {
    if (!grid || !grid.neurons) {
      neuronImages = [];
      return;
    }
    const resolution = grid.resolution;
    const total = grid.neurons.reduce((sum, layer) => sum + layer.length, 0);
    const columns = Math.max(1, Math.ceil(Math.sqrt(total)));
    const pitch = resolution + ATLAS_GAP;
    const width = columns * pitch;
    const height = Math.max(1, Math.ceil(total / columns)) * pitch;
    let fresh = false;
    if (!atlas || atlas.width !== width || atlas.height !== height || atlas.resolution !== resolution) {
      const atlasCanvas = document.createElement("canvas");
      atlasCanvas.width = width;
      atlasCanvas.height = height;
      const ctx = atlasCanvas.getContext("2d");
      atlas = { canvas: atlasCanvas, ctx, pixels: ctx.createImageData(width, height), width, height, resolution };
      fresh = true;
    }
    let k = 0;
    let painted = false;
    neuronImages = grid.neurons.map((layer, l) =>
      layer.map((cell, j) => {
        const previous = !fresh && neuronImages[l] && neuronImages[l][j];
        const x = (k % columns) * pitch;
        const y = Math.floor(k / columns) * pitch;
        k++;
        const image = { canvas: atlas.canvas, x, y, size: resolution, data: cell.data, min: cell.min, max: cell.max };
        const same = previous && previous.x === x && previous.y === y && previous.data === cell.data && previous.min === cell.min && previous.max === cell.max;
        if (!same) {
          paintSigned(atlas.pixels, resolution, cell, decodeBytes(cell.data), x, y);
          painted = true;
        }
        return image;
      }),
    );
    if (painted) atlas.ctx.putImageData(atlas.pixels, 0, 0);
  }

  // Neuron heatmaps are repainted at most NEURON_PAINTS_PER_S times a second (a wide network has over a
  // hundred); the newest grid is always painted in the end, even when no further frame arrives.
  function paintNeuronsWhenDue() {
    neuronsPaintedNow = false;
    if (!gridChanged) return;
    const wait = lastNeuronPaint + 1000 / NEURON_PAINTS_PER_S - performance.now();
    if (wait > 0 && neuronImages.length && app.isPlaying && app.isPlaying()) {
      if (!neuronTimer) neuronTimer = setTimeout(() => {
        neuronTimer = null;
        app.requestDraw(draw);
      }, wait);
      return;
    }
    updateNeuronImages(app.state.grid);
    gridChanged = false;
    lastNeuronPaint = performance.now();
    neuronsPaintedNow = true;
  }

  function draw() {
    const run = app.state.run;
    if (!run || !model) return;
    const width = scroll.clientWidth;
    const height = scroll.clientHeight;
    const columnCounts = [model.inputs.length, ...model.sizes.slice(1)];
    const previousWidth = layout && layout.width;
    layout = layoutNetwork(columnCounts, width, height);
    if (previousWidth !== layout.width || columnBar.childElementCount === 0) renderColumnBar();
    const ctx = fitCanvas(canvas, layout.width, layout.height);
    updateFeatureImages(app.state.grid ? app.state.grid.extent : run.resolved.extent || DEFAULT_EXTENT);
    paintNeuronsWhenDue();
    const params = app.state.params;
    if (params) updateEdges();
    // Most streamed frames change nothing visible here (heatmaps and edges repaint less often, a bias dot
    // only shows its sign): then the canvas is left as it is.
    const biasSigns = params ? params.layers.map((layer) => layer.b.map((b) => (b >= 0 ? "+" : "-")).join("")).join("|") : "";
    const signature = [
      canvas.width, canvas.height, layout.width, layout.height, modelVersion, featureExtent, lastNeuronPaint,
      params ? edgeLayer.painted : "-", biasSigns, JSON.stringify(hover),
    ].join(" ");
    if (signature === drawnSignature) return;
    drawnSignature = signature;
    ctx.clearRect(0, 0, layout.width, layout.height);
    if (params) ctx.drawImage(edgeLayer.canvas, 0, 0, layout.width, layout.height);
    drawNodes(ctx);
  }

  // Display row of each network input (inputs that are switched off are drawn but have no edges).
  function inputRows() {
    const rows = [];
    model.inputs.forEach((input, k) => {
      if (input.index >= 0) rows[input.index] = k;
    });
    return rows;
  }

  function edgeEnds(layer, row, col) {
    const from = layer === 0 ? inputRows()[row] : row;
    const a = layout.columns[layer].nodes[from];
    const b = layout.columns[layer + 1].nodes[col];
    return a && b ? [a, b] : null;
  }

  // Edges are stroked one by one into their own layer (drawn under the nodes), repainted only when an
  // edge's look (sign and width bucket) or the layout changes. A software canvas rasterises one stroke of
  // a path holding a thousand crossing segments far slower than a thousand single-segment strokes.
  function updateEdges() {
    const gradients = showGradients.checked;
    const layers = app.state.params.layers;
    const matrices = layers.map((layer) => (gradients ? layer.dW : layer.W));
    let maxAbs = 1e-12;
    let count = 0;
    for (const matrix of matrices) {
      for (const row of matrix) {
        count += row.length;
        for (const v of row) if (v !== null) maxAbs = Math.max(maxAbs, Math.abs(v));
      }
    }
    // Per edge: 0 = not drawn, else 1 + (positive ? WIDTH_BUCKETS : 0) + width bucket; and its two ends.
    const codes = new Uint8Array(count);
    const ends = new Float32Array(count * 4);
    const half = layout.nodeSize / 2;
    const rowsOfInputs = inputRows();
    let e = 0;
    for (let l = 0; l < matrices.length; l++) {
      const matrix = matrices[l];
      const from = layout.columns[l].nodes;
      const to = layout.columns[l + 1].nodes;
      for (let i = 0; i < matrix.length; i++) {
        const a = from[l === 0 ? rowsOfInputs[i] : i];
        const row = matrix[i];
        for (let j = 0; j < row.length; j++, e++) {
          const value = row[j];
          const b = to[j];
          if (!a || value === null || !b) continue;
          const bucket = Math.min(WIDTH_BUCKETS - 1, Math.floor((Math.abs(value) / maxAbs) * WIDTH_BUCKETS));
          codes[e] = 1 + (value >= 0 ? WIDTH_BUCKETS : 0) + bucket;
          ends[4 * e] = a.x + half;
          ends[4 * e + 1] = a.y;
          ends[4 * e + 2] = b.x - half;
          ends[4 * e + 3] = b.y;
        }
      }
    }
    const key = [canvas.width, canvas.height, layout.width, layout.height, layout.nodeSize, gradients, rowsOfInputs.join(" "), model.sizes.join(" ")].join("|");
    if (key !== edgeLayer.key || (!sameCodes(codes, edgeLayer.codes) && edgesDue())) {
      paintEdges(codes, ends, gradients);
      edgeLayer.key = key;
      edgeLayer.codes = codes;
      edgeLayer.painted = performance.now();
    }
  }

  // While training streams, changed edges are repainted at most EDGE_PAINTS_PER_S times a second and not
  // in the frame that repaints the heatmaps, so the two costs never pile up in one frame; a late draw
  // catches up with the last change.
  function edgesDue() {
    if (!(app.isPlaying && app.isPlaying())) return true;
    const wait = edgeLayer.painted + 1000 / EDGE_PAINTS_PER_S - performance.now();
    if (wait <= 0 && !neuronsPaintedNow) return true;
    if (!edgeTimer) edgeTimer = setTimeout(() => {
      edgeTimer = null;
      app.requestDraw(draw);
    }, Math.max(wait, 1000 / 60));
    return false;
  }

  function paintEdges(codes, ends, gradients) {
    const ctx = fitCanvas(edgeLayer.canvas, layout.width, layout.height);
    ctx.clearRect(0, 0, layout.width, layout.height);
    for (let index = 0; index < 2 * WIDTH_BUCKETS; index++) {
      const positive = index >= WIDTH_BUCKETS;
      const share = ((index % WIDTH_BUCKETS) + 0.5) / WIDTH_BUCKETS;
      ctx.lineWidth = 0.4 + share * MAX_EDGE_WIDTH;
      ctx.globalAlpha = 0.25 + 0.7 * share;
      ctx.strokeStyle = gradients ? gradientColor(positive ? 0.9 : 0.1) : positive ? POSITIVE : NEGATIVE;
      const code = index + 1;
      for (let e = 0; e < codes.length; e++) {
        if (codes[e] !== code) continue;
        ctx.beginPath();
        ctx.moveTo(ends[4 * e], ends[4 * e + 1]);
        ctx.lineTo(ends[4 * e + 2], ends[4 * e + 3]);
        ctx.stroke();
      }
    }
    ctx.globalAlpha = 1;
  }

  function drawNodes(ctx) {
    const size = layout.nodeSize;
    const half = size / 2;
    ctx.imageSmoothingEnabled = true;
    ctx.font = "12px system-ui, sans-serif";
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    layout.columns[0].nodes.forEach((node, k) => {
      const input = model.inputs[k];
      const image = featureImages.get(input.name);
      ctx.globalAlpha = input.index >= 0 ? 1 : 0.25;
      if (model.planar && image) ctx.drawImage(image, node.x - half, node.y - half, size, size);
      else fillNode(ctx, node, size, "#cfd8dc");
      ctx.globalAlpha = 1;
      ctx.strokeStyle = input.index >= 0 ? "#37474f" : "#b0bec5";
      ctx.strokeRect(node.x - half, node.y - half, size, size);
      ctx.fillStyle = input.index >= 0 ? "#263238" : "#90a4ae";
      ctx.fillText(input.name, node.x - half - 4, node.y);
    });
    if (layout.columns[0].hiddenCount > 0) {
      const last = layout.columns[0].nodes.at(-1);
      ctx.textAlign = "center";
      ctx.fillText(t("network.more_inputs", { count: layout.columns[0].hiddenCount }), last.x, last.y + size);
    }
    const layers = app.state.params ? app.state.params.layers : [];
    for (let c = 1; c < layout.columns.length; c++) {
      const images = neuronImages[c - 1] || [];
      const biases = layers[c - 1] ? layers[c - 1].b : [];
      layout.columns[c].nodes.forEach((node, j) => {
        const image = images[j];
        if (image) ctx.drawImage(image.canvas, image.x, image.y, image.size, image.size, node.x - half, node.y - half, size, size);
        else fillNode(ctx, node, size, "#eceff1");
        ctx.strokeStyle = "#37474f";
        ctx.lineWidth = 1;
        ctx.strokeRect(node.x - half, node.y - half, size, size);
        const bias = biases[j] ?? 0;
        ctx.beginPath();
        ctx.arc(node.x - half, node.y + half, BIAS_RADIUS, 0, 2 * Math.PI);
        ctx.fillStyle = bias >= 0 ? POSITIVE : NEGATIVE;
        ctx.fill();
        ctx.strokeStyle = "#fff";
        ctx.stroke();
      });
    }
    if (hover) highlight(ctx, hover);
  }

  function highlight(ctx, target) {
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 2;
    if (target.kind === "edge") {
      const ends = edgeEnds(target.layer, target.row, target.col);
      if (!ends) return;
      ctx.beginPath();
      ctx.moveTo(ends[0].x + layout.nodeSize / 2, ends[0].y);
      ctx.lineTo(ends[1].x - layout.nodeSize / 2, ends[1].y);
      ctx.stroke();
    } else {
      const node = layout.columns[target.column].nodes[target.index];
      const half = layout.nodeSize / 2;
      ctx.strokeRect(node.x - half - 1, node.y - half - 1, layout.nodeSize + 2, layout.nodeSize + 2);
    }
    ctx.lineWidth = 1;
  }

  // What lies under the pointer: a bias dot, a node, or the nearest edge.
  function hitTest(x, y) {
    if (!layout || !model) return null;
    const half = layout.nodeSize / 2;
    for (let c = 0; c < layout.columns.length; c++) {
      const column = layout.columns[c];
      if (Math.abs(x - column.x) > half + BIAS_RADIUS) continue;
      for (let k = 0; k < column.nodes.length; k++) {
        const node = column.nodes[k];
        const onBias = c > 0 && Math.hypot(x - (node.x - half), y - (node.y + half)) <= BIAS_RADIUS + 2;
        if (onBias || (Math.abs(x - node.x) <= half && Math.abs(y - node.y) <= half)) {
          return c === 0 ? { kind: "input", column: 0, index: k } : { kind: "neuron", column: c, index: k };
        }
      }
    }
    if (!app.state.params) return null;
    let best = null;
    let bestDistance = EDGE_HIT_PX;
    app.state.params.layers.forEach((layer, l) => {
      if (x < layout.columns[l].x || x > layout.columns[l + 1].x) return;
      layer.W.forEach((row, i) => {
        row.forEach((value, j) => {
          const ends = edgeEnds(l, i, j);
          if (!ends) return;
          const distance = distanceToSegment(x, y, ends[0].x + half, ends[0].y, ends[1].x - half, ends[1].y);
          if (distance < bestDistance) {
            bestDistance = distance;
            best = { kind: "edge", layer: l, row: i, col: j };
          }
        });
      });
    });
    return best;
  }

  function nodeName(column, index) {
    if (column === 0) return model.inputs[index].name;
    if (column === layout.columns.length - 1) return t("network.output_title", { index: index + 1 });
    return t("network.neuron_title", { layer: column, index: index + 1 });
  }

  function describe(target) {
    const layers = app.state.params ? app.state.params.layers : null;
    const last = layout.columns.length - 1;
    if (target.kind === "input") {
      const input = model.inputs[target.index];
      return inputTooltip({ name: input.name, active: input.index >= 0 });
    }
    if (!layers) return null;
    if (target.kind === "edge") {
      const layer = layers[target.layer];
      const fromIndex = target.layer === 0 ? inputRows()[target.row] : target.row;
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
    const image = (neuronImages[target.column - 1] || [])[target.index];
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

  function showTooltip(target, x, y) {
    const info = target && describe(target);
    if (!info) {
      tooltip.hidden = true;
      return;
    }
    tooltip.replaceChildren(
      el("strong", {}, info.title),
      ...info.lines.map(([label, value]) => el("div", { class: "tip-line" }, el("span", {}, label), el("span", { class: "num" }, value))),
      ...info.math.map((line) => el("div", { class: "tip-math" }, line)),
      el("div", { class: "tip-note" }, info.note),
      el("div", { class: "tip-hint" }, info.hint),
    );
    tooltip.hidden = false;
    const box = scroll.getBoundingClientRect();
    const left = Math.min(x + 14, box.width - tooltip.offsetWidth - 4);
    tooltip.style.left = `${Math.max(4, left)}px`;
    const below = y + 14 - scroll.scrollTop + tooltip.offsetHeight <= box.height;
    const above = Math.max(scroll.scrollTop + 4, y - tooltip.offsetHeight - 8);
    tooltip.style.top = `${below ? y + 14 : above}px`;
  }

  function pointer(event) {
    const rect = canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  canvas.addEventListener("mousemove", (event) => {
    const { x, y } = pointer(event);
    const target = hitTest(x, y);
    const changed = JSON.stringify(target) !== JSON.stringify(hover);
    hover = target;
    canvas.style.cursor = target ? "pointer" : "default";
    showTooltip(target, x, y);
    if (changed) app.requestDraw(draw);
  });
  canvas.addEventListener("mouseleave", () => {
    hover = null;
    tooltip.hidden = true;
    app.requestDraw(draw);
  });
  canvas.addEventListener("click", (event) => {
    const { x, y } = pointer(event);
    const target = hitTest(x, y);
    if (!target) return;
    tooltip.hidden = true;
    if (target.kind === "input") {
      if (model.planar && !app.hidden.includes("features")) toggleFeature(model.inputs[target.index].name);
      return;
    }
    if (app.hidden.includes("weights")) return;
    const layers = app.state.params && app.state.params.layers;
    if (!layers) return;
    if (target.kind === "edge") {
      const { layer, row, col } = target;
      editValue(scroll, x, y, "network.edit_weight", layers[layer].W[row][col], (value) =>
        app.send({ type: "set_weight", layer, row, col, value }),
      );
    } else {
      const layer = target.column - 1;
      editValue(scroll, x, y, "network.edit_bias", layers[layer].b[target.index], (value) =>
        app.send({ type: "set_bias", layer, index: target.index, value }),
      );
    }
  });

  new ResizeObserver(() => app.requestDraw(draw)).observe(scroll);
  app.on("run", () => {
    lastNeuronPaint = -Infinity; // a rebuilt network shows its own heatmaps at once
    buildModel();
    app.requestDraw(draw);
  });
  app.on("grid", () => (gridChanged = true));
  app.on("frame", () => app.requestDraw(draw));
  app.on("language", () => {
    if (!app.state.run) return;
    buildModel();
    app.requestDraw(draw);
  });
  // Where a weight's edge or a neuron's bias dot is drawn, in canvas pixels (used by the browser tests).
  function pointOf(target) {
    if (target.kind === "edge") {
      const ends = edgeEnds(target.layer, target.row, target.col);
      const half = layout.nodeSize / 2;
      return ends && { x: (ends[0].x + half + ends[1].x - half) / 2, y: (ends[0].y + ends[1].y) / 2 };
    }
    const node = layout.columns[target.layer + 1].nodes[target.index];
    return { x: node.x - layout.nodeSize / 2, y: node.y + layout.nodeSize / 2 };
  }

  return { pointOf };
}

function sameCodes(a, b) {
  if (!b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function fillNode(ctx, node, size, color) {
  ctx.fillStyle = color;
  ctx.fillRect(node.x - size / 2, node.y - size / 2, size, size);
}

// Paint a grid of values into `canvas` (made, or remade at a new resolution, when needed).
function paintGrid(canvas, resolution, cell, bytes) {
  if (!canvas || canvas.width !== resolution) {
    canvas = document.createElement("canvas");
    canvas.width = resolution;
    canvas.height = resolution;
    canvas.pixels = canvas.getContext("2d").createImageData(resolution, resolution);
  }
  paintSigned(canvas.pixels, resolution, cell, bytes);
  canvas.getContext("2d").putImageData(canvas.pixels, 0, 0);
  return canvas;
}
