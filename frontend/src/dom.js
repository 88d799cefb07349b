// Small DOM helpers shared by the panels.

// el("button", {class: "x", dataset: {i18n: "k"}, onclick}, child...) creates an element.
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function saveUrl(url, filename) {
  const link = el("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
}

// A canvas whose backing store matches the device pixel ratio; returns its 2-D context scaled to CSS px.
export function fitCanvas(canvas, width, height) {
  const ratio = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(width * ratio));
  const h = Math.max(1, Math.round(height * ratio));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return ctx;
}

// Numbers for people: 4 significant digits, scientific when very small or large.
export function formatNumber(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  if (value === 0) return "0";
  const magnitude = Math.abs(value);
  if (magnitude < 1e-3 || magnitude >= 1e5) return value.toExponential(2);
  return Number(value.toPrecision(4)).toString();
}

// A counter in little room: exact below ``exactBelow`` (99,999 at most: five digits), then compact with 3
// significant digits in the page's language ("118K", "1.23M", "11.8万"), so a long run's step count never
// widens (or wraps) the top bar or a gallery card.
export function formatCount(count, exactBelow = 100_000) {
  if (count < exactBelow) return String(count);
  const locale = document.documentElement.lang || "en";
  return new Intl.NumberFormat(locale, { notation: "compact", maximumSignificantDigits: 3 }).format(count);
}

export function isTyping(target) {
  return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName));
}
