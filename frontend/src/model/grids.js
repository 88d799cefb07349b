// Plane grids on demand, at a cost bounded by what is seen: callers ask by key (one key per picture),
// the newest job per key replaces an older one still waiting, and one job runs at a time in a worker.
//   Resolution: as fine as MAX_RESOLUTION allows within BUDGET multiply-adds per grid (never below
//   MIN_RESOLUTION), so a 512-wide layer gets a coarser boundary instead of a frozen page.
//   Rate: after a job that took t ms the worker rests REST_FACTOR·t ms, so grids take at most
//   1/(1 + REST_FACTOR) of one core, however many params frames arrive (bench/bench_dashboard.py).
import { costPerPoint } from "./forward.js";

const MAX_RESOLUTION = 48;
const MIN_RESOLUTION = 12;
const BUDGET = 2_500_000; // multiply-adds per grid (bench/bench_dashboard.py: about 20-40 ms in a worker)
const REST_FACTOR = 2;

export function gridResolution(layers, maxResolution = MAX_RESOLUTION) {
  const perPoint = Math.max(1, costPerPoint(layers));
  const fits = Math.floor(Math.sqrt(BUDGET / perPoint));
  return Math.max(MIN_RESOLUTION, Math.min(maxResolution, fits));
}

export function createGridComputer() {
  const worker = new Worker(new URL("./grid_worker.js", import.meta.url), { type: "module" });
  const waiting = new Map(); // key → {job, resolve}
  let running = null;
  let restUntil = 0;
  let nextId = 1;
  let timer = null;
  const stats = { jobs: 0, ms: 0 };

  function pump() {
    timer = null;
    if (running || !waiting.size) return;
    const rest = restUntil - performance.now();
    if (rest > 0) {
      timer = setTimeout(pump, rest);
      return;
    }
    const [key, entry] = waiting.entries().next().value;
    waiting.delete(key);
    running = { ...entry, id: nextId++ };
    worker.postMessage({ id: running.id, job: entry.job });
  }

  worker.onmessage = ({ data }) => {
    const done = running;
    running = null;
    stats.jobs++;
    stats.ms += data.ms;
    restUntil = performance.now() + REST_FACTOR * data.ms;
    if (data.error) done.reject(new Error(data.error));
    else done.resolve(data.result);
    if (!timer) pump();
  };

  return {
    stats,
    // Resolves with planeGrids(job)'s result; a newer request under the same key resolves the older one
    // with null (its picture is already out of date).
    request(key, job) {
      return new Promise((resolve, reject) => {
        const older = waiting.get(key);
        if (older) older.resolve(null);
        waiting.set(key, { job, resolve, reject });
        if (!timer) pump();
      });
    },
  };
}
