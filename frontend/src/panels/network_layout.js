// Where every node of the network drawing goes. Columns: the input features, each hidden layer, the
// output. Nodes shrink as layers widen; past the smallest readable size the drawing grows taller and its
// box scrolls, so a 64-neuron layer stays legible.

const MAX_NODE = 40;
const MIN_NODE = 16;
const GAP = 0.35; // vertical gap as a share of the node size
const MARGIN_TOP = 12;
const MARGIN_BOTTOM = 14;
const LABEL_WIDTH = 56; // room left of the inputs for their names
const MAX_DRAWN_INPUTS = 64; // wider raw inputs (e.g. image pixels) are drawn as their first 64

// columnCounts: nodes per column, inputs first. Returns each column's x, its node centres, the node size.
export function layoutNetwork(columnCounts, width, height) {
  const shown = columnCounts.map((count, index) => (index === 0 ? Math.min(count, MAX_DRAWN_INPUTS) : count));
  const tallest = Math.max(...shown);
  const usable = height - MARGIN_TOP - MARGIN_BOTTOM;
  const fitted = usable / (tallest * (1 + GAP));
  const nodeSize = Math.max(MIN_NODE, Math.min(MAX_NODE, fitted, (width - LABEL_WIDTH) / (columnCounts.length * 2.2)));
  const pitch = nodeSize * (1 + GAP);
  const drawHeight = Math.max(height, MARGIN_TOP + MARGIN_BOTTOM + tallest * pitch);
  const left = LABEL_WIDTH + nodeSize / 2;
  const right = width - nodeSize / 2 - 18;
  const columns = shown.map((count, index) => {
    const x = columnCounts.length === 1 ? left : left + ((right - left) * index) / (columnCounts.length - 1);
    // Centred in the visible box when it fits there; a taller column starts at the top and scrolls.
    const room = height - MARGIN_TOP - MARGIN_BOTTOM - count * pitch;
    const top = MARGIN_TOP + Math.max(0, room / 2) + pitch / 2;
    const nodes = [];
    for (let i = 0; i < count; i++) nodes.push({ x, y: top + i * pitch });
    return { x, nodes, hiddenCount: columnCounts[index] - count };
  });
  return { columns, nodeSize, width, height: drawHeight };
}

// Distance from point (px, py) to the segment (x1, y1)–(x2, y2).
export function distanceToSegment(px, py, x1, y1, x2, y2) {
  const dx = x2 - x1;
  const dy = y2 - y1;
  const lengthSquared = dx * dx + dy * dy;
  const s = lengthSquared ? Math.max(0, Math.min(1, ((px - x1) * dx + (py - y1) * dy) / lengthSquared)) : 0;
  return Math.hypot(px - (x1 + s * dx), py - (y1 + s * dy));
}
