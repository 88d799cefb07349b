// A forward pass over params in the browser, used only for the confusion matrix of data with more than
// two inputs (no plane to draw there). Same conventions as the engine: a_out = act(a_in @ W + b).

const ACTIVATIONS = {
  linear: (z) => z,
  sigmoid: (z) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z))),
  tanh: Math.tanh,
  relu: (z) => Math.max(0, z),
  leaky_relu: (z) => (z > 0 ? z : 0.01 * z),
  elu: (z) => (z > 0 ? z : Math.expm1(z)),
  softplus: (z) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))),
  gelu: (z) => 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z ** 3))),
};

// The predicted class of each row of X (argmax, or 0.5 threshold for one output unit).
export function predictClasses(layers, X) {
  return X.map((row) => {
    let a = row;
    for (const layer of layers) {
      const fanOut = layer.b.length;
      const z = new Array(fanOut);
      for (let j = 0; j < fanOut; j++) {
        let sum = layer.b[j];
        for (let i = 0; i < a.length; i++) sum += a[i] * layer.W[i][j];
        z[j] = sum;
      }
      const act = ACTIVATIONS[layer.activation] || ACTIVATIONS.linear;
      a = layer.activation === "softmax" ? z : z.map(act);
    }
    if (a.length === 1) return a[0] >= (layers.at(-1).activation === "sigmoid" ? 0.5 : 0) ? 1 : 0;
    let best = 0;
    for (let k = 1; k < a.length; k++) if (a[k] > a[best]) best = k;
    return best;
  });
}
