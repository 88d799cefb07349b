// Where every node of the network drawing goes. Columns: the input features, each hidden layer, the
// output. Nodes shrink as layers widen; past the smallest readable size the drawing grows taller and its
// box scrolls. A layer wider than MAX_DRAWN_NEURONS is one summary block (its neuron count, no nodes):
// 512 squares and 262,144 edges would say nothing a person can read.

export const MAX_DRAWN_NEURONS = 32;
const MAX_NODE = 40;
const MIN_NODE = 16;
const GAP = 0.35; // vertical gap as a share of the node size
const MARGIN_TOP = 12;
const MARGIN_BOTTOM = 14;
const LABEL_WIDTH = 56; // room left of the inputs for their names
const MAX_DRAWN_INPUTS = 64; // wider raw inputs (e.g. image pixels) are drawn as their first 64
const SUMMARY_ROWS = 6; // a summary block is as tall as this many nodes

// columnCounts: nodes per column, inputs first; scale: 1, or more for a projector. Returns each column's
// x, its node centres (none for a summary), whether it is a summary, and the node size.
export function layoutNetwork(columnCounts, width, height, scale = 1) {
  const summary = columnCounts.map((count, index) => index > 0 && count > MAX_DRAWN_NEURONS);
  const shown = columnCounts.map((count, index) =>
    index === 0 ? Math.min(count, MAX_DRAWN_INPUTS) : summary[index] ? 0 : count,
  );
  const tallest = Math.max(...shown, summary.some(Boolean) ? SUMMARY_ROWS : 1);
  const usable = height - MARGIN_TOP - MARGIN_BOTTOM;
  const fitted = usable / (tallest * (1 + GAP));
  const labelWidth = LABEL_WIDTH * scale;
  const nodeSize = Math.max(MIN_NODE, Math.min(MAX_NODE * scale, fitted, (width - labelWidth) / (columnCounts.length * 2.2)));
  const pitch = nodeSize * (1 + GAP);
  const drawHeight = Math.max(height, MARGIN_TOP + MARGIN_BOTTOM + tallest * pitch);
  const left = labelWidth + nodeSize / 2;
  const right = width - nodeSize / 2 - 18;
  const columns = shown.map((count, index) => {
    const x = columnCounts.length === 1 ? left : left + ((right - left) * index) / (columnCounts.length - 1);
    if (summary[index]) {
      const blockHeight = SUMMARY_ROWS * pitch - nodeSize * GAP;
      const top = MARGIN_TOP + Math.max(0, (usable - blockHeight) / 2);
      return { x, nodes: [], summary: { top, height: blockHeight, count: columnCounts[index] }, hiddenCount: 0 };
    }
    // Centred in the visible box when it fits there; a taller column starts at the top and scrolls.
    const room = usable - count * pitch;
    const top = MARGIN_TOP + Math.max(0, room / 2) + pitch / 2;
    const nodes = [];
    for (let i = 0; i < count; i++) nodes.push({ x, y: top + i * pitch });
    return { x, nodes, summary: null, hiddenCount: columnCounts[index] - count };
  });
  const spacing = columns.length > 1 ? columns[1].x - columns[0].x : width;
  return { columns, nodeSize, width, height: drawHeight, spacing };
}

// Distance from point (px, py) to the segment (x1, y1)–(x2, y2).
export function distanceToSegment(px, py, x1, y1, x2, y2) {
  const dx = x2 - x1;
  const dy = y2 - y1;
  const lengthSquared = dx * dx + dy * dy;
  const s = lengthSquared ? Math.max(0, Math.min(1, ((px - x1) * dx + (py - y1) * dy) / lengthSquared)) : 0;
  return Math.hypot(px - (x1 + s * dx), py - (y1 + s * dy));
}
