// Which settings of a run changed, and whether this browser changed them. A run's config reaches the
// dashboard from its own changes (the PATCH answers) and from the socket (`run` and `state` messages),
// which also bring every change made elsewhere: a teacher's push to the class, another person's page, the
// REST API. The socket echoes this page's own change too, maybe before the PATCH answers: a setting counts
// as this page's own while its change is on its way (once answered, the config already holds it, and its
// echo changes nothing). A sibling tab of this browser says what it sends over a BroadcastChannel; its
// answer time is unknown here, so a change to the very value it sent counts as the sibling's for
// SIBLING_MS (a teacher's push a moment later is still the teacher's). No help from the server.

const SIBLING_MS = 5000;
const CHANNEL = "backproplab.own-changes";
const ANY = "*"; // a CSV upload: the whole dataset changes, to values this page never sees

const isPlain = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

// {optimizer: {lr: 0.1, name: "adam"}} → {"optimizer.lr": 0.1, "optimizer.name": "adam"}: every setting a
// config (or a patch) names, arrays kept whole.
function settingValues(config, prefix = "", into = {}) {
  for (const [key, value] of Object.entries(config || {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (isPlain(value)) settingValues(value, path, into);
    else into[path] = value;
  }
  return into;
}

// [{path, from, to}] for each setting whose value differs between two configs.
export function changedSettings(before, after) {
  const [old, now] = [settingValues(before), settingValues(after)];
  const paths = new Set([...Object.keys(old), ...Object.keys(now)]);
  return [...paths].filter((path) => JSON.stringify(old[path] ?? null) !== JSON.stringify(now[path] ?? null)).map((path) => ({ path, from: old[path] ?? null, to: now[path] ?? null }));
}

// Whether two settings are one or one holds the other ("dataset" holds "dataset.noise").
export const overlaps = (a, b) => a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);

// The settings this browser is changing. sending(runId, patch) → done(), to call when the change is
// answered (or refused); isPending(runId, path): this page's change of it is on its way; bySibling(runId,
// path, value): another tab of this browser has just set it to that value.
export function createOwnChanges() {
  const pending = new Set(); // {runId, paths}
  let siblings = []; // {runId, values, until}
  const channel = "BroadcastChannel" in window ? new BroadcastChannel(CHANNEL) : null;
  if (channel) channel.onmessage = ({ data }) => siblings.push({ ...data, until: performance.now() + SIBLING_MS });
  const sameValue = (sent, value) => sent === ANY || JSON.stringify(sent) === JSON.stringify(value ?? null);

  return {
    // patch: a RunConfig patch, or a File (a CSV upload: the dataset).
    sending(runId, patch) {
      const values = patch instanceof File ? { dataset: ANY } : settingValues(patch);
      const entry = { runId, paths: Object.keys(values) };
      pending.add(entry);
      if (channel) channel.postMessage({ runId, values });
      return () => pending.delete(entry);
    },
    isPending: (runId, path) => [...pending].some((entry) => entry.runId === runId && entry.paths.some((mine) => overlaps(mine, path))),
    bySibling(runId, path, value) {
      const now = performance.now();
      siblings = siblings.filter((entry) => entry.until > now);
      return siblings.some((entry) => entry.runId === runId && Object.entries(entry.values).some(([mine, sent]) => (mine === path && sameValue(sent, value)) || (sent === ANY && overlaps(mine, path))));
    },
  };
}
