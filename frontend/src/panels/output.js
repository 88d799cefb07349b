// The output over the input plane: the decision boundary (class colours, paler where the network is
// unsure, optionally discretised) or the fitted regression surface, with the train and test points.
// Data with more than two inputs has no plane; the panel says so and shows a confusion matrix instead.
import { t } from "../i18n/index.js";
import { el, fitCanvas, formatNumber } from "../dom.js";
import { CLASS_COLORS, confusionColor, divergingColor } from "../colors.js";
import { decodeBytes, paintClasses, paintProbability, paintSigned } from "../grid.js";
import { predictClasses } from "../forward.js";

const CONFUSION_EVERY_MS = 1000;
const POINT_RADIUS = 3.2;
const AXIS_ROOM = 16;
const BACKGROUND_ALPHA = 0.6;

export function createOutput(app) {
  const box = document.getElementById("output-box");
  const canvas = document.getElementById("output-canvas");
  const message = document.getElementById("output-message");
  const confusion = document.getElementById("confusion");
  const showTest = document.getElementById("show-test");
  const discretize = document.getElementById("discretize");
  const legend = document.getElementById("output-legend");
  const image = { canvas: document.createElement("canvas"), resolution: 0, data: null };
  let plot = null; // {left, top, size, extent}
  let lastConfusion = 0;
  let gridChanged = false; // a newer grid arrived: repaint it at the next draw

  showTest.addEventListener("change", () => app.requestDraw(draw));
  discretize.addEventListener("change", () => {
    gridChanged = true;
    app.requestDraw(draw);
  });

  function paintGrid(grid) {
    if (!grid) return;
    const resolution = grid.resolution;
    if (image.resolution !== resolution) {
      image.canvas.width = resolution;
      image.canvas.height = resolution;
      image.resolution = resolution;
      image.data = image.canvas.getContext("2d").createImageData(resolution, resolution);
    }
    const resolved = app.state.run.resolved;
    const bytes = decodeBytes(grid.output.data);
    if (resolved.task !== "classification") paintSigned(image.data, resolution, grid.output, bytes);
    else if (grid.classes) paintClasses(image.data, resolution, grid.output, bytes, decodeBytes(grid.classes), resolved.num_classes, discretize.checked);
    else paintProbability(image.data, resolution, grid.output, bytes, discretize.checked);
    image.canvas.getContext("2d").putImageData(image.data, 0, 0);
  }

  function planar() {
    const resolved = app.state.run.resolved;
    return (resolved.raw_input_size ?? resolved.input_size) === 2;
  }

  function draw() {
    const run = app.state.run;
    if (!run) return;
    const isPlanar = planar();
    canvas.hidden = !isPlanar;
    message.hidden = isPlanar;
    legend.hidden = !isPlanar;
    if (!isPlanar) {
      message.textContent = t("output.no_plane", { count: run.resolved.raw_input_size ?? run.resolved.input_size });
      drawConfusion();
      return;
    }
    confusion.hidden = true;
    const side = Math.max(120, Math.min(box.clientWidth, box.clientHeight));
    const ctx = fitCanvas(canvas, side, side);
    const extent = (app.state.grid && app.state.grid.extent) || run.resolved.extent || [-6, 6, -6, 6];
    plot = { left: AXIS_ROOM, top: 2, size: side - AXIS_ROOM - 2, extent };
    ctx.clearRect(0, 0, side, side);
    if (gridChanged) paintGrid(app.state.grid);
    gridChanged = false;
    if (app.state.grid) {
      // Paler than the points so they stay visible on their own class's colour.
      ctx.fillStyle = "#fff";
      ctx.fillRect(plot.left, plot.top, plot.size, plot.size);
      ctx.globalAlpha = BACKGROUND_ALPHA;
      ctx.imageSmoothingEnabled = !discretize.checked;
      ctx.drawImage(image.canvas, plot.left, plot.top, plot.size, plot.size);
      ctx.globalAlpha = 1;
    } else {
      ctx.fillStyle = "#f5f5f5";
      ctx.fillRect(plot.left, plot.top, plot.size, plot.size);
    }
    drawPoints(ctx);
    drawAxes(ctx, side);
  }

  function toPixel(x1, x2) {
    const [x1min, x1max, x2min, x2max] = plot.extent;
    return [plot.left + ((x1 - x1min) / (x1max - x1min)) * plot.size, plot.top + (1 - (x2 - x2min) / (x2max - x2min)) * plot.size];
  }

  function drawPoints(ctx) {
    const points = app.state.points;
    if (!points) return;
    const classification = app.state.run.resolved.task === "classification";
    const all = [...points.train.y, ...points.test.y];
    const scale = Math.max(1e-9, ...all.map((y) => Math.abs(y ?? 0)));
    const draw = (set, stroke) => {
      ctx.strokeStyle = stroke;
      set.X.forEach((x, k) => {
        const y = set.y[k];
        const [px, py] = toPixel(x[0], x[1]);
        ctx.beginPath();
        ctx.arc(px, py, POINT_RADIUS, 0, 2 * Math.PI);
        ctx.fillStyle = classification ? CLASS_COLORS[y % CLASS_COLORS.length] : divergingColor(0.5 + y / (2 * scale));
        ctx.fill();
        ctx.stroke();
      });
    };
    ctx.lineWidth = 1;
    draw(points.train, "#ffffff");
    if (showTest.checked) draw(points.test, "#000000");
  }

  function drawAxes(ctx, side) {
    const [x1min, x1max, x2min, x2max] = plot.extent;
    ctx.fillStyle = "#546e7a";
    ctx.font = "10px system-ui, sans-serif";
    ctx.textBaseline = "top";
    ctx.textAlign = "left";
    ctx.fillText(String(Number(x1min.toFixed(1))), plot.left, plot.top + plot.size + 2);
    ctx.textAlign = "right";
    ctx.fillText(String(Number(x1max.toFixed(1))), plot.left + plot.size, plot.top + plot.size + 2);
    ctx.textAlign = "center";
    ctx.fillText("x1", plot.left + plot.size / 2, plot.top + plot.size + 2);
    ctx.save();
    ctx.translate(2, plot.top + plot.size / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    ctx.fillText("x2", 0, 0);
    ctx.restore();
    ctx.textAlign = "left";
    ctx.fillText(String(Number(x2max.toFixed(1))), 1, plot.top);
    ctx.fillText(String(Number(x2min.toFixed(1))), 1, side - AXIS_ROOM - 10);
  }

  function drawConfusion() {
    const { run, points, params } = app.state;
    if (run.resolved.task !== "classification" || !points || !params) {
      confusion.hidden = true;
      return;
    }
    const now = performance.now();
    if (now - lastConfusion < CONFUSION_EVERY_MS && !confusion.hidden) return;
    lastConfusion = now;
    const set = points.test.X.length ? points.test : points.train;
    const predicted = predictClasses(params.layers, set.X);
    const K = run.resolved.num_classes;
    const counts = Array.from({ length: K }, () => new Array(K).fill(0));
    set.y.forEach((truth, k) => counts[truth][predicted[k]]++);
    const header = el("tr", {}, el("th", {}, t("output.true_predicted")), ...counts.map((_, k) => el("th", {}, String(k))));
    const rows = counts.map((row, truth) => {
      const total = row.reduce((a, b) => a + b, 0) || 1;
      return el("tr", {}, el("th", {}, String(truth)), ...row.map((count) => {
        const cell = el("td", {}, String(count));
        cell.style.background = confusionColor(count / total);
        cell.style.color = count / total > 0.55 ? "#fff" : "#000";
        return cell;
      }));
    });
    confusion.replaceChildren(
      el("caption", {}, t(points.test.X.length ? "output.confusion_test" : "output.confusion_train")),
      el("tbody", {}, header, ...rows),
    );
    confusion.hidden = false;
  }

  canvas.addEventListener("click", (event) => {
    if (!plot) return;
    const rect = canvas.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top;
    const [x1min, x1max, x2min, x2max] = plot.extent;
    const x1 = x1min + ((px - plot.left) / plot.size) * (x1max - x1min);
    const x2 = x2max - ((py - plot.top) / plot.size) * (x2max - x2min);
    app.emit("plane-click", { x1, x2, shift: event.shiftKey, remove: event.altKey || event.ctrlKey || event.metaKey, radius: (POINT_RADIUS * 2 * (x1max - x1min)) / plot.size });
  });

  // Binary classes and regression values share the orange-to-blue bar; more classes get one chip each.
  function renderLegend() {
    const { task, num_classes: classes } = app.state.run.resolved;
    if (task === "classification" && classes > 2) {
      legend.replaceChildren(...CLASS_COLORS.slice(0, classes).map((color, k) => {
        const chip = el("span", { class: "legend-chip" }, t("data.class_n", { n: k }));
        chip.style.setProperty("--chip", color);
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
    const classification = app.state.run.resolved.task === "classification";
    for (const [name, node] of latestFields) {
      node.parentElement.hidden = name.endsWith("accuracy") && !classification;
      const value = latest[name];
      node.textContent = name.endsWith("accuracy") && value !== null && value !== undefined ? `${(value * 100).toFixed(1)}%` : formatNumber(value);
    }
  }

  new ResizeObserver(() => app.requestDraw(draw)).observe(box);
  app.on("frame", showLatest);
  app.on("run", () => {
    showLatest();
    renderLegend();
  });
  app.on("language", renderLegend);
  app.on("grid", () => (gridChanged = true));
  app.on("run", () => app.requestDraw(draw));
  app.on("frame", () => app.requestDraw(draw));
  app.on("points", () => app.requestDraw(draw));
  app.on("language", () => app.requestDraw(draw));
}
