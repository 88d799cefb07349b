// Painting plane grids (forward.js's planeGrids) into RGBA pixels. A grid is row-major with row 0 at the
// lowest x2, so it is painted bottom-up: the image's top row is the highest x2.
import { DIVERGING_LUT, classRgb } from "./colors.js";

const NAN_GREY = 200;

// The largest finite |value| (at least 1e-9): the half-range of a signed colour scale centred on 0.
export function halfRange(values) {
  let max = 1e-9;
  for (const value of values) if (Number.isFinite(value)) max = Math.max(max, Math.abs(value));
  return max;
}

export function finiteRange(values) {
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    if (!Number.isFinite(value)) continue;
    min = Math.min(min, value);
    max = Math.max(max, value);
  }
  return min <= max ? { min, max } : { min: 0, max: 0 };
}

// Each cell's colour from the diverging LUT at unit = offset + value·slope (clamped to [0, 1]; NaN grey).
// NOTE: no callback per pixel: a 120-neuron atlas is ~10^5 pixels per grid, painted several times a second.
function paintWith(image, resolution, values, offset, slope, x = 0, y = 0, discrete = false) {
  const pixels = image.data;
  const stride = image.width || resolution;
  for (let row = 0; row < resolution; row++) {
    const target = (y + resolution - 1 - row) * stride + x;
    for (let col = 0; col < resolution; col++) {
      const pixel = (target + col) * 4;
      const unit = offset + values[row * resolution + col] * slope;
      if (unit !== unit) {
        pixels[pixel] = pixels[pixel + 1] = pixels[pixel + 2] = NAN_GREY;
      } else {
        const clamped = unit < 0 ? 0 : unit > 1 ? 1 : unit;
        const lut = 4 * (discrete ? (clamped >= 0.5 ? 200 : 55) : Math.round(255 * clamped));
        pixels[pixel] = DIVERGING_LUT[lut];
        pixels[pixel + 1] = DIVERGING_LUT[lut + 1];
        pixels[pixel + 2] = DIVERGING_LUT[lut + 2];
      }
      pixels[pixel + 3] = 255;
    }
  }
}

// Values around zero (neuron outputs, regression outputs): orange negative, blue positive. `x`, `y`: where
// the grid's top-left corner goes when `image` is wider (an atlas of several grids).
export function paintSigned(image, resolution, values, x = 0, y = 0, half = halfRange(values)) {
  paintWith(image, resolution, values, 0.5, 1 / (2 * half), x, y);
}

// A binary classifier's probability of class 1; `discrete` shows only which side of 0.5 a cell is on.
export function paintProbability(image, resolution, values, discrete) {
  paintWith(image, resolution, values, 0, 1, 0, 0, discrete);
}

// Several classes: the predicted class's colour, paler where the network is less sure.
export function paintClasses(image, resolution, probability, classes, numClasses, discrete) {
  const chance = 1 / numClasses;
  const pixels = image.data;
  for (let row = 0; row < resolution; row++) {
    const target = (resolution - 1 - row) * resolution;
    for (let col = 0; col < resolution; col++) {
      const cell = row * resolution + col;
      const [r, g, b] = classRgb(classes[cell]);
      const confidence = (probability[cell] - chance) / (1 - chance);
      const strength = discrete ? 0.55 : 0.15 + 0.7 * Math.min(1, Math.max(0, confidence || 0));
      const offset = (target + col) * 4;
      pixels[offset] = 255 + (r - 255) * strength;
      pixels[offset + 1] = 255 + (g - 255) * strength;
      pixels[offset + 2] = 255 + (b - 255) * strength;
      pixels[offset + 3] = 255;
    }
  }
}

// The output grid of `grids` (planeGrids) painted as the task asks, into a resolution² ImageData.
export function paintOutput(image, grids, task, numClasses, discrete) {
  const n = grids.resolution;
  if (task !== "classification") paintSigned(image, n, grids.output);
  else if (grids.classes) paintClasses(image, n, grids.output, grids.classes, numClasses, discrete);
  else paintProbability(image, n, grids.output, discrete);
}
