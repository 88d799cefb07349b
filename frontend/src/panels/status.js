// Connection state, the divergence banner and error messages in words.
import { t } from "../i18n/index.js";
import { el } from "../dom.js";

const TOAST_MS = 8000;

export function createStatus(app) {
  const indicator = document.getElementById("connection");
  const banner = document.getElementById("diverged-banner");
  const bannerText = document.getElementById("diverged-text");
  const toasts = document.getElementById("toasts");
  let connection = "connecting";

  document.getElementById("diverged-fix").addEventListener("click", () => {
    const lr = app.state.run.resolved.optimizer.lr;
    app.setConfig({ optimizer: { lr: Number((lr / 10).toPrecision(3)) } }).then(() => app.send({ type: "reset" }));
  });

  function renderConnection() {
    indicator.dataset.state = connection;
    indicator.textContent = t(`status.${connection}`);
  }

  let shownText = null;
  function renderBanner() {
    const run = app.state.run;
    const text = run && run.status === "diverged" ? t("status.diverged", { message: run.message || "" }) : null;
    if (text === shownText) return;
    shownText = text;
    banner.hidden = text === null;
    if (text !== null) bannerText.textContent = text;
  }

  app.on("connection", (state) => {
    connection = state;
    renderConnection();
  });
  app.on("run", renderBanner);
  app.on("frame", renderBanner);
  app.on("language", () => {
    renderConnection();
    renderBanner();
  });
  const toast = (kind) => (message) => {
    const toast = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, el("span", {}, message));
    const close = el("button", { class: "icon", onclick: () => toast.remove(), "aria-label": t("action.close") }, "×");
    toast.append(close);
    toasts.append(toast);
    setTimeout(() => toast.remove(), TOAST_MS);
  };
  app.on("error", toast("error"));
  app.on("notice", toast("notice"));
  renderConnection();
}
