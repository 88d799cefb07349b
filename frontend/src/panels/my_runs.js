// The "Runs" menu and the "My runs" dialog: this browser's runs (GET /api/runs) to open, rename, keep
// training or delete, how many it may keep (GET /api/identities/me), a new run, joining or teaching a
// class, and this browser's identity: "Use on another computer" and "I have a key" (panels/key.js), and
// "Forget me on this computer" for shared lab machines. After a change of identity the dashboard opens
// afresh (the new identity's newest run). A refusal (429: too many runs) is shown as the server words it,
// since it says what to do, and opens this list.
import { el, formatNumber } from "../dom.js";
import { t, tOr } from "../i18n/index.js";
import { api, reusableConfig } from "../core/api.js";
import { forgetMe } from "../core/identity.js";
import { createKeyDialogs } from "./key.js";
import { setupUrl } from "../url_state.js";

const MAX_NAME = 80; // runs/schemas.py MAX_NAME
const CONFIRM_MS = 4000;

// A button that asks "sure?" by changing its label, and acts on the second click within a few seconds.
export function twoStep(labelKey, confirmKey, action, props = {}) {
  const button = el("button", { ...props, dataset: { i18n: labelKey } }, t(labelKey));
  let timer = null;
  button.addEventListener("click", () => {
    if (!timer) {
      button.textContent = t(confirmKey);
      button.classList.add("confirming");
      timer = setTimeout(() => {
        timer = null;
        button.classList.remove("confirming");
        button.textContent = t(labelKey);
      }, CONFIRM_MS);
      return;
    }
    clearTimeout(timer);
    timer = null;
    action();
  });
  return button;
}

function setupSummary(run) {
  const { config, resolved } = run;
  const data = tOr(`data.kind.${config.dataset.kind}`, config.dataset.kind);
  const optimizer = tOr(`choice.optimizer.${config.optimizer.name}`, config.optimizer.name);
  return `${data} · ${resolved.sizes.join("-")} · ${optimizer} ${formatNumber(resolved.optimizer.lr)}`;
}

// The bare dashboard in the same language and projector mode: this browser's last (or newest, or a new) run.
function reopen() {
  const here = new URLSearchParams(location.search);
  const next = new URL("index.html", location.href);
  for (const name of ["lang", "projector"]) if (here.has(name)) next.searchParams.set(name, here.get(name));
  location.href = next.href;
}

export function createMyRuns(app) {
  const menu = document.getElementById("runs-menu");
  const dialog = document.getElementById("runs-dialog");
  const rows = document.getElementById("runs-rows");
  const quota = document.getElementById("runs-quota");
  const empty = document.getElementById("runs-empty");
  const teach = document.getElementById("teach-class-link");

  menu.addEventListener("click", (event) => {
    if (event.target.closest("button, a")) menu.open = false;
  });
  document.getElementById("my-runs").addEventListener("click", () => show());
  document.getElementById("runs-close").addEventListener("click", () => dialog.close());
  document.getElementById("new-run").addEventListener("click", () => newRun());
  document.getElementById("runs-new").addEventListener("click", () => newRun());
  // "Teach a class" opens the class page with this run's setup as the class's starting point.
  for (const event of ["pointerdown", "focus", "click"]) {
    teach.addEventListener(event, () => app.state.run && (teach.href = setupUrl(reusableConfig(app.state.run), "class.html")));
  }
  const keys = createKeyDialogs(app, reopen);
  document.getElementById("show-key").addEventListener("click", keys.showKey);
  document.getElementById("use-key").addEventListener("click", keys.askKey);
  document.getElementById("identity-actions").append(
    twoStep("runs.forget", "runs.forget_confirm", () => {
      forgetMe();
      reopen();
    }, { id: "forget-me", class: "danger" }),
  );

  async function newRun() {
    try {
      app.openRun(await api.createRun({}));
      dialog.close();
    } catch (error) {
      app.emit("error", error.message);
      if (error.status === 429) show();
    }
  }

  async function show() {
    if (!dialog.open) dialog.showModal();
    try {
      const [runs, me] = await Promise.all([api.listRuns(), api.me()]);
      quota.textContent = me.max_runs === null ? t("runs.quota_unlimited", { runs: me.runs }) : t("runs.quota", { runs: me.runs, max: me.max_runs });
      quota.classList.toggle("full", me.max_runs !== null && me.runs >= me.max_runs);
      rows.replaceChildren(...runs.reverse().map(row));
      empty.hidden = runs.length > 0;
    } catch (error) {
      app.emit("error", error.message);
    }
  }

  // The change, or null after saying why it was refused (the row then shows what the run still has).
  async function patch(run, body) {
    try {
      const changed = await api.patchRun(run.id, body);
      Object.assign(run, { name: changed.name, keep_training: changed.keep_training });
      if (changed.id === app.state.run.id) app.emit("run", Object.assign(app.state.run, { name: changed.name, keep_training: changed.keep_training }));
      return changed;
    } catch (error) {
      app.emit("error", error.message);
      return null;
    }
  }

  function row(run) {
    const current = run.id === app.state.run.id;
    const name = el("input", { class: "run-name", value: run.name || "", maxLength: MAX_NAME, placeholder: t("runs.unnamed"), "aria-label": t("runs.col_name") });
    name.addEventListener("change", async () => (await patch(run, { name: name.value.trim() || null })) || (name.value = run.name || ""));
    const keep = el("input", { type: "checkbox", checked: run.keep_training, title: t("runs.keep_hint"), "aria-label": t("runs.col_keep") });
    keep.addEventListener("change", async () => (await patch(run, { keep_training: keep.checked })) || (keep.checked = run.keep_training));
    const open = el("button", { class: "open-run", disabled: current }, t(current ? "runs.current" : "runs.open"));
    open.addEventListener("click", () => {
      dialog.close();
      app.openRun(run);
    });
    const remove = twoStep("runs.delete", "runs.delete_confirm", async () => {
      const open = run.id === app.state.run.id;
      if (open) app.socket.close(); // not a lost connection to recover from: the page moves to another run
      try {
        await api.deleteRun(run.id);
        await app.runDeleted(run.id);
        show();
      } catch (error) {
        app.emit("error", error.message);
        if (open) app.openRun(app.state.run);
      }
    }, { class: "danger delete-run" });
    const badge = run.class ? el("span", { class: "badge" }, t("runs.in_class", { name: run.class.name || run.class.code })) : null;
    return el(
      "tr",
      { class: current ? "current" : "", dataset: { run: run.id } },
      el("td", {}, name, badge),
      el("td", { class: "setup" }, setupSummary(run)),
      el("td", { class: "num", dataset: { label: t("runs.col_step") } }, String(run.step)),
      el("td", { class: "num", dataset: { label: t("runs.col_test_loss") } }, formatNumber(run.latest.test_loss)),
      el("td", { class: "center", dataset: { label: t("runs.col_keep") } }, keep),
      el("td", { class: "actions" }, open, remove),
    );
  }

  app.on("my-runs", show);
  app.on("language", () => dialog.open && show());
}
