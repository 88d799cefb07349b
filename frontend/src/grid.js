// Grids from the server (decision boundary, neuron outputs): base64 uint8 cells, row 0 at the lowest x2.
// A byte q stands for min + q/255·(max − min). These helpers paint a grid into RGBA pixels, top row first.
import { DIVERGING_LUT, classRgb } from "./colors.js";

export function decodeBytes(base64) {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function cellValue(grid, q) {
  return grid.min + (q / 255) * (grid.max - grid.min);
}

// Lookup from byte to colour index for a value that is centred on `centre` and spans ±halfRange.
function byteToLut(grid, centre, halfRange) {
  const map = new Uint8Array(256);
  for (let q = 0; q < 256; q++) {
    const t = 0.5 + (cellValue(grid, q) - centre) / (2 * halfRange);
    map[q] = Math.round(255 * Math.min(1, Math.max(0, t)));
  }
  return map;
}

// Values around zero (neuron outputs, regression outputs): orange negative, blue positive. `x`, `y`: where
// the grid's top-left corner goes when `image` is wider (an atlas of several grids).
export function paintSigned(image, resolution, grid, bytes, x = 0, y = 0) {
  const halfRange = Math.max(Math.abs(grid.min), Math.abs(grid.max), 1e-9);
  paintWith(image, resolution, bytes, byteToLut(grid, 0, halfRange), x, y);
}

// A binary classifier's probability of class 1; `discrete` shows only which side of 0.5 a cell is on.
export function paintProbability(image, resolution, grid, bytes, discrete) {
  const map = byteToLut(grid, 0.5, 0.5);
  if (discrete) for (let q = 0; q < 256; q++) map[q] = map[q] >= 128 ? 200 : 55;
  paintWith(image, resolution, bytes, map);
}

// Several classes: the predicted class's colour, paler where the network is less sure.
export function paintClasses(image, resolution, grid, probabilityBytes, classBytes, numClasses, discrete) {
  const chance = 1 / numClasses;
  const pixels = image.data;
  for (let row = 0; row < resolution; row++) {
    const target = (resolution - 1 - row) * resolution;
    for (let col = 0; col < resolution; col++) {
      const cell = row * resolution + col;
      const [r, g, b] = classRgb(classBytes[cell]);
      const confidence = (cellValue(grid, probabilityBytes[cell]) - chance) / (1 - chance);
      const strength = discrete ? 0.55 : 0.15 + 0.7 * Math.min(1, Math.max(0, confidence));
      const offset = (target + col) * 4;
      pixels[offset] = 255 + (r - 255) * strength;
      pixels[offset + 1] = 255 + (g - 255) * strength;
      pixels[offset + 2] = 255 + (b - 255) * strength;
      pixels[offset + 3] = 255;
    }
  }
}

function paintWith(image, resolution, bytes, map, x = 0, y = 0) {
  const pixels = image.data;
  const stride = image.width || resolution;
  for (let row = 0; row < resolution; row++) {
    const target = (y + resolution - 1 - row) * stride + x;
    for (let col = 0; col < resolution; col++) {
      const lut = map[bytes[row * resolution + col]] * 4;
      const offset = (target + col) * 4;
      pixels[offset] = DIVERGING_LUT[lut];
      pixels[offset + 1] = DIVERGING_LUT[lut + 1];
      pixels[offset + 2] = DIVERGING_LUT[lut + 2];
      pixels[offset + 3] = 255;
    }
  }
}
