// The teaching page: five views over one run (?run=<id>; a new default run when none is given), switched by
// tabs (?view=step|gradcheck|health|race|sweep), in English or Simplified Chinese (?lang=zh).
import { language, setLanguage, t, translateTree } from "../i18n/index.js";
import { el } from "../dom.js";
import { createHelp } from "../panels/help.js";
import { teachApi } from "./api.js";
import { createStepThrough } from "./stepthrough.js";
import { createGradcheck } from "./gradcheck.js";
import { createHealth } from "./health.js";
import { createRace } from "./race.js";
import { createSweep } from "./sweep.js";

const VIEWS = { step: createStepThrough, gradcheck: createGradcheck, health: createHealth, race: createRace, sweep: createSweep };
const listeners = new Map();

const ctx = {
  runId: null,
  on(event, listener) {
    if (!listeners.has(event)) listeners.set(event, []);
    listeners.get(event).push(listener);
  },
  emit(event, payload) {
    for (const listener of listeners.get(event) || []) listener(payload);
  },
  // Switch every view to another run (a preset's, say) and keep the URL a shareable link.
  setRun(runId) {
    ctx.runId = runId;
    writeUrl();
    document.getElementById("run-label").textContent = t("teach.run", { id: runId.slice(0, 6) });
    document.getElementById("dashboard-link").href = `index.html?run=${encodeURIComponent(runId)}`;
    ctx.emit("run", runId);
  },
  error(message) {
    const toast = el("div", { class: "toast", role: "alert" }, el("span", {}, message));
    toast.append(el("button", { textContent: "×", "aria-label": t("action.close"), onclick: () => toast.remove() }));
    document.getElementById("toasts").append(toast);
    setTimeout(() => toast.remove(), 8000);
  },
};
window.backproplabTeach = ctx;

const views = {};
let current = null;

function writeUrl() {
  const params = new URLSearchParams(location.search);
  if (ctx.runId) params.set("run", ctx.runId);
  if (current) params.set("view", current);
  if (language() !== "en") params.set("lang", language());
  else params.delete("lang");
  history.replaceState(null, "", `${location.pathname}?${params}`);
}

function show(name) {
  if (!VIEWS[name]) name = "step";
  for (const button of document.querySelectorAll("[data-view]")) button.setAttribute("aria-selected", String(button.dataset.view === name));
  for (const key of Object.keys(VIEWS)) document.getElementById(`view-${key}`).hidden = key !== name;
  if (current && current !== name) views[current].hide();
  current = name;
  writeUrl();
  views[name].show();
}

async function start() {
  const params = new URLSearchParams(location.search);
  setLanguage(params.get("lang") || "en");
  translateTree(document);
  const select = document.getElementById("language");
  select.value = language();
  select.addEventListener("change", () => {
    setLanguage(select.value);
    writeUrl();
    ctx.emit("language", select.value);
  });
  createHelp(ctx);
  let runId = params.get("run");
  if (runId) {
    try {
      await teachApi.getRun(runId);
    } catch (error) {
      ctx.error(error.message);
      runId = null;
    }
  }
  if (!runId) runId = (await teachApi.createRun({})).id;
  for (const [name, create] of Object.entries(VIEWS)) views[name] = create(ctx, document.getElementById(`${name}-body`));
  ctx.setRun(runId);
  for (const button of document.querySelectorAll("[data-view]")) button.addEventListener("click", () => show(button.dataset.view));
  show(params.get("view") || "step");
}

start().catch((error) => ctx.error(error.message));
