// The dashboard's decision boundary and neuron heatmaps, computed in the browser from the streamed params
// (model/forward.js in a worker, model/grids.js), at a cost proportional to what is seen:
//   - panels say what they show (want("output"|"neurons", on)); nothing wanted, nothing computed;
//   - work starts from requestAnimationFrame, which a background tab does not run, and not while the
//     document is hidden; a newer params frame replaces a job still waiting;
//   - the resolution shrinks for wide networks and the worker rests between jobs (grids.js).
import { prepareLayers } from "./model/forward.js";
import { createGridComputer, gridResolution } from "./model/grids.js";
import { MAX_DRAWN_NEURONS } from "./panels/network/layout.js";

// Node pictures are at most 40 px: with neuron heatmaps on, a finer grid than this buys nothing.
const NEURON_RESOLUTION = 32;

export function createLiveGrids(app) {
  const computer = createGridComputer();
  const wanted = { output: false, neurons: false };
  let dirty = false;
  let scheduled = false;

  function compute() {
    scheduled = false;
    const { run, params } = app.state;
    if (!dirty || document.hidden || !run || !params) return;
    const planar = (run.resolved.raw_input_size ?? run.resolved.input_size) === 2 && run.resolved.extent;
    if (!planar || !(wanted.output || wanted.neurons)) return;
    dirty = false;
    const layers = prepareLayers(params);
    const job = {
      layers,
      features: run.resolved.input_names,
      extent: run.resolved.extent,
      resolution: gridResolution(layers, wanted.neurons ? NEURON_RESOLUTION : undefined),
      task: run.resolved.task,
      neurons: wanted.neurons ? { maxWidth: MAX_DRAWN_NEURONS } : false,
    };
    computer.request("plane", job).then(
      (grids) => {
        if (!grids || app.state.run.id !== run.id) return;
        app.state.grid = grids;
        app.emit("grid", grids);
      },
      (error) => app.emit("error", error.message),
    );
  }

  function schedule() {
    dirty = true;
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(compute);
  }

  document.addEventListener("visibilitychange", () => document.hidden || schedule());
  return {
    stats: computer.stats,
    schedule,
    want(name, on) {
      const was = wanted[name];
      wanted[name] = Boolean(on);
      if (wanted[name] && !was) schedule();
    },
  };
}
