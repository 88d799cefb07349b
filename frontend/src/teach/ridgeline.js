// TensorBoard-style histograms over time on a canvas: one filled curve per recorded step, oldest at the back
// (top), newest at the front (bottom), all on the same value axis so drift and spread are visible.
import { fitCanvas } from "../dom.js";

const OVERLAP = 2.2; // a ridge may rise this many rows above its baseline
const MARGIN = { left: 34, right: 8, top: 8, bottom: 22 };
const compact = (value) => (value === 0 ? "0" : Math.abs(value) < 0.01 ? value.toExponential(1) : String(Number(value.toPrecision(2))));

// histograms: [{step, edges: [bins+1], counts: [bins]}]
export function drawRidgeline(canvas, width, height, histograms, color) {
  const ctx = fitCanvas(canvas, width, height);
  ctx.clearRect(0, 0, width, height);
  const rows = histograms.filter((item) => item.edges.length > 1);
  if (!rows.length) return;
  const low = Math.min(...rows.map((item) => item.edges[0]));
  const high = Math.max(...rows.map((item) => item.edges[item.edges.length - 1]));
  const span = high > low ? high - low : 1;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;
  const rowH = plotH / (rows.length + OVERLAP);
  const x = (value) => MARGIN.left + ((value - low) / span) * plotW;
  ctx.font = "10px system-ui, sans-serif";
  rows.forEach((item, k) => {
    const base = MARGIN.top + (k + OVERLAP + 1) * rowH;
    const peak = Math.max(...item.counts, 1);
    const shade = 0.35 + 0.65 * (rows.length > 1 ? k / (rows.length - 1) : 1);
    ctx.beginPath();
    ctx.moveTo(x(item.edges[0]), base);
    item.counts.forEach((count, b) => {
      const centre = (item.edges[b] + item.edges[b + 1]) / 2;
      ctx.lineTo(x(centre), base - (count / peak) * rowH * OVERLAP);
    });
    ctx.lineTo(x(item.edges[item.edges.length - 1]), base);
    ctx.closePath();
    ctx.globalAlpha = 1;
    ctx.fillStyle = "#ffffff";
    ctx.fill();
    ctx.globalAlpha = shade;
    ctx.fillStyle = color;
    ctx.fill();
    ctx.globalAlpha = 1;
    ctx.strokeStyle = "#37474f";
    ctx.lineWidth = 0.6;
    ctx.stroke();
    if (k === 0 || k === rows.length - 1 || k % Math.ceil(rows.length / 6) === 0) {
      ctx.fillStyle = "#5f6f7a";
      ctx.textAlign = "right";
      ctx.fillText(String(item.step), MARGIN.left - 4, base);
    }
  });
  ctx.fillStyle = "#5f6f7a";
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
