// The 1-D view: L(θ − α·g) against α, with the current learning rate marked (where plain gradient descent
// would land) and the best sampled α. Past the valley the curve climbs: that is a too-large step overshooting.
import { fitCanvas, formatNumber } from "../dom.js";
import { tickLabels } from "../charts/safe.js";
import { t } from "../i18n/index.js";
import { mapping } from "./contour.js";

const { ticks } = window.d3;
const MARGIN = { right: 12, top: 10, bottom: 30 };

export function drawLine(canvas, line) {
  const width = canvas.parentElement.clientWidth;
  const height = Math.max(150, Math.round(width * 0.36));
  const ctx = fitCanvas(canvas, width, height);
  ctx.clearRect(0, 0, width, height);
  const finite = line.values.filter((v) => v !== null);
  if (!finite.length) return;
  const low = Math.min(...finite);
  const high = Math.max(...finite);
  const pad = (high - low) * 0.06 || Math.abs(high) * 0.06 || 1;
  const xRange = [line.alphas[0], line.alphas[line.alphas.length - 1]];
  const yRange = [low - pad, high + pad];
  ctx.font = "11px system-ui, sans-serif";
  const yTicks = ticks(...yRange, 4);
  const yLabels = tickLabels(yTicks); // enough digits to tell the ticks of a nearly flat line apart
  const left = 8 + Math.max(...yLabels.map((label) => ctx.measureText(label).width));
  const box = { left, top: MARGIN.top, width: width - left - MARGIN.right, height: height - MARGIN.top - MARGIN.bottom };
  const map = mapping(box, xRange, yRange);

  ctx.strokeStyle = "#9aa7b0";
  ctx.strokeRect(box.left, box.top, box.width, box.height);
  ctx.fillStyle = "#5f6f7a";
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const xTicks = ticks(...xRange, 5);
  tickLabels(xTicks).forEach((label, k) => ctx.fillText(label, map.px(xTicks[k]), box.top + box.height + 3));
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  yLabels.forEach((label, k) => ctx.fillText(label, box.left - 4, map.py(yTicks[k])));
  ctx.textBaseline = "bottom";
  ctx.fillText(t("ls.line_axis"), box.left + box.width, height);

  ctx.strokeStyle = "#0877bd";
  ctx.lineWidth = 2;
  ctx.beginPath();
  let drawing = false;
  line.alphas.forEach((alpha, i) => {
    const value = line.values[i];
    if (value === null) {
      drawing = false;
      return;
    }
    if (drawing) ctx.lineTo(map.px(alpha), map.py(value));
    else ctx.moveTo(map.px(alpha), map.py(value));
    drawing = true;
  });
  ctx.stroke();

  if (line.best_alpha !== null) marker(ctx, map, box, line.best_alpha, "#2ca02c", t("ls.best_alpha", { alpha: formatNumber(line.best_alpha) }), 0);
  if (line.loss_at_lr !== null) {
    marker(ctx, map, box, line.lr, "#d62728", t("ls.lr_mark", { lr: formatNumber(line.lr) }), 14);
    ctx.fillStyle = "#d62728";
    ctx.beginPath();
    ctx.arc(map.px(line.lr), map.py(line.loss_at_lr), 4, 0, 2 * Math.PI);
    ctx.fill();
  }
}

function marker(ctx, map, box, alpha, colour, label, offset) {
  const x = map.px(alpha);
  ctx.save();
  ctx.strokeStyle = colour;
  ctx.setLineDash([4, 3]);
  ctx.beginPath();
  ctx.moveTo(x, box.top);
  ctx.lineTo(x, box.top + box.height);
  ctx.stroke();
  ctx.fillStyle = colour;
  ctx.textBaseline = "top";
  ctx.textAlign = x > box.left + box.width * 0.7 ? "right" : "left";
  ctx.fillText(label, x + (ctx.textAlign === "left" ? 4 : -4), box.top + 2 + offset);
  ctx.restore();
}
