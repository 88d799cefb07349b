// Tiny SVG helpers for the computational graphs.
const NS = "http://www.w3.org/2000/svg";

export function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null) continue;
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

// The root of a graph drawn in `width` × `height` user units. teach.css sizes it from --graph-width: shrunk
// to its box on a wide screen, at its natural size (its text readable) on a phone, where the box scrolls.
export function graphRoot(className, width, height) {
  return svg("svg", { viewBox: `0 0 ${width} ${height}`, class: className, role: "img", style: `--graph-width:${width}px` });
}

// A text line that shows `label value` and keeps the exact number in data-value (for tests and tooltips).
export function setNumber(node, label, value, format) {
  node.textContent = value === null || value === undefined ? "" : `${label}${format(value)}`;
  if (value === null || value === undefined) node.removeAttribute("data-value");
  else node.dataset.value = String(value);
}

const ARROW = 12; // an arrowhead's length and width, in the graph's units

// An arrow head marker for edges, added once per SVG. Its size is in the graph's units (userSpaceOnUse),
// not in stroke widths: a thick edge (a large weight) gets the same head as a thin one, not one five times
// as large piled over the boxes.
export function arrowMarker(root, id, color) {
  const defs = svg("defs");
  defs.append(
    svg(
      "marker",
      { id, viewBox: "0 0 10 10", refX: 0, refY: 5, markerUnits: "userSpaceOnUse", markerWidth: ARROW, markerHeight: ARROW, orient: "auto-start-reverse" },
      svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: color }),
    ),
  );
  root.append(defs);
}

// An edge from (x1, y1) whose arrowhead (marker `markerId`) points at (x2, y2): the line stops where the
// head begins, so a thick line's square end never shows beside the head's point.
export function arrowLine(x1, y1, x2, y2, markerId, attributes) {
  const back = ARROW / Math.hypot(x2 - x1, y2 - y1);
  return svg("line", { x1, y1, x2: x2 - (x2 - x1) * back, y2: y2 - (y2 - y1) * back, "marker-end": `url(#${markerId})`, ...attributes });
}

// Squeezes a text node into `width` px when it is longer (so a number never spills out of its box).
export function fitText(node, width) {
  node.removeAttribute("textLength");
  node.removeAttribute("lengthAdjust");
  if (node.textContent && node.getComputedTextLength() > width) {
    node.setAttribute("textLength", String(width));
    node.setAttribute("lengthAdjust", "spacingAndGlyphs");
  }
}

// Hides every label whose box overlaps one shown before it (in order), so labels never pile up; a hidden
// label's text stays in its edge's tooltip.
export function declutter(labels) {
  const kept = [];
  for (const label of labels) {
    label.style.display = "";
    if (!label.textContent) continue;
    const box = label.getBBox();
    const clash = kept.some((other) => box.x < other.x + other.width && other.x < box.x + box.width && box.y < other.y + other.height && other.y < box.y + box.height);
    if (clash) label.style.display = "none";
    else kept.push(box);
  }
}
