// TensorBoard's smoothing: an exponential moving average with the start-up bias removed.
//   last ← w·last + (1 − w)·x,   smoothed = last / (1 − w^k)   after k finite values.
// Without the division the first points would be pulled towards 0. Non-finite values pass through.
// Kept running: each frame smooths only the rows appended since the last one, and allocates nothing.
export class RunningEma {
  constructor(weight) {
    this.weight = weight;
    this.smoothed = new Float64Array(1024);
    this.length = 0;
    this.last = 0;
    this.count = 0;
  }

  // The smoothed version of `values`, whose first this.length entries must be the ones seen before.
  update(values) {
    if (values.length > this.smoothed.length) {
      const bigger = new Float64Array(Math.max(values.length, 2 * this.smoothed.length));
      bigger.set(this.smoothed.subarray(0, this.length));
      this.smoothed = bigger;
    }
    const weight = this.weight;
    for (let i = this.length; i < values.length; i++) {
      const value = values[i];
      if (!Number.isFinite(value)) {
        this.smoothed[i] = value;
        continue;
      }
      this.last = this.last * weight + (1 - weight) * value;
      this.count++;
      this.smoothed[i] = this.last / (weight === 1 ? 1 : 1 - weight ** this.count);
    }
    this.length = values.length;
    return this.smoothed.subarray(0, values.length);
  }
}
