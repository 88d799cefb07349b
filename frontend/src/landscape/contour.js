// A contour plot on a canvas: filled bands from d3-contour (vendored UMD, window.d3) over a row-major
// grid, on a log-spaced colour scale when the values span orders of magnitude, with axes and a mapping
// between data and pixels for whatever is drawn on top (paths, arrows, markers).
const { contours, interpolateViridis, ticks } = window.d3;

const LEVELS = 24;
const LOG_DECADES = 6; // a log scale shows this many decades above the minimum
const MARGIN = { left: 42, right: 10, top: 8, bottom: 28 };

// grid: {values: rows (row 0 = lowest y) of numbers or null, xRange: [x0, x1], yRange: [y0, y1], log}.
// Returns the flat values the contours are traced on and how a value maps into [0, 1] for colour.
export function colourScale(grid) {
  const flat = grid.values.flat();
  const finite = flat.filter((v) => v !== null && Number.isFinite(v));
  const low = finite.reduce((a, b) => Math.min(a, b), Infinity);
  const high = finite.reduce((a, b) => Math.max(a, b), -Infinity);
  const span = high - low || 1;
  const floor = span * 10 ** -LOG_DECADES;
  const transform = grid.log ? (v) => Math.log10(v - low + floor) : (v) => v;
  const tLow = transform(low);
  const tHigh = transform(high);
  const traced = Float64Array.from(flat, (v) => (v === null || !Number.isFinite(v) ? tHigh : transform(v)));
  const unit = (t) => (tHigh > tLow ? (t - tLow) / (tHigh - tLow) : 0);
  const thresholds = Array.from({ length: LEVELS }, (_, i) => tLow + ((tHigh - tLow) * i) / LEVELS);
  return { traced, thresholds, unit, low, high, transform };
}

export function plotBox(width, height) {
  return { left: MARGIN.left, top: MARGIN.top, width: width - MARGIN.left - MARGIN.right, height: height - MARGIN.top - MARGIN.bottom };
}

// Data ↔ pixel mapping for a box and the grid's ranges (y grows upwards).
export function mapping(box, xRange, yRange) {
  const [x0, x1] = xRange;
  const [y0, y1] = yRange;
  return {
    px: (x) => box.left + ((x - x0) / (x1 - x0)) * box.width,
    py: (y) => box.top + box.height - ((y - y0) / (y1 - y0)) * box.height,
    x: (px) => x0 + ((px - box.left) / box.width) * (x1 - x0),
    y: (py) => y0 + ((box.top + box.height - py) / box.height) * (y1 - y0),
    inside: (px, py) => px >= box.left && px <= box.left + box.width && py >= box.top && py <= box.top + box.height,
  };
}

// Paints the filled contour bands, isolines and axes of `grid` into ctx (CSS pixel coordinates).
export function drawContours(ctx, grid, box, labels = {}) {
  const rows = grid.values.length;
  const cols = grid.values[0].length;
  const scale = colourScale(grid);
  const bands = contours().size([cols, rows]).thresholds(scale.thresholds)(Array.from(scale.traced));
  const map = mapping(box, grid.xRange, grid.yRange);
  // d3-contour puts sample i at grid coordinate i + 0.5; sample 0 is the range's start, cols − 1 its end.
  const gx = (u) => map.px(grid.xRange[0] + ((u - 0.5) / (cols - 1)) * (grid.xRange[1] - grid.xRange[0]));
  const gy = (v) => map.py(grid.yRange[0] + ((v - 0.5) / (rows - 1)) * (grid.yRange[1] - grid.yRange[0]));
  ctx.save();
  ctx.beginPath();
  ctx.rect(box.left, box.top, box.width, box.height);
  ctx.clip();
  for (const band of bands) {
    const path = new Path2D();
    for (const polygon of band.coordinates) {
      for (const ring of polygon) {
        ring.forEach(([u, v], index) => (index ? path.lineTo(gx(u), gy(v)) : path.moveTo(gx(u), gy(v))));
        path.closePath();
      }
    }
    ctx.fillStyle = interpolateViridis(0.05 + 0.95 * scale.unit(band.value));
    ctx.fill(path, "evenodd");
    ctx.strokeStyle = "rgba(255, 255, 255, 0.28)";
    ctx.lineWidth = 0.6;
    ctx.stroke(path);
  }
  ctx.restore();
  drawAxes(ctx, box, map, grid, labels);
  return { map, scale };
}

function drawAxes(ctx, box, map, grid, labels) {
  ctx.save();
  ctx.strokeStyle = "#9aa7b0";
  ctx.strokeRect(box.left, box.top, box.width, box.height);
  ctx.fillStyle = "#5f6f7a";
  ctx.font = "11px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const x of ticks(grid.xRange[0], grid.xRange[1], 5)) ctx.fillText(format(x), map.px(x), box.top + box.height + 3);
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const y of ticks(grid.yRange[0], grid.yRange[1], 5)) ctx.fillText(format(y), box.left - 4, map.py(y));
  if (labels.x) {
    ctx.textAlign = "right";
    ctx.textBaseline = "bottom";
    ctx.fillText(labels.x, box.left + box.width, box.top + box.height + 27);
  }
  if (labels.y) {
    ctx.translate(10, box.top);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    ctx.fillText(labels.y, 0, 0);
  }
  ctx.restore();
}

function format(value) {
  return Number(value.toPrecision(3)).toString();
}

// A horizontal colour bar with its low and high values (and "log scale" when it is one).
export function drawColourBar(canvas, scale, log, caption) {
  const ctx = canvas.getContext("2d");
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  const bar = { left: 4, top: 2, width: width - 8, height: 10 };
  for (let i = 0; i < bar.width; i++) {
    ctx.fillStyle = interpolateViridis(0.05 + (0.95 * i) / bar.width);
    ctx.fillRect(bar.left + i, bar.top, 1.5, bar.height);
  }
  ctx.fillStyle = "#5f6f7a";
  ctx.font = "11px system-ui, sans-serif";
  ctx.textBaseline = "top";
  ctx.textAlign = "left";
  ctx.fillText(format(scale.low), bar.left, bar.top + bar.height + 2);
  ctx.textAlign = "right";
  ctx.fillText(format(scale.high), bar.left + bar.width, bar.top + bar.height + 2);
  ctx.textAlign = "center";
  ctx.fillText(log ? `${caption} (log)` : caption, bar.left + bar.width / 2, bar.top + bar.height + 2);
}

// An arrow from (x, y) along (dx, dy) in pixels.
export function arrow(ctx, x, y, dx, dy, colour, dashed = false) {
  const length = Math.hypot(dx, dy);
  if (!(length > 1)) return;
  const ux = dx / length;
  const uy = dy / length;
  ctx.save();
  ctx.strokeStyle = colour;
  ctx.fillStyle = colour;
  ctx.lineWidth = 2;
  if (dashed) ctx.setLineDash([4, 3]);
  ctx.beginPath();
  ctx.moveTo(x, y);
  ctx.lineTo(x + dx - ux * 5, y + dy - uy * 5);
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.beginPath();
  ctx.moveTo(x + dx, y + dy);
  ctx.lineTo(x + dx - ux * 8 - uy * 4, y + dy - uy * 8 + ux * 4);
  ctx.lineTo(x + dx - ux * 8 + uy * 4, y + dy - uy * 8 - ux * 4);
  ctx.closePath();
  ctx.fill();
  ctx.restore();
}
