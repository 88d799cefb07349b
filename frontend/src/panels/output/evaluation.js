// How well the network fits when there is no plane to colour (or as a second view of regression):
//   a confusion matrix (classes), predictions against targets with the y = x line (regression), and for
//   one input column the fitted curve through the points.
import { t } from "../../i18n/index.js";
import { el, fitCanvas, formatNumber } from "../../dom.js";
import { CLASS_COLORS, confusionColor } from "../../colors.js";

const MARGIN = { left: 44, right: 8, top: 8, bottom: 30 };

// counts[truth][predicted]; names[k]: each class's label (many classes with the default names show
// just their index, so ten columns fit a side panel).
export function renderConfusion(table, counts, names, caption, defaultNames) {
  if (defaultNames && counts.length > 5) names = names.map((_, k) => String(k));
  const header = el("tr", {}, el("th", {}, t("output.true_predicted")), ...names.map((name) => el("th", {}, name)));
  const rows = counts.map((row, truth) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    return el("tr", {}, el("th", {}, names[truth]), ...row.map((count) => {
      const cell = el("td", {}, String(count));
      cell.style.background = confusionColor(count / total);
      cell.style.color = count / total > 0.55 ? "#fff" : "#000";
      return cell;
    }));
  });
  table.classList.toggle("many", counts.length > 5);
  table.replaceChildren(el("caption", {}, caption), el("tbody", {}, header, ...rows));
}

function frame(ctx, width, height, xRange, yRange, labels) {
  const box = { left: MARGIN.left, top: MARGIN.top, width: width - MARGIN.left - MARGIN.right, height: height - MARGIN.top - MARGIN.bottom };
  const px = (x) => box.left + ((x - xRange[0]) / (xRange[1] - xRange[0] || 1)) * box.width;
  const py = (y) => box.top + box.height - ((y - yRange[0]) / (yRange[1] - yRange[0] || 1)) * box.height;
  ctx.clearRect(0, 0, width, height);
  ctx.strokeStyle = "#9aa7b0";
  ctx.strokeRect(box.left, box.top, box.width, box.height);
  ctx.fillStyle = "#546e7a";
  ctx.font = "10px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  ctx.textAlign = "left";
  ctx.fillText(formatNumber(xRange[0]), box.left, box.top + box.height + 2);
  ctx.textAlign = "right";
  ctx.fillText(formatNumber(xRange[1]), box.left + box.width, box.top + box.height + 2);
  ctx.textAlign = "center";
  ctx.fillText(labels.x, box.left + box.width / 2, box.top + box.height + 14);
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  ctx.fillText(formatNumber(yRange[1]), box.left - 3, box.top + 4);
  ctx.fillText(formatNumber(yRange[0]), box.left - 3, box.top + box.height - 4);
  ctx.save();
  ctx.translate(10, box.top + box.height / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = "center";
  ctx.fillText(labels.y, 0, 0);
  ctx.restore();
  return { box, px, py };
}

const range = (values) => {
  const finite = values.filter(Number.isFinite);
  if (!finite.length) return [0, 1];
  const low = Math.min(...finite);
  const high = Math.max(...finite);
  return low === high ? [low - 1, high + 1] : [low, high];
};

// Predicted against true values; a perfect fit lies on the dashed y = x line.
export function drawScatter(canvas, side, targets, predictions) {
  const ctx = fitCanvas(canvas, side, side);
  const [low, high] = range([...targets, ...predictions]);
  const { px, py } = frame(ctx, side, side, [low, high], [low, high], { x: t("output.target"), y: t("output.prediction") });
  ctx.strokeStyle = "#90a4ae";
  ctx.setLineDash([4, 3]);
  ctx.beginPath();
  ctx.moveTo(px(low), py(low));
  ctx.lineTo(px(high), py(high));
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillStyle = CLASS_COLORS[1];
  ctx.globalAlpha = 0.6;
  targets.forEach((target, k) => {
    if (!Number.isFinite(predictions[k])) return;
    ctx.beginPath();
    ctx.arc(px(target), py(predictions[k]), 2.5, 0, 2 * Math.PI);
    ctx.fill();
  });
  ctx.globalAlpha = 1;
}

// One input column: the data points and the network's curve over the column's range.
export function drawCurve(canvas, side, points, curve, names) {
  const ctx = fitCanvas(canvas, side, side);
  const xs = points.map(([x]) => x);
  const ys = [...points.map(([, y]) => y), ...curve.ys];
  const { px, py } = frame(ctx, side, side, range(xs), range(ys), { x: names.x, y: names.y });
  ctx.fillStyle = CLASS_COLORS[0];
  for (const [x, y] of points) {
    ctx.beginPath();
    ctx.arc(px(x), py(y), 2.5, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.strokeStyle = CLASS_COLORS[1];
  ctx.lineWidth = 2;
  ctx.beginPath();
  curve.xs.forEach((x, k) => (k ? ctx.lineTo(px(x), py(curve.ys[k])) : ctx.moveTo(px(x), py(curve.ys[k]))));
  ctx.stroke();
  ctx.lineWidth = 1;
}
