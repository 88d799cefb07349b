// A chart as a PNG file with its title above and its legend below (colour swatch and name per series),
// so an exported picture says what it shows.
import { saveBlob } from "../dom.js";

const PAD = 10;
const TITLE_PX = 16;
const LEGEND_PX = 13;

export function chartPng(chart, title, filename) {
  const source = chart.ctx.canvas;
  const ratio = source.width / chart.width || 1;
  const series = chart.series.slice(1).filter((item) => item.show !== false && item.label);
  const font = (px, weight = "") => `${weight} ${Math.round(px * ratio)}px system-ui, sans-serif`;
  const measure = document.createElement("canvas").getContext("2d");
  measure.font = font(LEGEND_PX);
  const width = source.width;
  // Legend entries flow in rows across the width.
  const rows = [[]];
  let x = PAD * ratio;
  for (const item of series) {
    const entry = (24 + 12) * ratio + measure.measureText(item.label).width;
    if (x + entry > width - PAD * ratio && rows.at(-1).length) {
      rows.push([]);
      x = PAD * ratio;
    }
    rows.at(-1).push({ item, x });
    x += entry;
  }
  const titleHeight = (TITLE_PX + 2 * PAD) * ratio;
  const legendHeight = rows.length * (LEGEND_PX + 8) * ratio + PAD * ratio;
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = titleHeight + source.height + legendHeight;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = "#1f2a33";
  ctx.font = font(TITLE_PX, "600");
  ctx.textBaseline = "middle";
  ctx.fillText(title, PAD * ratio, titleHeight / 2);
  ctx.drawImage(source, 0, titleHeight);
  ctx.font = font(LEGEND_PX);
  rows.forEach((row, r) => {
    const y = titleHeight + source.height + (r + 0.5) * (LEGEND_PX + 8) * ratio + (PAD * ratio) / 2;
    for (const { item, x: left } of row) {
      ctx.strokeStyle = typeof item.stroke === "function" ? item.stroke(chart, 1) : item.stroke;
      ctx.lineWidth = 3 * ratio;
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(left + 24 * ratio, y);
      ctx.stroke();
      ctx.fillStyle = "#1f2a33";
      ctx.fillText(item.label, left + 30 * ratio, y);
    }
  });
  canvas.toBlob((blob) => saveBlob(blob, filename), "image/png");
  return canvas;
}
