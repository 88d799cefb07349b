// The output over the input plane: the decision boundary (class colours, paler where the network is
// unsure, optionally discretised) or the fitted regression surface, with the train and test points on
// top, axes named after the data's columns, and a click or tap that reports where it landed.
import { fitCanvas } from "../../dom.js";
import { CLASS_COLORS, divergingColor } from "../../colors.js";
import { paintOutput } from "../../grid.js";

export const POINT_RADIUS = 3.2;
const AXIS_ROOM = 18;
const BACKGROUND_ALPHA = 0.6;

export function createPlane(canvas) {
  const image = { canvas: document.createElement("canvas"), resolution: 0, data: null };
  let plot = null; // {left, top, size, extent}

  function paint(grids, resolved, discrete) {
    const n = grids.resolution;
    if (image.resolution !== n) {
      image.canvas.width = image.canvas.height = n;
      image.resolution = n;
      image.data = image.canvas.getContext("2d").createImageData(n, n);
    }
    paintOutput(image.data, grids, resolved.task, resolved.num_classes, discrete);
    image.canvas.getContext("2d").putImageData(image.data, 0, 0);
  }

  // side: the square's size in px; grids: the browser's planeGrids (or null before the first);
  // points: the server's {train, test, added} (the last `added` training points were added by hand and
  // are ringed); names: the two input columns' names.
  function draw({ side, extent, grids, gridsChanged, resolved, points, showTest, discrete, names, scale = 1 }) {
    const ctx = fitCanvas(canvas, side, side);
    plot = { left: AXIS_ROOM, top: 2, size: side - AXIS_ROOM - 2, extent };
    ctx.clearRect(0, 0, side, side);
    if (grids && gridsChanged) paint(grids, resolved, discrete);
    ctx.fillStyle = grids ? "#fff" : "#f5f5f5";
    ctx.fillRect(plot.left, plot.top, plot.size, plot.size);
    if (grids) {
      // Paler than the points so they stay visible on their own class's colour.
      ctx.globalAlpha = BACKGROUND_ALPHA;
      ctx.imageSmoothingEnabled = !discrete;
      ctx.drawImage(image.canvas, plot.left, plot.top, plot.size, plot.size);
      ctx.globalAlpha = 1;
    }
    if (points) drawPoints(ctx, points, resolved.task === "classification", showTest);
    drawAxes(ctx, side, names, scale);
  }

  function toPixel(x1, x2) {
    const [x1min, x1max, x2min, x2max] = plot.extent;
    return [plot.left + ((x1 - x1min) / (x1max - x1min)) * plot.size, plot.top + (1 - (x2 - x2min) / (x2max - x2min)) * plot.size];
  }

  function drawPoints(ctx, points, classification, showTest) {
    const all = [...points.train.y, ...points.test.y];
    const scale = Math.max(1e-9, ...all.map((y) => Math.abs(y ?? 0)));
    const drawSet = (set, stroke, radius = POINT_RADIUS) => {
      ctx.strokeStyle = stroke;
      set.X.forEach((x, k) => {
        const y = set.y[k];
        const [px, py] = toPixel(x[0], x[1]);
        ctx.beginPath();
        ctx.arc(px, py, radius, 0, 2 * Math.PI);
        ctx.fillStyle = classification ? CLASS_COLORS[y % CLASS_COLORS.length] : divergingColor(0.5 + y / (2 * scale));
        ctx.fill();
        ctx.stroke();
      });
    };
    const generated = points.train.X.length - (points.added || 0);
    const part = (from, to) => ({ X: points.train.X.slice(from, to), y: points.train.y.slice(from, to) });
    ctx.lineWidth = 1;
    drawSet(part(0, generated), "#ffffff");
    if (showTest) drawSet(points.test, "#000000");
    if (points.added) {
      ctx.lineWidth = 2;
      drawSet(part(generated), "#000000", POINT_RADIUS + 1);
      ctx.lineWidth = 1;
    }
  }

  function drawAxes(ctx, side, [xName, yName], scale) {
    const [x1min, x1max, x2min, x2max] = plot.extent;
    ctx.fillStyle = "#546e7a";
    ctx.font = `${Math.round(10 * scale)}px system-ui, sans-serif`;
    ctx.textBaseline = "top";
    ctx.textAlign = "left";
    ctx.fillText(String(Number(x1min.toFixed(1))), plot.left, plot.top + plot.size + 2);
    ctx.textAlign = "right";
    ctx.fillText(String(Number(x1max.toFixed(1))), plot.left + plot.size, plot.top + plot.size + 2);
    ctx.textAlign = "center";
    ctx.fillText(xName, plot.left + plot.size / 2, plot.top + plot.size + 2);
    ctx.save();
    ctx.translate(2, plot.top + plot.size / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(yName, 0, 0);
    ctx.restore();
    ctx.textAlign = "left";
    ctx.fillText(String(Number(x2max.toFixed(1))), 1, plot.top);
    ctx.fillText(String(Number(x2min.toFixed(1))), 1, side - AXIS_ROOM - 10);
  }

  // The data coordinates of a pointer event on the canvas, and a pick radius in data units.
  function locate(event) {
    if (!plot) return null;
    const rect = canvas.getBoundingClientRect();
    const [x1min, x1max, x2min, x2max] = plot.extent;
    const x1 = x1min + ((event.clientX - rect.left - plot.left) / plot.size) * (x1max - x1min);
    const x2 = x2max - ((event.clientY - rect.top - plot.top) / plot.size) * (x2max - x2min);
    const touch = event.pointerType === "touch";
    return { x1, x2, radius: ((touch ? 4 : 2) * POINT_RADIUS * (x1max - x1min)) / plot.size };
  }

  return { draw, locate };
}
