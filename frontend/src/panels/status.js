// What state the run and the connection are in: the connection badge (its words fold to a dot on narrow
// screens), the divergence banner with its one-click fix, the server's notice about the run (its `message`
// while not diverged: it was paused by a server stop or a trainer restart, until the next change), and the
// "stopped learning" banner (the engine's `learning` field: dead units, a flat loss, vanished gradients)
// with the engine's fix.
import { t, tOr } from "../i18n/index.js";

export function createStatus(app) {
  const indicator = document.getElementById("connection");
  const diverged = document.getElementById("diverged-banner");
  const divergedText = document.getElementById("diverged-text");
  const notice = document.getElementById("notice-banner");
  const noticeText = document.getElementById("notice-text");
  const learning = document.getElementById("learning-banner");
  const learningText = document.getElementById("learning-text");
  const learningFix = document.getElementById("learning-fix");

  document.getElementById("diverged-fix").addEventListener("click", () => {
    const lr = app.state.run.resolved.optimizer.lr;
    app.setConfig({ optimizer: { lr: Number((lr / 10).toPrecision(3)) } }).then(() => app.send({ type: "reset" }));
  });
  learningFix.addEventListener("click", async () => {
    const advice = app.state.run.learning;
    if (!advice) return;
    if (advice.fix) await app.setConfig(advice.fix);
    if (advice.reset) app.send({ type: "reset" });
  });

  function renderConnection() {
    indicator.dataset.state = app.connection;
    // The slot in the top bar is narrow: a word there, the whole story in the tooltip.
    indicator.title = tOr(`status.${app.connection}_hint`, t(`status.${app.connection}`));
    indicator.querySelector(".connection-text").textContent = t(`status.${app.connection}`);
  }

  let shown = "";
  function renderBanners() {
    const run = app.state.run;
    if (!run) return;
    const advice = run.learning;
    const key = `${run.status}|${run.message}|${advice ? advice.kind + advice.message : ""}|${t("status.step")}`;
    if (key === shown) return;
    shown = key;
    diverged.hidden = run.status !== "diverged";
    divergedText.textContent = diverged.hidden ? "" : t("status.diverged", { message: run.message || "" });
    notice.hidden = !diverged.hidden || !run.message;
    noticeText.textContent = notice.hidden ? "" : run.message;
    learning.hidden = !advice || run.status === "diverged";
    if (advice) {
      learning.dataset.kind = advice.kind;
      learningText.textContent = t("status.stopped_learning", { message: advice.message });
      learningFix.hidden = !advice.fix && !advice.reset;
      learningFix.textContent = t(advice.fix ? "status.apply_fix" : "status.reset_fix");
    }
  }

  app.on("connection", renderConnection);
  app.on("run", renderBanners);
  app.on("frame", renderBanners);
  app.on("language", () => {
    shown = "";
    renderConnection();
    renderBanners();
  });
  renderConnection();
}
