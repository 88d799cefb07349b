// Gradient health: per layer over time, the gradient norm, weight norm, update-to-weight ratio and share of
// dead ReLUs (uPlot lines), and histograms of weights or gradients over time (ridgelines). Two presets show
// vanishing gradients (six sigmoid layers) and their fix (ReLU with He init).
import { el, formatNumber } from "../dom.js";
import { layerColor } from "../colors.js";
import { t } from "../i18n/index.js";
import { api } from "../core/api.js";
import { rememberRun } from "../core/identity.js";
import { destroyChart, lineChart, positive } from "./charts.js";
import { drawRidgeline } from "./ridgeline.js";

const PRESET_STEPS = 300;
const TRAIN_STEPS = 200;
const POLL_MS = 2000;
const CHARTS = [
  { key: "grad_norm", log: true },
  { key: "weight_norm", log: false },
  { key: "update_ratio", log: true },
  { key: "dead_share", log: false, yRange: [0, 1], points: true }, // a snapshot every 50 steps or more: one may be all there is
];

export function createHealth(ctx, body) {
  const presetButtons = ["vanishing", "fixed"].map((id) => el("button", { dataset: { preset: id }, onclick: () => usePreset(id) }));
  const train = el("button", { id: "health-train", class: "primary", onclick: () => trainMore() });
  const kind = el("select", { id: "health-kind", onchange: () => drawHistograms() });
  const summary = el("p", { id: "health-summary", class: "summary" });
  const legend = el("div", { class: "layer-legend" });
  const chartGrid = el("div", { class: "chart-grid" });
  const boxes = CHARTS.map(() => el("div", { class: "chart-box" }));
  chartGrid.append(...boxes);
  const histograms = el("div", { id: "health-histograms", class: "ridge-grid" });
  const histTitle = el("h3", { class: "sub-title" });
  const empty = el("p", { id: "health-empty", class: "empty-hint" });
  const resultArea = el("div", { class: "view-results" }, summary, legend, chartGrid, histTitle, histograms);
  body.append(el("div", { class: "toolbar" }, ...presetButtons, train, kind), empty, resultArea);
  let data = null;
  let charts = [];
  let presets = null;
  let timer = null;
  let shownKey = "";

  async function refresh() {
    try {
      const next = await api.health(ctx.runId);
      const same = data && next.run_id === data.run_id && next.step === data.step;
      data = next;
      if (!same) draw();
    } catch (error) {
      ctx.error(error.message);
    }
  }

  async function usePreset(id) {
    try {
      presets = presets || (await api.presets()).presets;
      const preset = presets.find((item) => item.id === id);
      const run = await api.createRun(preset.config);
      rememberRun(run.id); // this browser's newest run: the dashboard reopens it
      await api.stepRun(run.id, PRESET_STEPS);
      ctx.setRun(run.id);
    } catch (error) {
      ctx.error(error.message);
    }
  }

  async function trainMore() {
    try {
      await api.stepRun(ctx.runId, TRAIN_STEPS);
      await refresh();
    } catch (error) {
      ctx.error(error.message);
    }
  }

  function translate() {
    presetButtons.forEach((button) => (button.textContent = t(`teach.health.preset_${button.dataset.preset}`)));
    train.textContent = t("teach.health.train", { n: TRAIN_STEPS });
    empty.textContent = t("teach.health.empty", { button: train.textContent });
    const current = kind.value || "grads";
    kind.replaceChildren(...["grads", "weights"].map((value) => el("option", { value, textContent: t(`teach.health.kind_${value}`) })));
    kind.value = current;
    shownKey = "";
    draw();
  }

  // Until the run has statistics (it has not trained, or they are still loading) the view says what it shows
  // and how to start.
  function draw() {
    const blank = !data || data.stats.step.length === 0;
    empty.hidden = !blank;
    resultArea.hidden = blank;
    if (blank) return;
    const layers = data.layers.length;
    const series = data.layers.map((layer, i) => ({ label: t("teach.step.layer", { n: i + 1 }), stroke: layerColor(i, layers) }));
    const key = `${data.run_id}:${layers}:${t("teach.health.grad_norm")}`;
    if (key !== shownKey) {
      charts.forEach(destroyChart);
      charts = CHARTS.map((spec, i) =>
        lineChart(boxes[i], {
          title: t(`teach.health.${spec.key}`),
          xLabel: t("teach.health.step"),
          yLabel: "",
          series: spec.points ? series.map((item) => ({ ...item, points: { show: true, size: 7 } })) : series,
          logY: spec.log,
          yRange: spec.yRange,
          height: 190,
          legend: false,
        }),
      );
      legend.replaceChildren(...series.map((item, i) => el("span", {}, el("span", { class: "swatch", style: `background:${item.stroke}` }), ` ${item.label} · ${data.layers[i].activation}`)));
      shownKey = key;
    }
    const stats = data.stats;
    CHARTS.slice(0, 3).forEach((spec, i) => {
      const columns = data.layers.map((_, l) => stats[spec.key].map((row) => (row ? row[l] : null)));
      charts[i].setData([stats.step, ...columns.map((column) => (spec.log ? positive(column) : column))]);
    });
    const steps = data.snapshots.map((snapshot) => snapshot.step);
    charts[3].setData([steps, ...data.layers.map((_, l) => data.snapshots.map((snapshot) => snapshot.layers[l].dead_share))]);
    // The same steps as the other charts (uPlot would span 0–2 around a lone snapshot at step 1).
    const [first, last] = [Math.min(steps[0], stats.step[0]), data.step];
    if (last > first) charts[3].setScale("x", { min: first, max: last });
    summary.replaceChildren(...summaryText());
    drawHistograms();
  }

  function summaryText() {
    const last = data.stats.grad_norm[data.stats.grad_norm.length - 1];
    if (!last || last[0] === null || !last[last.length - 1]) return [t("teach.health.no_data")];
    const ratio = last[0] / last[last.length - 1];
    const dead = data.dead_share.filter((share) => share !== null);
    const parts = [t("teach.health.ratio", { ratio: formatNumber(ratio), step: data.step })];
    if (ratio < 1e-2) parts.push(" ", el("strong", { class: "warn" }, t("teach.health.vanishing")));
    if (dead.length) parts.push(" ", t("teach.health.dead_now", { share: `${Math.round((100 * dead.reduce((a, b) => a + b, 0)) / dead.length)}%` }));
    else parts.push(" ", t("teach.health.no_relu"));
    return parts;
  }

  function drawHistograms() {
    if (resultArea.hidden) return;
    histTitle.textContent = t(kind.value === "weights" ? "teach.health.hist_weights" : "teach.health.hist_grads");
    const cards = data.layers.map((layer, l) => {
      const canvas = el("canvas", { dataset: { layer: l } });
      const card = el("div", { class: "ridge-card" }, el("div", { class: "ridge-title" }, `${t("teach.step.layer", { n: l + 1 })} · ${layer.activation}`), canvas);
      return { card, canvas, l };
    });
    histograms.replaceChildren(...cards.map((item) => item.card));
    for (const { canvas, l, card } of cards) {
      const rows = data.snapshots.map((snapshot) => ({ step: snapshot.step, ...snapshot.layers[l][kind.value] }));
      drawRidgeline(canvas, Math.max(150, card.clientWidth - 12), 170, rows, layerColor(l, data.layers.length));
    }
  }

  ctx.on("language", translate);
  ctx.on("run", () => timer && refresh());
  translate();
  return {
    show() {
      refresh();
      timer = setInterval(refresh, POLL_MS);
    },
    hide() {
      clearInterval(timer);
      timer = null;
    },
  };
}
