// Decision-boundary pictures for the Learn page's racers and the class page's gallery and spotlight,
// computed in the browser from each run's streamed params with the dashboard's forward pass
// (model/forward.js, one worker for every card), with the training points on top.
import { fitCanvas } from "../dom.js";
import { CLASS_COLORS } from "../colors.js";
import { paintOutput } from "../grid.js";
import { prepareLayers } from "../model/forward.js";
import { createGridComputer, gridResolution } from "../model/grids.js";

const MAX_RESOLUTION = 32;

export function createBoundaries() {
  const computer = createGridComputer();

  function paint(canvas, size, grids, resolved, points) {
    const ctx = fitCanvas(canvas, size, size);
    ctx.clearRect(0, 0, size, size);
    const n = grids.resolution;
    const image = new ImageData(n, n);
    paintOutput(image, grids, resolved.task, resolved.num_classes, false);
    const cells = new OffscreenCanvas(n, n);
    cells.getContext("2d").putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(cells, 0, 0, size, size);
    if (!points || resolved.task !== "classification") return;
    const [x1, x2, y1, y2] = grids.extent;
    const { X, y } = points.train;
    const radius = Math.max(1.8, size / 160); // a full-screen picture (the class spotlight) gets larger dots
    for (let i = 0; i < X.length; i++) {
      ctx.beginPath();
      ctx.arc(((X[i][0] - x1) / (x2 - x1)) * size, size - ((X[i][1] - y1) / (y2 - y1)) * size, radius, 0, 2 * Math.PI);
      ctx.fillStyle = CLASS_COLORS[y[i] % CLASS_COLORS.length];
      ctx.fill();
      ctx.strokeStyle = "#ffffff";
      ctx.lineWidth = 0.5;
      ctx.stroke();
    }
  }

  // Computes the boundary of `params` (latest wins per key) and paints it when it arrives.
  function draw(key, canvas, size, params, resolved, points) {
    if (!params || !resolved.extent || (resolved.raw_input_size ?? resolved.input_size) !== 2) return;
    const layers = prepareLayers(params);
    const job = { layers, features: resolved.input_names, extent: resolved.extent, resolution: gridResolution(layers, MAX_RESOLUTION), task: resolved.task };
    computer.request(key, job).then((grids) => grids && paint(canvas, size, grids, resolved, points));
  }

  return { draw };
}
