// The edges of the network drawing: one line per weight, its width the weight's size and its colour its
// sign (or, in gradient view, ∂L/∂w's), stroked one by one into a layer of their own under the nodes.
// A layer drawn as a summary block gets one band instead of its fan of lines. The layer is repainted only
// when an edge's look (sign and width bucket) or the layout changes, at most PAINTS_PER_S while training.
import { NEGATIVE, POSITIVE, gradientColor } from "../../colors.js";
import { fitCanvas } from "../../dom.js";
import { distanceToSegment } from "./layout.js";

const WIDTH_BUCKETS = 6;
const MAX_EDGE_WIDTH = 5;
const PAINTS_PER_S = 15;

export function createEdges() {
  const canvas = document.createElement("canvas");
  let key = "";
  let codes = null;
  let painted = -Infinity;

  // The two ends of weight (row → col) of weight layer `layer`, or null when one end is not drawn.
  function ends(layout, inputRows, layer, row, col) {
    const from = layer === 0 ? inputRows[row] : row;
    const a = layout.columns[layer].nodes[from];
    const b = layout.columns[layer + 1].nodes[col];
    return a && b ? [a, b] : null;
  }

  // Per edge: 0 = not drawn, else 1 + (positive ? WIDTH_BUCKETS : 0) + width bucket; and its two ends.
  function encode(layout, inputRows, matrices) {
    let maxAbs = 1e-12;
    let count = 0;
    for (const matrix of matrices) {
      for (const row of matrix) {
        count += row.length;
        for (const v of row) if (v !== null && Number.isFinite(v)) maxAbs = Math.max(maxAbs, Math.abs(v));
      }
    }
    const edgeCodes = new Uint8Array(count);
    const points = new Float32Array(count * 4);
    const half = layout.nodeSize / 2;
    let e = 0;
    matrices.forEach((matrix, l) => {
      const drawn = layout.columns[l].nodes.length && layout.columns[l + 1].nodes.length;
      for (let i = 0; i < matrix.length; i++) {
        for (let j = 0; j < matrix[i].length; j++, e++) {
          const value = matrix[i][j];
          const pair = drawn && value !== null ? ends(layout, inputRows, l, i, j) : null;
          if (!pair) continue;
          const bucket = Math.min(WIDTH_BUCKETS - 1, Math.floor((Math.abs(value) / maxAbs) * WIDTH_BUCKETS));
          edgeCodes[e] = 1 + (value >= 0 ? WIDTH_BUCKETS : 0) + (Number.isFinite(bucket) ? bucket : WIDTH_BUCKETS - 1);
          points.set([pair[0].x + half, pair[0].y, pair[1].x - half, pair[1].y], 4 * e);
        }
      }
    });
    return { edgeCodes, points };
  }

  function paintBands(ctx, layout) {
    ctx.fillStyle = "#90a4ae";
    ctx.globalAlpha = 0.25;
    for (let l = 0; l + 1 < layout.columns.length; l++) {
      const [a, b] = [layout.columns[l], layout.columns[l + 1]];
      if (!a.summary && !b.summary) continue;
      const span = (column) => (column.summary ? [column.summary.top, column.summary.top + column.summary.height] : [column.nodes[0].y, column.nodes.at(-1).y]);
      const [a0, a1] = span(a);
      const [b0, b1] = span(b);
      const half = layout.nodeSize / 2;
      ctx.beginPath();
      ctx.moveTo(a.x + half, a0);
      ctx.lineTo(b.x - half, b0);
      ctx.lineTo(b.x - half, b1);
      ctx.lineTo(a.x + half, a1);
      ctx.closePath();
      ctx.fill();
    }
    ctx.globalAlpha = 1;
  }

  function paint(layout, edgeCodes, points, gradients) {
    const ctx = fitCanvas(canvas, layout.width, layout.height);
    ctx.clearRect(0, 0, layout.width, layout.height);
    paintBands(ctx, layout);
    for (let index = 0; index < 2 * WIDTH_BUCKETS; index++) {
      const positive = index >= WIDTH_BUCKETS;
      const share = ((index % WIDTH_BUCKETS) + 0.5) / WIDTH_BUCKETS;
      ctx.lineWidth = 0.4 + share * MAX_EDGE_WIDTH;
      ctx.globalAlpha = 0.25 + 0.7 * share;
      ctx.strokeStyle = gradients ? gradientColor(positive ? 0.9 : 0.1) : positive ? POSITIVE : NEGATIVE;
      const code = index + 1;
      for (let e = 0; e < edgeCodes.length; e++) {
        if (edgeCodes[e] !== code) continue;
        ctx.beginPath();
        ctx.moveTo(points[4 * e], points[4 * e + 1]);
        ctx.lineTo(points[4 * e + 2], points[4 * e + 3]);
        ctx.stroke();
      }
    }
    ctx.globalAlpha = 1;
  }

  return {
    canvas,
    ends,
    get painted() {
      return painted;
    },
    // Repaints when the look changed and a repaint is due (`throttled`: training is streaming, so at most
    // PAINTS_PER_S); returns the ms to wait before a throttled change may be painted, or 0.
    update(layout, inputRows, params, gradients, throttled) {
      const matrices = params.layers.map((layer) => (gradients ? layer.dW : layer.W));
      const { edgeCodes, points } = encode(layout, inputRows, matrices);
      const layoutKey = [layout.width, layout.height, layout.nodeSize, gradients, inputRows.join(" "), matrices.map((m) => `${m.length}x${m[0]?.length}`).join(" ")].join("|");
      const same = layoutKey === key && codes && codes.length === edgeCodes.length && codes.every((code, e) => code === edgeCodes[e]);
      if (same) return 0;
      const wait = throttled && layoutKey === key ? painted + 1000 / PAINTS_PER_S - performance.now() : 0;
      if (wait > 0) return wait;
      paint(layout, edgeCodes, points, gradients);
      key = layoutKey;
      codes = edgeCodes;
      painted = performance.now();
      return 0;
    },
    // The weight under (x, y) within `radius` px, or null.
    hitTest(layout, inputRows, params, x, y, radius) {
      let best = null;
      let bestDistance = radius;
      const half = layout.nodeSize / 2;
      params.layers.forEach((layer, l) => {
        if (x < layout.columns[l].x || x > layout.columns[l + 1].x) return;
        layer.W.forEach((row, i) => {
          row.forEach((_, j) => {
            const pair = ends(layout, inputRows, l, i, j);
            if (!pair) return;
            const distance = distanceToSegment(x, y, pair[0].x + half, pair[0].y, pair[1].x - half, pair[1].y);
            if (distance < bestDistance) {
              bestDistance = distance;
              best = { kind: "edge", layer: l, row: i, col: j };
            }
          });
        });
      });
      return best;
    },
  };
}
