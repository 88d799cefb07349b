// The little pictures inside the nodes: each input feature over the plane (computed once per extent) and
// each neuron's activation over the plane from the browser's grids (model/forward.js). All neuron
// pictures share one atlas canvas (one upload, one source image for the nodes' drawImage); cells are GAP
// px apart so smoothing at a cell's edge does not pick up its neighbour.
import { FEATURES, featureMatrix, planePoints } from "../../model/forward.js";
import { finiteRange, paintSigned } from "../../grid.js";

const FEATURE_RESOLUTION = 24;
const GAP = 2;

export function createHeatmaps() {
  let featureImages = new Map();
  let featureKey = "";
  let atlas = null;
  let cells = []; // per weight layer, per neuron: {x, y, size, min, max} in the atlas, or null

  function paintFeatures(extent) {
    const key = extent.join(",");
    if (key === featureKey) return;
    featureKey = key;
    featureImages = new Map();
    const n = FEATURE_RESOLUTION * FEATURE_RESOLUTION;
    const points = planePoints(extent, FEATURE_RESOLUTION);
    for (const name of Object.keys(FEATURES)) {
      const values = featureMatrix(points, n, [name]);
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = FEATURE_RESOLUTION;
      const ctx = canvas.getContext("2d");
      const image = ctx.createImageData(FEATURE_RESOLUTION, FEATURE_RESOLUTION);
      paintSigned(image, FEATURE_RESOLUTION, values);
      ctx.putImageData(image, 0, 0);
      featureImages.set(name, canvas);
    }
  }

  // grids.neurons: per layer, per neuron, resolution² values (a layer too wide to draw is null).
  function paintNeurons(grids) {
    if (!grids || !grids.neurons) {
      cells = [];
      return;
    }
    const resolution = grids.resolution;
    const total = grids.neurons.reduce((sum, layer) => sum + (layer ? layer.length : 0), 0);
    const columns = Math.max(1, Math.ceil(Math.sqrt(total)));
    const pitch = resolution + GAP;
    const width = columns * pitch;
    const height = Math.max(1, Math.ceil(total / columns)) * pitch;
    if (!atlas || atlas.canvas.width !== width || atlas.canvas.height !== height) {
      const canvas = document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
      const ctx = canvas.getContext("2d");
      atlas = { canvas, ctx, pixels: ctx.createImageData(width, height) };
    }
    let k = 0;
    cells = grids.neurons.map((layer) =>
      layer
        ? layer.map((values) => {
            const x = (k % columns) * pitch;
            const y = Math.floor(k / columns) * pitch;
            k++;
            const range = finiteRange(values);
            paintSigned(atlas.pixels, resolution, values, x, y, Math.max(1e-9, Math.abs(range.min), Math.abs(range.max)));
            return { x, y, size: resolution, ...range };
          })
        : null,
    );
    atlas.ctx.putImageData(atlas.pixels, 0, 0);
  }

  return {
    paintFeatures,
    paintNeurons,
    feature: (name) => featureImages.get(name),
    // The atlas cell of neuron j of weight layer l: {canvas, x, y, size, min, max}, or null.
    neuron: (l, j) => {
      const cell = cells[l] && cells[l][j];
      return cell ? { canvas: atlas.canvas, ...cell } : null;
    },
  };
}
