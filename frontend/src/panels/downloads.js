// The Share menu: the metric history (CSV or JSON, from the REST API), the weights as JSON, and two links
// (url_state.js): the setup link (the config only: whoever opens it gets a new run of their own with this
// setup and seed) and the watch link (this run live, read-only for anyone but its owner and teacher).
// Neither carries a token. Where the clipboard is not available (a page served over plain http to a
// classroom), the link is shown selected in a small dialog to copy by hand.
import { api, reusableConfig } from "../core/api.js";
import { saveBlob, saveUrl } from "../dom.js";
import { t } from "../i18n/index.js";
import { setupUrl, watchUrl } from "../url_state.js";

async function copyLink(app, link, copiedKey) {
  const dialog = document.getElementById("link-dialog");
  const field = document.getElementById("link-text");
  document.getElementById("link-note").textContent = t(copiedKey);
  field.value = link;
  try {
    await navigator.clipboard.writeText(link);
    app.emit("notice", `${t("share.copied")} ${t(copiedKey)}`);
  } catch {
    dialog.showModal();
    field.focus();
    field.select();
  }
}

export function createDownloads(app) {
  const runId = () => app.state.run.id;
  const menu = document.querySelector('.topbar [data-control="downloads"]');
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
  document.getElementById("copy-setup-link").addEventListener("click", () => copyLink(app, setupUrl(reusableConfig(app.state.run)), "share.setup_note"));
  document.getElementById("copy-watch-link").addEventListener("click", () => copyLink(app, watchUrl(runId()), "share.watch_note"));
  document.getElementById("link-close").addEventListener("click", () => document.getElementById("link-dialog").close());
}
