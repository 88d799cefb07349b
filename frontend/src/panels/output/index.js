// The output panel: what the network answers, in the view that fits the data.
//   2 inputs: the plane (decision boundary or regression surface) with the points; for regression also
//             predictions against targets.
//   1 input (regression): the fitted curve through the points.
//   more inputs: a confusion matrix (classes) or predictions against targets (regression).
// The plane's grid comes from the browser's forward pass (app.grids), asked for only while this panel is
// on screen; the other views evaluate at most EVAL_ROWS rows once per EVAL_EVERY_MS.
import { t } from "../../i18n/index.js";
import { el, formatNumber } from "../../dom.js";
import { CLASS_COLORS } from "../../colors.js";
import { classOf, predictRows, prepareLayers } from "../../model/forward.js";
import { createPlane } from "./plane.js";
import { drawCurve, drawScatter, renderConfusion } from "./evaluation.js";

const EVAL_EVERY_MS = 1000;
const EVAL_ROWS = 500;
const CURVE_POINTS = 200;

export function createOutput(app) {
  const panel = document.querySelector(".output-panel");
  const box = document.getElementById("output-box");
  const canvas = document.getElementById("output-canvas");
  const evalCanvas = document.getElementById("eval-canvas");
  const message = document.getElementById("output-message");
  const confusion = document.getElementById("confusion");
  const showTest = document.getElementById("show-test");
  const discretize = document.getElementById("discretize");
  const viewSelect = document.getElementById("output-view");
  const legend = document.getElementById("output-legend");
  const plane = createPlane(canvas);
  let gridsChanged = false;
  let lastEval = 0;

  const resolved = () => app.state.run.resolved;
  const rawWidth = () => resolved().raw_input_size ?? resolved().input_size;
  const names = () => app.columnNames();

  // Which view: "plane", "fit" (predictions against targets), "curve" or "confusion".
  function view() {
    const { task } = resolved();
    if (rawWidth() === 2) return task === "regression" && viewSelect.value === "fit" ? "fit" : "plane";
    if (task === "classification") return "confusion";
    return rawWidth() === 1 ? "curve" : "fit";
  }

  function draw() {
    if (!app.state.run) return;
    const current = view();
    const side = Math.max(120, Math.min(box.clientWidth, box.clientHeight - 4));
    canvas.hidden = current !== "plane";
    evalCanvas.hidden = !["fit", "curve"].includes(current);
    confusion.hidden = current !== "confusion";
    viewSelect.parentElement.hidden = !(rawWidth() === 2 && resolved().task === "regression");
    discretize.parentElement.hidden = current !== "plane";
    message.hidden = rawWidth() === 2;
    message.textContent = t(resolved().task === "classification" ? "output.no_plane_classes" : "output.no_plane_values", { count: rawWidth() });
    if (current === "plane") {
      const grids = app.state.grid;
      plane.draw({
        side,
        extent: (grids && grids.extent) || resolved().extent || [-6, 6, -6, 6],
        grids,
        gridsChanged: gridsChanged || !grids,
        resolved: resolved(),
        points: app.state.points,
        showTest: showTest.checked,
        discrete: discretize.checked,
        names: names().inputs,
        scale: app.projector ? 1.4 : 1,
      });
      gridsChanged = false;
      return;
    }
    evaluate(current, side);
  }

  function evaluate(current, side) {
    const { points, params } = app.state;
    if (!points || !params) return;
    const now = performance.now();
    if (now - lastEval < EVAL_EVERY_MS && !app.state.viewChanged) return;
    lastEval = now;
    app.state.viewChanged = false;
    const layers = prepareLayers(params);
    const features = rawWidth() === 2 ? app.state.run.config.features : null;
    const set = points.test.X.length ? points.test : points.train;
    const X = set.X.slice(0, EVAL_ROWS);
    const y = set.y.slice(0, EVAL_ROWS);
    if (current === "curve") {
      const xs = X.map(([x]) => x);
      const low = Math.min(...xs);
      const high = Math.max(...xs);
      const grid = Array.from({ length: CURVE_POINTS }, (_, k) => low + ((high - low) * k) / (CURVE_POINTS - 1));
      const curve = { xs: grid, ys: predictRows(layers, grid.map((x) => [x]), null).map(([v]) => v) };
      drawCurve(evalCanvas, side, X.map(([x], k) => [x, y[k]]), curve, { x: names().inputs[0], y: names().target });
      return;
    }
    const predictions = predictRows(layers, X, features);
    if (current === "fit") {
      drawScatter(evalCanvas, side, y, predictions.map(([v]) => v));
      return;
    }
    const K = resolved().num_classes;
    const counts = Array.from({ length: K }, () => new Array(K).fill(0));
    const activation = params.layers.at(-1).activation;
    y.forEach((truth, k) => counts[truth][classOf(predictions[k], activation)]++);
    const caption = t(points.test.X.length ? "output.confusion_test" : "output.confusion_train", { rows: X.length });
    renderConfusion(confusion, counts, names().classes, caption, !app.hasClassNames());
  }

  // Binary classes and regression values share the orange-to-blue bar; more classes get one chip each.
  function renderLegend() {
    const { task, num_classes: classes } = resolved();
    const classNames = names().classes;
    if (task === "classification" && (classes > 2 || app.hasClassNames())) {
      legend.replaceChildren(...classNames.map((name, k) => {
        const chip = el("span", { class: "legend-chip" }, name);
        chip.style.setProperty("--chip", CLASS_COLORS[k % CLASS_COLORS.length]);
        return chip;
      }));
      return;
    }
    const [low, high] = task === "classification" ? ["output.legend_class0", "output.legend_class1"] : ["output.legend_low", "output.legend_high"];
    legend.replaceChildren(el("span", {}, t(low)), el("span", { class: "legend-bar" }), el("span", {}, t(high)));
  }

  const latestFields = ["test_loss", "train_loss", "test_accuracy"].map((name) => [name, document.getElementById(`latest-${name.replace("_", "-")}`)]);
  function showLatest() {
    const latest = app.state.run && app.state.run.latest;
    if (!latest) return;
    const classification = resolved().task === "classification";
    for (const [name, node] of latestFields) {
      node.parentElement.hidden = name.endsWith("accuracy") && !classification;
      const value = latest[name];
      node.textContent = name.endsWith("accuracy") && value !== null && value !== undefined ? `${(value * 100).toFixed(1)}%` : formatNumber(value);
    }
  }

  canvas.addEventListener("click", (event) => {
    const where = plane.locate(event);
    if (where) app.emit("plane-click", { ...where, shift: event.shiftKey, remove: event.altKey || event.ctrlKey || event.metaKey });
  });
  const redraw = () => {
    app.state.viewChanged = true;
    gridsChanged = true;
    app.requestDraw(draw);
  };
  showTest.addEventListener("change", redraw);
  discretize.addEventListener("change", redraw);
  viewSelect.addEventListener("change", redraw);

  // The boundary is asked for only while this panel is on screen and shows the plane.
  let onScreen = false;
  const wantOutput = () => app.grids.want("output", onScreen && !panel.hidden && app.state.run && view() === "plane");
  new IntersectionObserver((entries) => {
    onScreen = entries.some((entry) => entry.isIntersecting);
    wantOutput();
  }).observe(panel);
  new ResizeObserver(redraw).observe(box);
  app.on("frame", () => {
    showLatest();
    app.requestDraw(draw);
  });
  app.on("run", () => {
    showLatest();
    renderLegend();
    wantOutput();
    redraw();
  });
  app.on("panels", wantOutput);
  app.on("projector", redraw);
  app.on("grid", () => {
    gridsChanged = true;
    app.requestDraw(draw);
  });
  app.on("points", redraw);
  app.on("language", () => {
    renderLegend();
    redraw();
  });
}
