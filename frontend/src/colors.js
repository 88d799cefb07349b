// Colour maps. Orange means negative / class 0, blue means positive / class 1 (TensorFlow Playground's
// convention, so its users read our pictures at once); further classes take distinct hues.
// d3-color, d3-interpolate and d3-scale-chromatic are vendored UMD builds loaded by index.html (window.d3).
const { interpolateRgbBasis, interpolateBlues, interpolatePiYG, interpolateViridis, rgb } = window.d3;

export const NEGATIVE = "#f59322";
export const POSITIVE = "#0877bd";
export const CLASS_COLORS = [NEGATIVE, POSITIVE, "#d62728", "#2ca02c", "#9467bd", "#c9a400", "#17becf", "#8c564b", "#e377c2", "#7f7f7f"];

const diverging = interpolateRgbBasis([NEGATIVE, "#e8eaeb", POSITIVE]);

function lookupTable(interpolate) {
  const table = new Uint8ClampedArray(256 * 4);
  for (let i = 0; i < 256; i++) {
    const color = rgb(interpolate(i / 255));
    table.set([color.r, color.g, color.b, 255], i * 4);
  }
  return table;
}

// 256 RGBA entries from orange (0) through light grey (0.5) to blue (1).
export const DIVERGING_LUT = lookupTable(diverging);

export function divergingColor(t) {
  return diverging(Math.min(1, Math.max(0, t)));
}

// Edges in gradient view: pink for negative gradients, green for positive ones.
export function gradientColor(t) {
  return interpolatePiYG(Math.min(1, Math.max(0, t)));
}

export function layerColor(index, count) {
  return interpolateViridis(count <= 1 ? 0.2 : (index / (count - 1)) * 0.85);
}

export function confusionColor(share) {
  return interpolateBlues(0.08 + 0.8 * share);
}

const CLASS_RGB = CLASS_COLORS.map((hex) => {
  const color = rgb(hex);
  return [color.r, color.g, color.b];
});

export function classRgb(index) {
  return CLASS_RGB[index % CLASS_RGB.length];
}
