// The Learn page: five views over one run (?run=<id>; without one, the last run this browser owned, else
// its newest, else a new default run: core/last_run.js), switched by tabs
// (?view=step|gradcheck|health|race|sweep). The shared bootstrap (core/page.js) gives the bus, toasts,
// language and projector mode; views get `ctx` = that page plus the run id and setRun.
import { t } from "../i18n/index.js";
import { api } from "../core/api.js";
import { lastOrNewRun } from "../core/last_run.js";
import { setUrlParams, startPage } from "../core/page.js";
import { createStepThrough } from "./stepthrough.js";
import { createGradcheck } from "./gradcheck.js";
import { createHealth } from "./health.js";
import { createRace } from "./race.js";
import { createSweep } from "./sweep.js";

const VIEWS = { step: createStepThrough, gradcheck: createGradcheck, health: createHealth, race: createRace, sweep: createSweep };

async function start() {
  const ctx = await startPage();
  const views = {};
  let current = null;
  ctx.runId = null;
  // Switch every view to another run (a preset's, say) and keep the URL a shareable link.
  ctx.setRun = (runId) => {
    ctx.runId = runId;
    setUrlParams({ run: runId });
    document.getElementById("run-label").textContent = t("teach.run", { id: runId.slice(0, 6) });
    document.getElementById("dashboard-link").href = `index.html?run=${encodeURIComponent(runId)}`;
    ctx.emit("run", runId);
  };
  window.backproplabTeach = ctx;

  function show(name) {
    if (!VIEWS[name]) name = "step";
    for (const button of document.querySelectorAll("[data-view]")) button.setAttribute("aria-selected", String(button.dataset.view === name));
    for (const key of Object.keys(VIEWS)) document.getElementById(`view-${key}`).hidden = key !== name;
    if (current && current !== name) views[current].hide();
    current = name;
    setUrlParams({ view: name });
    views[name].show();
  }

  let runId = ctx.params.get("run");
  if (runId) {
    try {
      await api.getRun(runId);
    } catch (error) {
      ctx.error(error.message);
      runId = null;
    }
  }
  if (!runId) runId = (await lastOrNewRun()).id;
  for (const [name, create] of Object.entries(VIEWS)) views[name] = create(ctx, document.getElementById(`${name}-body`));
  ctx.setRun(runId);
  for (const button of document.querySelectorAll("[data-view]")) button.addEventListener("click", () => show(button.dataset.view));
  show(ctx.params.get("view") || "step");
}

start().catch((error) => console.error(error));
