// Backprop, one step at a time: a training step of the run (or a textbook example) as a computational graph,
// walked stage by stage with Forward/Back: forward layer by layer, the loss, backward from the output to the
// input (upstream gradient × local derivative at every node) and the optimizer's update, all with the numbers
// the engine computed (GET /api/runs/{id}/stepthrough).
import { el, formatNumber } from "../dom.js";
import { t } from "../i18n/index.js";
import { api } from "../core/api.js";
import { createNetworkGraph } from "./netgraph.js";
import { createExpressionGraph } from "./exprgraph.js";

const MAX_DETAILS = 40;
// Phones (teach.css): the graph keeps its laptop size and scrolls inside its box.
const PHONE = window.matchMedia("(max-width: 900px)");
const MIN_BOX_PX = 240; // a box never shorter than this, however much is above it
const BOX_MARGIN_PX = 8;

export function createStepThrough(ctx, body) {
  const source = el("select", { id: "step-source", "aria-label": t("teach.step.source") });
  const sample = el("input", { id: "step-sample", type: "number", min: 0, value: 0, step: 1 });
  const batch = el("input", { id: "step-batch", type: "number", min: 1, max: 8, value: 1, step: 1 });
  const abc = ["a", "b", "c"].map((name, i) => el("input", { id: `expr-${name}`, type: "number", value: [5, 3, 2][i], step: "any" }));
  const load = el("button", { id: "step-load", class: "primary", onclick: () => reload() });
  const train = el("button", { id: "step-train", onclick: () => trainOne() });
  const back = el("button", { id: "step-back", onclick: () => go(-1) });
  const forward = el("button", { id: "step-forward", class: "primary", onclick: () => go(1) });
  const label = el("div", { id: "stage-label", class: "stage-label", "aria-live": "polite" });
  const inBatch = el("select", { id: "step-in-batch", onchange: () => render() });
  const graphBox = el("div", { class: "graph-box" });
  const scrollHint = el("p", { class: "hint graph-scroll-hint", dataset: { i18n: "teach.step.graph_scroll" }, textContent: t("teach.step.graph_scroll") });
  const details = el("div", { id: "stage-details", class: "stage-details" });
  const runFields = el("span", { class: "inline-fields" }, field("teach.step.sample", sample), field("teach.step.batch", batch), train);
  const exprFields = el("span", { class: "inline-fields" }, ...abc.map((input, i) => field(`teach.step.${"abc"[i]}`, input)));
  body.append(
    el("div", { class: "toolbar" }, source, runFields, exprFields, load),
    el("div", { class: "toolbar stage-nav" }, back, forward, label, field("teach.step.in_batch", inBatch)),
    el("div", { class: "step-main" }, scrollHint, graphBox, details),
  );
  const network = createNetworkGraph(graphBox);
  const expression = createExpressionGraph(graphBox);
  let mode = "run";
  let trace = null;
  let stageCount = 0;
  let index = 0;

  function field(key, input) {
    return el("label", { class: "inline" }, el("span", { dataset: { i18n: key }, textContent: t(key) }), input);
  }

  function translate() {
    const current = source.value || "run";
    source.replaceChildren(...["run", "tiny", "expression"].map((value) => el("option", { value, textContent: t(`teach.step.source_${value}`) })));
    source.value = current;
    load.textContent = t("teach.step.load");
    train.textContent = t("teach.step.train");
    back.textContent = `◀ ${t("teach.step.back")}`;
    forward.textContent = `${t("teach.step.forward")} ▶`;
    if (trace || mode === "expression") render();
  }

  // Another network is another graph: its walk starts again at stage 1.
  source.addEventListener("change", () => {
    index = 0;
    reload();
  });

  async function reload() {
    mode = source.value;
    runFields.hidden = mode !== "run";
    exprFields.hidden = mode !== "expression";
    inBatch.parentElement.hidden = true;
    try {
      if (mode === "expression") {
        const graph = await api.expression(...abc.map((input) => input.value || 0));
        stageCount = expression.load(graph);
        trace = null;
      } else {
        trace = mode === "tiny" ? (await api.textbookNetwork()).trace : await api.stepThrough(ctx.runId, sample.value || 0, batch.value || 1);
        stageCount = trace.stages.length + 1;
        network.load(trace);
        inBatch.replaceChildren(...trace.inputs.map((_, s) => el("option", { value: s, textContent: String((trace.rows ? trace.rows[s] : s)) })));
        inBatch.parentElement.hidden = trace.inputs.length < 2;
      }
      index = Math.min(index, stageCount - 1);
      render();
    } catch (error) {
      ctx.error(error.message);
    }
  }

  async function trainOne() {
    try {
      await api.stepRun(ctx.runId, 1);
      await reload();
    } catch (error) {
      ctx.error(error.message);
    }
  }

  function go(delta) {
    index = Math.max(0, Math.min(stageCount - 1, index + delta));
    render();
  }

  function render() {
    back.disabled = index === 0;
    forward.disabled = index >= stageCount - 1;
    if (mode === "expression") {
      const { title, lines } = expression.render(index);
      showStage(index, "expression", title, lines);
    } else {
      const s = Number(inBatch.value || 0);
      network.render(index - 1, s);
      const stage = index === 0 ? { kind: "start" } : trace.stages[index - 1];
      showStage(index, stage.kind, stageTitle(stage), stageLines(stage, s));
    }
    fitBox();
    followStage();
  }

  // On a phone the box ends at the bottom of the first screen (62vh from below the toolbars ran past it:
  // the bottom of the box, and the inputs centred in a tall graph, were off the screen at stage 1).
  function fitBox() {
    if (!PHONE.matches) {
      graphBox.style.maxHeight = "";
      return;
    }
    const top = graphBox.getBoundingClientRect().top + window.scrollY;
    graphBox.style.maxHeight = `${Math.max(MIN_BOX_PX, Math.floor(window.innerHeight - top - BOX_MARGIN_PX))}px`;
  }

  // Where the graph is larger than its box (a phone: teach.css keeps its text readable), the box scrolls to
  // centre the stage's active nodes, so each press of Forward or Back shows what changed. The start has
  // none: it centres the inputs (on the left), which a tall network draws half way down, not at the top.
  function followStage() {
    const focus = graphBox.querySelectorAll(index === 0 ? '.node.active, [data-node^="in-"]' : ".node.active");
    const active = [...focus].map((node) => node.getBoundingClientRect());
    if (!active.length) return;
    const box = graphBox.getBoundingClientRect();
    const centre = (low, high) => (Math.min(...active.map(low)) + Math.max(...active.map(high))) / 2;
    graphBox.scrollTo({
      left: graphBox.scrollLeft + centre((r) => r.left, (r) => r.right) - (box.left + box.width / 2),
      top: graphBox.scrollTop + centre((r) => r.top, (r) => r.bottom) - (box.top + box.height / 2),
    });
  }

  function showStage(position, kind, title, lines) {
    label.dataset.stageKind = kind;
    label.dataset.stageIndex = String(position);
    label.textContent = `${t("teach.step.stage", { n: position + 1, total: stageCount })} · ${title}`;
    const shown = lines.slice(0, MAX_DETAILS).map((line) => el("li", {}, ...(Array.isArray(line) ? [el("b", {}, line[0]), " ", line[1]] : [line])));
    if (lines.length > MAX_DETAILS) shown.push(el("li", { class: "hint" }, t("teach.step.more", { n: lines.length - MAX_DETAILS })));
    details.replaceChildren(el("h3", {}, title), el("ul", {}, ...shown));
  }

  function stageTitle(stage) {
    const layerName = (layer) => (layer === trace.sizes.length - 2 ? t("teach.step.output_layer") : t("teach.step.layer", { n: layer + 1 }));
    switch (stage.kind) {
      case "start": return t("teach.step.start");
      case "forward": return t("teach.step.forward_title", { layer: layerName(stage.layer), activation: stage.activation });
      case "loss": return t("teach.step.loss_title", { name: stage.name });
      case "backward": return t("teach.step.backward_title", { layer: layerName(stage.layer) });
      default: return t("teach.step.update_title", { optimizer: stage.optimizer, lr: formatNumber(stage.lr) });
    }
  }

  function stageLines(stage, s) {
    switch (stage.kind) {
      case "start":
        return [t("teach.step.start_hint"), ...trace.inputs[s].map((value, i) => [`x${i + 1}`, `= ${formatNumber(value)}`])];
      case "forward":
        return [stage.formula, ...stage.neurons.map((neuron) => [neuron.label, neuron.formula[s]])];
      case "loss":
        return [
          stage.formula,
          [t("teach.step.loss_value"), `${formatNumber(stage.value)}${stage.penalty ? ` + ${formatNumber(stage.penalty)} = ${formatNumber(stage.total)}` : ""}`],
          stage.gradient_formula,
        ];
      case "backward":
        return [
          t("teach.step.chain_hint"),
          ...stage.neurons.map((neuron) => [neuron.label, neuron.chain[s]]),
          ...stage.weights.map((weight) => [weight.label, weight.chain]),
          ...stage.biases.map((bias) => [bias.label, bias.chain]),
        ];
      default:
        return [stage.rule, ...stage.parameters.map((entry) => [entry.id, entry.formula])];
    }
  }

  let loaded = false;
  translate();
  ctx.on("language", translate);
  // A turned phone or a resized window; not a phone's address bar showing or hiding (only the height
  // changes), which would make the box jump while the page scrolls.
  let width = window.innerWidth;
  window.addEventListener("resize", () => {
    if (window.innerWidth === width || !(trace || mode === "expression")) return;
    width = window.innerWidth;
    fitBox();
    followStage();
  });
  ctx.on("run", () => loaded && mode === "run" && reload());
  return {
    show() {
      if (!loaded) {
        loaded = true;
        reload();
      }
    },
    hide() {},
  };
}
