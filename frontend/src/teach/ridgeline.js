// TensorBoard-style histograms over time on a canvas: one filled curve per recorded step, oldest at the back
// (top), newest at the front (bottom), all on the same value axis so drift and spread are visible. Each
// ridge stays in its own band: from its baseline up to OVERLAP rows above it, never below its baseline.
import { fitCanvas } from "../dom.js";

const OVERLAP = 2.2; // a ridge may rise this many rows above its baseline
const MARGIN = { left: 34, right: 8, top: 8, bottom: 22 };
const SPIKE = 2; // half-width in px of the bar drawn for a histogram whose values are all equal
const compact = (value) => (value === 0 ? "0" : Math.abs(value) < 0.01 ? value.toExponential(1) : String(Number(value.toPrecision(2))));

// A histogram that can be drawn: finite, increasing edges, one more than its non-negative counts.
function drawable({ edges, counts }) {
  return (
    Array.isArray(edges) && Array.isArray(counts) && edges.length > 1 && edges.length === counts.length + 1 &&
    edges.every((edge, i) => Number.isFinite(edge) && (i === 0 || edge > edges[i - 1])) &&
    counts.every((count) => Number.isFinite(count) && count >= 0)
  );
}

// The values a histogram holds: a single bin means they are all equal (numpy pads constant data by ±0.5),
// a point that must not widen the value axis; otherwise its edges' range.
function extent({ edges }) {
  if (edges.length === 2) {
    const value = edges[0] / 2 + edges[1] / 2;
    return [value, value];
  }
  return [edges[0], edges[edges.length - 1]];
}

// histograms: [{step, edges: [bins+1], counts: [bins]}]
export function drawRidgeline(canvas, width, height, histograms, color) {
  const ctx = fitCanvas(canvas, width, height);
  ctx.clearRect(0, 0, width, height);
  const rows = histograms.filter(drawable);
  if (!rows.length) return;
  let low = Math.min(...rows.map((item) => extent(item)[0]));
  let high = Math.max(...rows.map((item) => extent(item)[1]));
  if (!(high > low)) [low, high] = [low - Math.max(Math.abs(low) / 2, 0.5), high + Math.max(Math.abs(high) / 2, 0.5)];
  const half = high / 2 - low / 2; // halves: finite even when high − low overflows
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const rowH = plotH / (rows.length + OVERLAP);
  const ridgeH = rowH * OVERLAP;
  const x = (value) => MARGIN.left + ((value / 2 - low / 2) / half) * plotW;
  ctx.font = "10px system-ui, sans-serif";
  rows.forEach((item, k) => {
    const base = MARGIN.top + (k + OVERLAP + 1) * rowH;
    const [from, to] = extent(item);
    ctx.beginPath();
    if (from === to) {
      ctx.rect(x(from) - SPIKE, base - ridgeH, 2 * SPIKE, ridgeH);
    } else {
      const peak = Math.max(...item.counts) || 1;
      ctx.moveTo(x(item.edges[0]), base);
      item.counts.forEach((count, b) => ctx.lineTo(x(item.edges[b] / 2 + item.edges[b + 1] / 2), base - (count / peak) * ridgeH));
      ctx.lineTo(x(item.edges[item.edges.length - 1]), base);
    }
    ctx.closePath();
    ctx.fillStyle = "#ffffff";
    ctx.fill();
    ctx.globalAlpha = 0.35 + 0.65 * (rows.length > 1 ? k / (rows.length - 1) : 1);
    ctx.fillStyle = color;
    ctx.fill();
    ctx.globalAlpha = 1;
    ctx.strokeStyle = "#37474f";
    ctx.lineWidth = 0.6;
    ctx.stroke();
    ctx.fillStyle = "#5f6f7a";
    if (from === to) {
      ctx.textAlign = x(from) > MARGIN.left + plotW / 2 ? "right" : "left";
      ctx.fillText(`= ${compact(from)}`, x(from) + (ctx.textAlign === "left" ? 4 : -4), base - 2);
    }
    if (k === 0 || k === rows.length - 1 || k % Math.ceil(rows.length / 6) === 0) {
      ctx.textAlign = "right";
      ctx.fillText(String(item.step), MARGIN.left - 4, base);
    }
  });
  ctx.strokeStyle = "#b0bec5";
  ctx.beginPath();
  ctx.moveTo(MARGIN.left, height - MARGIN.bottom + 2);
  ctx.lineTo(width - MARGIN.right, height - MARGIN.bottom + 2);
  ctx.stroke();
  [low, high].forEach((value, i) => {
    ctx.textAlign = i ? "right" : "left";
    ctx.fillText(compact(value), x(value), height - 6);
  });
}
