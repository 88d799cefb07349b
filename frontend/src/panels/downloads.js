// Downloads: the metric history (CSV or JSON, from the REST API), the weights as JSON, and a share link.
import { api } from "../core/api.js";
import { saveBlob, saveUrl } from "../dom.js";
import { t } from "../i18n/index.js";

export function createDownloads(app) {
  const runId = () => app.state.run.id;
  const menu = document.querySelector(".topbar .menu");
  menu.addEventListener("click", (event) => {
    if (event.target instanceof HTMLButtonElement) menu.open = false;
  });
  document.getElementById("download-csv").addEventListener("click", () => saveUrl(api.historyUrl(runId(), "csv"), `backproplab-${runId()}-history.csv`));
  document.getElementById("download-json").addEventListener("click", () => saveUrl(api.historyUrl(runId(), "json"), `backproplab-${runId()}-history.json`));
  document.getElementById("download-weights").addEventListener("click", async () => {
    try {
      const params = await api.params(runId());
      const body = JSON.stringify({ run: runId(), step: app.state.run.step, config: app.state.run.config, ...params }, null, 1);
      saveBlob(new Blob([body], { type: "application/json" }), `backproplab-${runId()}-weights.json`);
    } catch (error) {
      app.emit("error", error.message);
    }
  });
  document.getElementById("copy-link").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(location.href);
      app.emit("notice", t("share.copied"));
    } catch {
      app.emit("error", t("share.copy_failed"));
    }
  });
}
