// The page's one message surface: "error" and "notice" events on the bus become toasts in #toasts.
import { el } from "../dom.js";
import { t } from "../i18n/index.js";

const TOAST_MS = 8000;
const MAX_TOASTS = 4;

export function createToasts(bus, container) {
  const show = (kind) => (message) => {
    // The same message twice in a row (a failing request retried) stays one toast.
    const last = container.lastElementChild;
    if (last && last.dataset.message === message) return;
    const toast = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status", dataset: { message } }, el("span", {}, message));
    toast.append(el("button", { class: "icon", onclick: () => toast.remove(), "aria-label": t("action.close") }, "×"));
    container.append(toast);
    while (container.childElementCount > MAX_TOASTS) container.firstElementChild.remove();
    setTimeout(() => toast.remove(), TOAST_MS);
  };
  bus.on("error", show("error"));
  bus.on("notice", show("notice"));
}
