// A loss sparkline: a run's training loss over its steps (smoothed as the dashboard's curves are, at most
// MAX_POINTS buckets whatever the history's length), on a log axis when the loss spans a decade or more,
// with the latest test loss as a dot. `axes` adds the step range and loss range in `fontPx` type (the
// spotlight's larger chart: core/page.js chartFontPx, larger in projector mode). Each sparkline keeps its
// running average, so a redraw smooths only the rows that arrived since the last one.
import { fitCanvas, formatNumber } from "../dom.js";
import { bucketEnds, sampleColumn } from "../history.js";
import { RunningEma } from "../smoothing.js";

const MAX_POINTS = 120;
const SMOOTHING = 0.8;
const TRAIN = "#0877bd";
const TEST = "#e65100";

export function createSparkline() {
  let ema = null;
  let generation = -1;
  return (canvas, history, width, height, options) => {
    if (history.generation !== generation) {
      ema = new RunningEma(SMOOTHING);
      generation = history.generation;
    }
    draw(canvas, history, ema, width, height, options);
  };
}

// No losses yet (step 0): a dashed line where the curve will be, so the card does not look broken.
function placeholder(ctx, width, height) {
  ctx.strokeStyle = "#cfd8dc";
  ctx.setLineDash([4, 4]);
  ctx.beginPath();
  ctx.moveTo(2, height / 2);
  ctx.lineTo(width - 2, height / 2);
  ctx.stroke();
  ctx.setLineDash([]);
}

function lastPositive(values) {
  for (let i = values.length - 1; i >= 0; i--) if (Number.isFinite(values[i]) && values[i] > 0) return values[i];
  return undefined;
}

// Room around the plot for axes in `fontPx` type (the context keeps that font for the labels): the loss
// labels left of it, the step labels under it, and half a label above its top one.
function axesPadding(ctx, fontPx, yLabels) {
  ctx.font = `${fontPx}px system-ui, sans-serif`;
  const widest = Math.max(...yLabels.map((text) => ctx.measureText(text).width));
  return { left: Math.ceil(widest) + 8, right: 8, top: Math.ceil(fontPx / 2) + 2, bottom: fontPx + 8 };
}

function draw(canvas, history, ema, width, height, { axes = false, fontPx = 12 } = {}) {
  const ctx = fitCanvas(canvas, width, height);
  ctx.clearRect(0, 0, width, height);
  const n = history.length;
  if (n < 2) return placeholder(ctx, width, height);
  const { ends, stride } = bucketEnds(n, MAX_POINTS);
  const steps = sampleColumn(history.column("step"), ends, stride);
  const losses = sampleColumn(ema.update(history.column("train_loss")), ends, stride);
  const points = [];
  for (let k = 0; k < steps.length; k++) if (Number.isFinite(losses[k]) && losses[k] > 0) points.push([steps[k], losses[k]]);
  if (points.length < 2) return placeholder(ctx, width, height);
  const low = Math.min(...points.map((point) => point[1]));
  const high = Math.max(...points.map((point) => point[1]));
  const log = high / low >= 10;
  const scale = (v) => (log ? Math.log10(v) : v);
  const [y0, y1] = [scale(low), scale(high) === scale(low) ? scale(low) + 1 : scale(high)];
  const yLabels = [formatNumber(high), formatNumber(low)];
  const pad = axes ? axesPadding(ctx, fontPx, yLabels) : { left: 2, right: 2, top: 3, bottom: 3 };
  const [x0, x1] = [points[0][0], points[points.length - 1][0]];
  const px = (step) => pad.left + ((step - x0) / Math.max(1, x1 - x0)) * (width - pad.left - pad.right);
  const py = (v) => height - pad.bottom - ((scale(v) - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);
  ctx.strokeStyle = TRAIN;
  ctx.lineWidth = axes ? 2 : 1.5;
  ctx.beginPath();
  points.forEach(([step, loss], k) => (k ? ctx.lineTo(px(step), py(loss)) : ctx.moveTo(px(step), py(loss))));
  ctx.stroke();
  const lastTest = lastPositive(history.column("test_loss"));
  if (lastTest !== undefined) {
    ctx.fillStyle = TEST;
    ctx.beginPath();
    ctx.arc(px(x1), py(Math.min(high, Math.max(low, lastTest))), axes ? 4 : 2.5, 0, 2 * Math.PI);
    ctx.fill();
  }
  if (!axes) return;
  ctx.fillStyle = "#5f6f7a";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  ctx.fillText(yLabels[0], pad.left - 4, py(high));
  ctx.fillText(yLabels[1], pad.left - 4, py(low));
  ctx.textBaseline = "top";
  ctx.textAlign = "left";
  ctx.fillText(String(x0), pad.left, height - pad.bottom + 4);
  ctx.textAlign = "right";
  ctx.fillText(String(x1), width - pad.right, height - pad.bottom + 4);
}
