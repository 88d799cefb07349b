// The page's one message surface: "error" and "notice" events on the bus become toasts in #toasts. The
// stack sits in the first of PLACES where it covers none of the page's controls, else where it covers the
// least of them (in the bottom right corner, a notice after "Push to every student" hid "Export results"
// and "End the class" for its 8 s).
import { el } from "../dom.js";
import { t } from "../i18n/index.js";

const TOAST_MS = 8000;
const MAX_TOASTS = 4;
const PLACES = ["bottom-right", "bottom-left", "top-right", "top-left"]; // app.css .toasts[data-place]
const CONTROLS = "button, a[href], input, select, textarea, summary, [tabindex]:not([tabindex='-1'])";

// How much of the page's controls the toasts hide: for each control a toast overlaps where the control is
// the topmost thing once the toasts are set aside (not one under the class spotlight or behind a dialog),
// the share of its area hidden (a whole button hidden counts 1, the top edge of a large card little).
function coveredControls(container) {
  const boxes = [...container.children].map((toast) => toast.getBoundingClientRect());
  let covered = 0;
  for (const control of document.querySelectorAll(CONTROLS)) {
    if (container.contains(control)) continue;
    const rect = control.getBoundingClientRect();
    for (const box of boxes) {
      const [left, right] = [Math.max(rect.left, box.left), Math.min(rect.right, box.right)];
      const [top, bottom] = [Math.max(rect.top, box.top), Math.min(rect.bottom, box.bottom)];
      if (right <= left || bottom <= top) continue;
      const under = document.elementsFromPoint((left + right) / 2, (top + bottom) / 2).find((node) => !container.contains(node));
      if (under && control.contains(under)) covered += ((right - left) * (bottom - top)) / (rect.width * rect.height);
    }
  }
  return covered;
}

function place(container) {
  let best = null;
  for (const name of PLACES) {
    container.dataset.place = name;
    const covered = coveredControls(container);
    if (best === null || covered < best.covered) best = { name, covered };
    if (covered === 0) break;
  }
  container.dataset.place = best.name;
}

export function createToasts(bus, container) {
  container.dataset.place = PLACES[0];
  const show = (kind) => (message) => {
    // The same message twice in a row (a failing request retried) stays one toast.
    const last = container.lastElementChild;
    if (last && last.dataset.message === message) return;
    const toast = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status", dataset: { message } }, el("span", {}, message));
    toast.append(el("button", { class: "icon", onclick: () => toast.remove(), "aria-label": t("action.close") }, "×"));
    container.append(toast);
    while (container.childElementCount > MAX_TOASTS) container.firstElementChild.remove();
    place(container);
    setTimeout(() => toast.remove(), TOAST_MS);
  };
  bus.on("error", show("error"));
  bus.on("notice", show("notice"));
}
