// Training curves with uPlot: train/test loss and accuracy against step or epoch, the learning rate under
// them, and per-layer gradient norms (the vanishing-gradient view). Smoothing is TensorBoard's debiased
// EMA over the full history; what is drawn is at most MAX_POINTS buckets, so a long run stays cheap.
import uPlot from "../../../vendor/uplot/uPlot.esm.js";
import { t } from "../../i18n/index.js";
import { layerColor } from "../../colors.js";
import { bucketEnds, sampleColumn } from "../../history.js";
import { RunningEma } from "../../smoothing.js";
import { logAxis, logRange, safeSeries, tickValues, xSpace, yAxis } from "../../charts/safe.js";
import { chartPng } from "../../charts/png.js";
import { chartFontPx } from "../../core/page.js";

const MAX_POINTS = 1200;
const TRAIN = "#1565c0";
const TEST = "#e65100";
const LR_HEADROOM = 1.15;
// The least plot height, in axis-font sizes: enough for three y labels (two on the lr strip). When the
// panel is shorter (a banner, projector mode), the charts keep it and the panel scrolls.
const MIN_PLOT_FONTS = { loss: 8, accuracy: 8, grad: 8, lr: 4 };
const faded = (hex) => `${hex}40`;
const RANGE_PAD = 0.1; // uPlot's own padding of an automatic range

// uPlot `range` for accuracy, which lives in [0, 1]: the automatic range, cut at 0 and 1 (a run at 100%
// had an axis up to 2).
function accuracyRange(chart, min, max) {
  if (min === null || max === null) return [0, 1];
  const [low, high] = uPlot.rangeNum(min, max, RANGE_PAD, true);
  return high > low ? [Math.max(0, low), Math.min(1, high)] : [0, 1];
}

export function createCurves(app) {
  const controls = {
    xAxis: document.getElementById("curves-x"),
    logScale: document.getElementById("curves-log"),
    smoothing: document.getElementById("curves-smoothing"),
    smoothingValue: document.getElementById("curves-smoothing-value"),
  };
  const boxes = {
    loss: document.getElementById("chart-loss"),
    lr: document.getElementById("chart-lr"),
    accuracy: document.getElementById("chart-accuracy"),
    grad: document.getElementById("chart-grad"),
  };
  const grid = document.getElementById("curves-grid");
  const emptyHint = document.getElementById("curves-empty");
  const charts = {};
  let drawnVersion = -1;
  let layerCount = 0;
  let zoomed = false;
  let syncing = false;
  let sized = false;
  const smoothers = new Map(); // column → its running EMA, valid while the history's generation holds
  let smoothedGeneration = -1; // the charts fit their boxes (checked again after a build, resize or first data)

  function axisLabel() {
    return t(controls.xAxis.value === "epoch" ? "curves.epoch" : "curves.step");
  }

  const fontPx = () => chartFontPx(app.projector);

  function baseOptions(box, { title, yLabel, series, log = false, legend = true, range, splits }) {
    const px = fontPx();
    const fonts = { font: `${px}px system-ui, sans-serif`, labelFont: `bold ${px}px system-ui, sans-serif` };
    return {
      title,
      width: Math.max(160, box.clientWidth),
      height: Math.max(60, box.clientHeight),
      cursor: { sync: { key: "backproplab-curves" }, drag: { x: true, y: false } },
      legend: { show: legend, live: true },
      scales: { x: { time: false }, y: log ? { distr: 3, range: logRange } : range ? { range } : { auto: true } },
      axes: [
        { label: axisLabel(), labelSize: px + 4, size: px + 20, space: xSpace, values: tickValues, ...fonts },
        { ...yAxis(yLabel), labelSize: px + 4, ...fonts, ...(log ? logAxis : {}), ...(splits ? { splits } : {}) },
      ],
      series: [{ label: axisLabel() }, ...series],
      hooks: {
        setSelect: [() => (zoomed = true)],
        setScale: [(chart, key) => key === "x" && syncZoom(chart)],
      },
    };
  }

  // Zooming one chart zooms them all to the same x range.
  function syncZoom(source) {
    if (syncing) return;
    syncing = true;
    const { min, max } = source.scales.x;
    for (const chart of Object.values(charts)) if (chart !== source) chart.setScale("x", { min, max });
    syncing = false;
  }

  const pair = (name, color) => [
    { label: t(`curves.${name}_raw`), stroke: faded(color), width: 1, spanGaps: true, points: { show: false } },
    { label: t(`curves.${name}`), stroke: color, width: 2, spanGaps: true, points: { show: false } },
  ];

  function build() {
    for (const chart of Object.values(charts)) chart.destroy();
    const log = controls.logScale.checked;
    charts.loss = new uPlot(
      baseOptions(boxes.loss, { title: t("curves.loss_title"), yLabel: t("curves.loss"), log, series: [...pair("train_loss", TRAIN), ...pair("test_loss", TEST)] }),
      [[]],
      boxes.loss,
    );
    charts.lr = new uPlot(
      baseOptions(boxes.lr, {
        title: "",
        yLabel: t("curves.lr"),
        legend: false,
        // Two ticks, 0 and the largest lr, written as numbers (1e-4, not 0).
        range: (chart, min, max) => [0, max > 0 ? max * LR_HEADROOM : 1],
        splits: (chart, axis, min, max) => (chart.data[0].length ? [0, max / LR_HEADROOM] : [0]),
        series: [{ label: t("curves.lr"), stroke: "#6a1b9a", width: 1.5, points: { show: false } }],
      }),
      [[]],
      boxes.lr,
    );
    charts.accuracy = new uPlot(
      baseOptions(boxes.accuracy, { title: t("curves.accuracy_title"), yLabel: t("curves.accuracy"), range: accuracyRange, series: [...pair("train_accuracy", TRAIN), ...pair("test_accuracy", TEST)] }),
      [[]],
      boxes.accuracy,
    );
    const layers = Array.from({ length: layerCount }, (_, l) => ({
      label: t("curves.layer_n", { n: l + 1 }),
      stroke: layerColor(l, layerCount),
      width: 1.5,
      spanGaps: true,
      points: { show: false },
    }));
    charts.grad = new uPlot(baseOptions(boxes.grad, { title: t("curves.grad_title"), yLabel: t("curves.grad_norm"), log: true, series: layers }), [[]], boxes.grad);
    drawnVersion = -1;
    zoomed = false;
    sized = false;
    app.requestDraw(resize);
  }

  function xValues(history, ends, stride) {
    const step = history.column("step");
    if (controls.xAxis.value !== "epoch") return sampleColumn(step, ends, stride);
    const { resolved, config } = app.state.run;
    const perEpoch = Math.max(1, Math.ceil(resolved.train_size / config.batch_size));
    return sampleColumn(step, ends, stride, (value) => value / perEpoch);
  }

  function draw() {
    const history = app.state.history;
    if (!app.state.run || history.version === drawnVersion) return;
    if (history.gradNorm.length !== layerCount) {
      layerCount = history.gradNorm.length;
      build();
    }
    drawnVersion = history.version;
    const empty = history.length === 0;
    emptyHint.hidden = !empty;
    grid.classList.toggle("empty", empty);
    const { ends, stride } = bucketEnds(history.length, MAX_POINTS);
    const x = xValues(history, ends, stride);
    const weight = Number(controls.smoothing.value);
    const smooth = (key, column) => {
      let ema = smoothers.get(key);
      if (!ema || ema.weight !== weight || smoothedGeneration !== history.generation) {
        if (smoothedGeneration !== history.generation) smoothers.clear();
        smoothedGeneration = history.generation;
        ema = new RunningEma(weight);
        smoothers.set(key, ema);
      }
      return ema.update(column);
    };
    const log = controls.logScale.checked;
    const smoothedPair = (name, logAxis = false) => {
      const column = history.column(name);
      return [safeSeries(sampleColumn(column, ends, stride), logAxis), safeSeries(sampleColumn(smooth(name, column), ends, stride), logAxis)];
    };
    const reset = !zoomed;
    charts.loss.setData([x, ...smoothedPair("train_loss", log), ...smoothedPair("test_loss", log)], reset);
    charts.accuracy.setData([x, ...smoothedPair("train_accuracy"), ...smoothedPair("test_accuracy")], reset);
    charts.lr.setData([x, safeSeries(sampleColumn(history.column("lr"), ends, stride), false)], reset);
    const gradSeries = history.gradNorm.map((column, layer) =>
      safeSeries(sampleColumn(smooth(`grad${layer}`, column.subarray(0, history.length)), ends, stride), true),
    );
    charts.grad.setData([x, ...gradSeries], reset);
    if (!sized) resize();
  }

  // Each chart fills its box. uPlot's height is the plot's alone: the title and the legend (whose height
  // depends on how its entries wrap at this width) come on top. A box never gets smaller than its least
  // plot plus that overhead (the panel scrolls instead). uPlot applies a new size on a microtask, so after
  // a change the check runs again next frame until the sizes settle.
  function resize() {
    let changed = false;
    for (const [name, chart] of Object.entries(charts)) {
      const box = boxes[name];
      const extras = [".u-title", ".u-legend"].map((selector) => chart.root.querySelector(selector));
      const overhead = extras.reduce((sum, node) => sum + (node ? node.offsetHeight : 0), 0);
      const least = (MIN_PLOT_FONTS[name] + 2) * fontPx() + 24; // the plot, and the x axis under it (its size and label)
      box.style.minHeight = `${overhead + least + 2}px`;
      const width = Math.max(160, box.clientWidth);
      const height = Math.max(least, box.clientHeight - overhead - 2);
      if (chart.width !== width || chart.height !== height) {
        chart.setSize({ width, height });
        changed = true;
      }
    }
    sized = !changed;
    if (changed) app.requestDraw(resize);
  }

  function rebuildAndDraw() {
    build();
    app.requestDraw(draw);
  }

  controls.xAxis.addEventListener("change", rebuildAndDraw);
  controls.logScale.addEventListener("change", rebuildAndDraw);
  const showSmoothing = () => (controls.smoothingValue.textContent = Number(controls.smoothing.value).toFixed(2));
  controls.smoothing.addEventListener("input", () => {
    showSmoothing();
    drawnVersion = -1;
    app.requestDraw(draw);
  });
  for (const box of Object.values(boxes)) {
    box.addEventListener("dblclick", () => {
      zoomed = false;
      drawnVersion = -1;
      app.requestDraw(draw);
    });
  }
  for (const button of document.querySelectorAll("[data-chart-png]")) {
    const name = button.dataset.chartPng;
    button.addEventListener("click", () => chartPng(charts[name], t(`curves.${name}_title`), `backproplab-${name}.png`));
  }
  new ResizeObserver(() => {
    sized = false;
    app.requestDraw(resize);
  }).observe(grid);
  showSmoothing();
  build();
  app.charts = charts; // for the browser tests
  app.on("run", () => {
    drawnVersion = -1;
    boxes.accuracy.parentElement.hidden = app.state.run.resolved.task !== "classification";
    app.requestDraw(draw);
  });
  app.on("frame", () => app.requestDraw(draw));
  app.on("language", rebuildAndDraw);
  app.on("projector", rebuildAndDraw);
}
