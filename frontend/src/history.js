// Per-step metrics kept in growable typed arrays (NaN where the server sent null), appended frame by frame.
// Past CAPACITY rows the history halves itself, keeping the latest row, so memory stays bounded however
// long a run streams.

const SCALAR_COLUMNS = ["step", "epoch", "lr", "train_loss", "test_loss", "train_accuracy", "test_accuracy"];
const CAPACITY = 200_000;

export class MetricHistory {
  constructor() {
    this.clear();
  }

  clear() {
    this.generation = (this.generation ?? 0) + 1; // changes whenever existing rows change
    this.length = 0;
    this.columns = Object.fromEntries(SCALAR_COLUMNS.map((name) => [name, new Float64Array(1024)]));
    this.gradNorm = [];
    this.version = 0;
  }

  // Replace everything with a History (state message) object.
  load(history) {
    this.clear();
    if (history) this.append(history);
  }

  // Append the columns of a History or of a frame's `metrics`.
  append(metrics) {
    const count = metrics && metrics.step ? metrics.step.length : 0;
    if (!count) return;
    this.reserve(this.length + count);
    for (const name of SCALAR_COLUMNS) {
      const source = metrics[name];
      const target = this.columns[name];
      for (let i = 0; i < count; i++) {
        const value = source ? source[i] : null;
        target[this.length + i] = value === null || value === undefined ? NaN : value;
      }
    }
    const norms = metrics.grad_norm;
    if (norms && norms.length) {
      const sampled = norms.find((row) => row); // rows without sampled statistics are null
      const layers = sampled ? sampled.length : 0;
      while (this.gradNorm.length < layers) this.gradNorm.push(new Float64Array(this.columns.step.length).fill(NaN));
      for (let i = 0; i < count; i++) {
        for (let layer = 0; layer < this.gradNorm.length; layer++) {
          const value = norms[i] ? norms[i][layer] : null;
          this.gradNorm[layer][this.length + i] = value === null || value === undefined ? NaN : value;
        }
      }
    }
    this.length += count;
    if (this.length > CAPACITY) this.halve();
    this.version++;
  }

  reserve(size) {
    const capacity = this.columns.step.length;
    if (size <= capacity) return;
    let next = capacity;
    while (next < size) next *= 2;
    const grow = (array) => {
      const bigger = new Float64Array(next).fill(NaN);
      bigger.set(array.subarray(0, this.length));
      return bigger;
    };
    for (const name of SCALAR_COLUMNS) this.columns[name] = grow(this.columns[name]);
    this.gradNorm = this.gradNorm.map(grow);
  }

  // Keep every other row (and always the last); a sparse column keeps whichever of a pair is measured.
  halve() {
    const keep = [];
    for (let i = this.length - 1; i >= 0; i -= 2) keep.push(i);
    keep.reverse();
    const compact = (array) => {
      for (let k = 0; k < keep.length; k++) {
        const i = keep[k];
        const value = array[i];
        array[k] = Number.isNaN(value) && i > 0 ? array[i - 1] : value;
      }
      array.fill(NaN, keep.length);
    };
    for (const name of SCALAR_COLUMNS) compact(this.columns[name]);
    this.gradNorm.forEach(compact);
    this.length = keep.length;
    this.generation++;
  }

  column(name) {
    return this.columns[name].subarray(0, this.length);
  }
}

// Indices of at most `maxPoints` buckets over n rows: for each bucket, its last row.
export function bucketEnds(n, maxPoints) {
  const stride = Math.max(1, Math.ceil(n / maxPoints));
  const ends = [];
  for (let end = stride - 1; end < n - 1; end += stride) ends.push(end);
  if (n > 0) ends.push(n - 1);
  return { ends, stride };
}

// A column reduced to bucket ends, as a plain array with null gaps (uPlot draws null as a gap):
// each bucket reports its last measured value, so sparse series (test loss) keep their points.
export function sampleColumn(column, ends, stride, transform) {
  const out = new Array(ends.length);
  for (let k = 0; k < ends.length; k++) {
    let value = NaN;
    for (let i = ends[k]; i > ends[k] - stride && i >= 0 && Number.isNaN(value); i--) value = column[i];
    out[k] = Number.isNaN(value) ? null : transform ? transform(value) : value;
  }
  return out;
}
