// A module worker that computes plane grids (forward.js) off the page's main thread, so a wide network's
// boundary never stalls drawing or input. One job in, one result out, arrays transferred, not copied.
import { planeGrids } from "./forward.js";

self.onmessage = ({ data }) => {
  const started = performance.now();
  try {
    const result = planeGrids(data.job);
    const transfer = [result.output.buffer];
    if (result.classes) transfer.push(result.classes.buffer);
    for (const layer of result.neurons || []) for (const column of layer || []) transfer.push(column.buffer);
    self.postMessage({ id: data.id, result, ms: performance.now() - started }, transfer);
  } catch (error) {
    self.postMessage({ id: data.id, error: String(error), ms: performance.now() - started });
  }
};
