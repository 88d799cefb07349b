// Which run a page opens when its link names none: the last run this browser owned (core/identity.js),
// else the newest of its runs (GET /api/runs lists the caller's own, oldest first), and only when it has
// none a new one. So reloading a page, or opening another, never piles up runs.
import { api } from "./api.js";
import { lastRunId, rememberRun } from "./identity.js";

export async function lastOrNewRun(config = {}) {
  const run = lastOf(await api.listRuns()) || (await api.createRun(config));
  rememberRun(run.id);
  return run;
}

// Of this browser's runs (GET /api/runs), the last one it opened, else the newest; null when it has none.
export function lastOf(mine) {
  const last = lastRunId();
  return mine.find((candidate) => candidate.id === last) || mine[mine.length - 1] || null;
}
