// TensorBoard's smoothing: an exponential moving average with the start-up bias removed.
//   last ← w·last + (1 − w)·x,   smoothed = last / (1 − w^k)   after k finite values.
// Without the division the first points would be pulled towards 0. Non-finite values pass through.
export function debiasedEma(values, weight) {
  const out = new Float64Array(values.length);
  let last = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (!Number.isFinite(value)) {
      out[i] = value;
      continue;
    }
    last = last * weight + (1 - weight) * value;
    count++;
    const debias = weight === 1 ? 1 : 1 - weight ** count;
    out[i] = last / debias;
  }
  return out;
}
