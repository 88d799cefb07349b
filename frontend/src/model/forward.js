// The network's forward pass in the browser: the one place the frontend states the engine's formulas
// (backend/backproplab/engine/activations.py, features.py, network.py), so the decision boundary and every
// neuron's heatmap are computed here from the streamed weights, as TensorFlow Playground does.
//   Features: the raw point (x1, x2) → the run's feature columns, in config order.
//   Layers:   a_out = act(a_in @ W + b), W of shape (fan_in, fan_out), softmax row by row.
// tests/e2e/test_forward.py holds these to the engine's Network within 1e-9.
import { erf, erfc } from "./erf.js";

const SQRT_HALF = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_CUBIC = 0.044715;
const LEAKY_RELU_SLOPE = 0.01;

// Each feature of the raw point, as engine/features.py.
export const FEATURES = {
  x1: (x1) => x1,
  x2: (x1, x2) => x2,
  "x1^2": (x1) => x1 * x1,
  "x2^2": (x1, x2) => x2 * x2,
  "x1*x2": (x1, x2) => x1 * x2,
  "sin(x1)": (x1) => Math.sin(x1),
  "sin(x2)": (x1, x2) => Math.sin(x2),
};

// Elementwise activations a = f(z), as engine/activations.py.
export const ACTIVATIONS = {
  linear: (z) => z,
  // NOTE: e^(−z) overflows for very negative z; with e = e^(−|z|) ≤ 1 both branches stay finite.
  sigmoid: (z) => {
    const e = Math.exp(-Math.abs(z));
    return (z >= 0 ? 1 : e) / (1 + e);
  },
  tanh: Math.tanh,
  relu: (z) => (z > 0 ? z : 0),
  leaky_relu: (z) => (z > 0 ? z : LEAKY_RELU_SLOPE * z),
  elu: (z) => (z > 0 ? z : Math.expm1(z)),
  // NOTE: log(1 + e^z) overflows for large z; max(z, 0) + log1p(e^(−|z|)) is the same number, stably.
  softplus: (z) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))),
  // gelu(z) = z·Φ(z) = ½ z (1 + erf(z/√2)), torch's exact form. NOTE: for z ≪ 0, 1 + erf(z/√2) cancels to
  // 0; ½ z erfc(−z/√2) is the same number without the cancellation.
  gelu: (z) => (z >= 0 ? 0.5 * z * (1 + erf(z * SQRT_HALF)) : 0.5 * z * erfc(-z * SQRT_HALF)),
  // torch's approximate="tanh": ½ z (1 + tanh(√(2/π)(z + 0.044715 z³))).
  gelu_tanh: (z) => 0.5 * z * (1 + Math.tanh(SQRT_2_OVER_PI * (z + GELU_CUBIC * z * z * z))),
};

// softmax(z)_k = e^(z_k) / Σ_j e^(z_j) over each row of `values` (rows × cols), in place.
// NOTE: subtracting the row maximum first leaves the result unchanged and keeps e^(·) ≤ 1.
function softmaxRows(values, rows, cols) {
  for (let r = 0; r < rows; r++) {
    const start = r * cols;
    let max = -Infinity;
    for (let k = 0; k < cols; k++) max = Math.max(max, values[start + k]);
    let sum = 0;
    for (let k = 0; k < cols; k++) {
      const e = Math.exp(values[start + k] - max);
      values[start + k] = e;
      sum += e;
    }
    for (let k = 0; k < cols; k++) values[start + k] /= sum;
  }
}

// Params as the server streams them ({layers: [{W: [[..]], b: [..], activation}]}, null for a non-finite
// number) → flat Float64Arrays for the loops below.
export function prepareLayers(params) {
  return params.layers.map((layer) => {
    const fanIn = layer.W.length;
    const fanOut = layer.b.length;
    const W = new Float64Array(fanIn * fanOut);
    for (let i = 0; i < fanIn; i++) for (let j = 0; j < fanOut; j++) W[i * fanOut + j] = layer.W[i][j] ?? NaN;
    return { W, b: Float64Array.from(layer.b, (v) => v ?? NaN), fanIn, fanOut, activation: layer.activation };
  });
}

// Multiply-adds one point costs through `layers` (for choosing a grid's resolution).
export function costPerPoint(layers) {
  return layers.reduce((sum, layer) => sum + layer.fanIn * layer.fanOut, 0);
}

// Every layer's activations for the rows of X (n × fanIn of the first layer): [a_1, ..., a_L], each n × fan_out.
export function forward(layers, X, n) {
  const outputs = [];
  let a = X;
  for (const { W, b, fanIn, fanOut, activation } of layers) {
    const z = new Float64Array(n * fanOut);
    for (let p = 0; p < n; p++) {
      const row = p * fanOut;
      z.set(b, row);
      for (let i = 0; i < fanIn; i++) {
        const x = a[p * fanIn + i];
        if (x === 0) continue;
        const weights = i * fanOut;
        for (let j = 0; j < fanOut; j++) z[row + j] += x * W[weights + j];
      }
    }
    if (activation === "softmax") softmaxRows(z, n, fanOut);
    else {
      const f = ACTIVATIONS[activation];
      if (!f) throw new Error(`unknown activation ${activation}`);
      for (let k = 0; k < z.length; k++) z[k] = f(z[k]);
    }
    outputs.push(z);
    a = z;
  }
  return outputs;
}

// The raw points of a resolution × resolution grid over extent [x1min, x1max, x2min, x2max], row-major,
// row 0 at the lowest x2 and column 0 at the lowest x1 (docs/protocol.md's grid layout).
export function planePoints(extent, resolution) {
  const [x1min, x1max, x2min, x2max] = extent;
  const points = new Float64Array(resolution * resolution * 2);
  const at = (min, max, k) => (k === resolution - 1 ? max : min + ((max - min) / (resolution - 1)) * k);
  for (let row = 0; row < resolution; row++) {
    for (let col = 0; col < resolution; col++) {
      const p = 2 * (row * resolution + col);
      points[p] = at(x1min, x1max, col);
      points[p + 1] = at(x2min, x2max, row);
    }
  }
  return points;
}

// The network's input for raw 2-D points (n × 2): the named feature columns, in order.
export function featureMatrix(points, n, features) {
  const functions = features.map((name) => FEATURES[name]);
  const out = new Float64Array(n * functions.length);
  for (let p = 0; p < n; p++) {
    const x1 = points[2 * p];
    const x2 = points[2 * p + 1];
    for (let k = 0; k < functions.length; k++) out[p * functions.length + k] = functions[k](x1, x2);
  }
  return out;
}

// The output over the plane (and optionally every neuron's activation), as flat arrays of resolution².
//   output: binary classification → P(class 1); several classes → the winning class's probability, with
//   `classes` its index; regression → the predicted value. neurons[l][j]: layer l's neuron j.
export function planeGrids({ layers, features, extent, resolution, task, neurons = false }) {
  const n = resolution * resolution;
  const X = featureMatrix(planePoints(extent, resolution), n, features);
  const outputs = forward(layers, X, n);
  const last = outputs[outputs.length - 1];
  const width = layers[layers.length - 1].fanOut;
  const result = { resolution, extent, output: new Float64Array(n), classes: null, neurons: null };
  if (task === "classification" && width > 1) {
    result.classes = new Uint8Array(n);
    for (let p = 0; p < n; p++) {
      let best = 0;
      for (let k = 1; k < width; k++) if (last[p * width + k] > last[p * width + best]) best = k;
      result.classes[p] = best;
      result.output[p] = last[p * width + best];
    }
  } else {
    for (let p = 0; p < n; p++) result.output[p] = last[p * width];
  }
  if (neurons) result.neurons = outputs.map((values, l) => columns(values, n, layers[l].fanOut, neurons));
  return result;
}

// The columns of an n × width matrix as separate arrays; layers wider than `neurons.maxWidth` give none.
function columns(values, n, width, { maxWidth = Infinity } = {}) {
  if (width > maxWidth) return null;
  return Array.from({ length: width }, (_, j) => {
    const column = new Float64Array(n);
    for (let p = 0; p < n; p++) column[p] = values[p * width + j];
    return column;
  });
}

// Predictions for rows of raw inputs (arrays), through the features when the data is 2-D and planar.
export function predictRows(layers, rows, features) {
  const n = rows.length;
  const width = rows.length ? rows[0].length : 0;
  let X;
  if (features && width === 2) X = featureMatrix(Float64Array.from(rows.flat()), n, features);
  else X = Float64Array.from(rows.flat());
  const outputs = forward(layers, X, n);
  const last = outputs[outputs.length - 1];
  const fanOut = layers[layers.length - 1].fanOut;
  return Array.from({ length: n }, (_, p) => Array.from(last.subarray(p * fanOut, (p + 1) * fanOut)));
}

// The predicted class of each output row: argmax, or the 0.5 (sigmoid) / 0 threshold of one output unit.
export function classOf(output, activation) {
  if (output.length === 1) return output[0] >= (activation === "sigmoid" ? 0.5 : 0) ? 1 : 0;
  let best = 0;
  for (let k = 1; k < output.length; k++) if (output[k] > output[best]) best = k;
  return best;
}
