// A small decision-boundary picture from a run's WebSocket grid, with the training points on top.
import { fitCanvas } from "../dom.js";
import { CLASS_COLORS } from "../colors.js";
import { decodeBytes, paintClasses, paintProbability, paintSigned } from "../grid.js";

export function drawBoundary(canvas, size, grid, resolved, points) {
  const ctx = fitCanvas(canvas, size, size);
  ctx.clearRect(0, 0, size, size);
  if (!grid) return;
  const n = grid.resolution;
  const image = new ImageData(n, n);
  const bytes = decodeBytes(grid.output.data);
  if (grid.classes) paintClasses(image, n, grid.output, bytes, decodeBytes(grid.classes), resolved.num_classes, false);
  else if (resolved.task === "classification") paintProbability(image, n, grid.output, bytes, false);
  else paintSigned(image, n, grid.output, bytes);
  const cells = new OffscreenCanvas(n, n);
  cells.getContext("2d").putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(cells, 0, 0, size, size);
  if (!points || resolved.task !== "classification") return;
  const [x1, x2, y1, y2] = grid.extent;
  const { X, y } = points.train;
  for (let i = 0; i < X.length; i++) {
    ctx.beginPath();
    ctx.arc(((X[i][0] - x1) / (x2 - x1)) * size, size - ((X[i][1] - y1) / (y2 - y1)) * size, 1.8, 0, 2 * Math.PI);
    ctx.fillStyle = CLASS_COLORS[y[i] % CLASS_COLORS.length];
    ctx.fill();
    ctx.strokeStyle = "#ffffff";
    ctx.lineWidth = 0.5;
    ctx.stroke();
  }
}
