// The one REST client of every page: each route the frontend calls, JSON in and out. Failures throw an
// ApiError whose message is in the user's words (errors.js) and whose `field` names the input at fault.
import { t } from "../i18n/index.js";
import { describeError } from "./errors.js";

export class ApiError extends Error {
  constructor(message, status, field = null) {
    super(message);
    this.status = status;
    this.field = field;
  }
}

async function readJson(response) {
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

async function send(method, path, body) {
  try {
    return await fetch(path, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(t("error.network"), 0);
  }
}

async function failure(response) {
  const parsed = await readJson(response);
  return new ApiError(describeError(parsed, response.status), response.status, parsed && parsed.field);
}

export async function request(method, path, body) {
  const response = await send(method, path, body);
  if (!response.ok) throw await failure(response);
  return readJson(response);
}

// GET an NDJSON stream: onLine(object) for every line as it arrives.
async function streamLines(path, onLine) {
  const response = await send("GET", path);
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    const lines = buffer.split("\n");
    buffer = lines.pop();
    for (const line of lines) if (line.trim()) onLine(JSON.parse(line));
  }
  if (buffer.trim()) onLine(JSON.parse(buffer));
}

const run = (id) => `/api/runs/${encodeURIComponent(id)}`;
const query = (params) => new URLSearchParams(params).toString();

export const api = {
  choices: () => request("GET", "/api/choices"),
  // runs
  listRuns: () => request("GET", "/api/runs"),
  createRun: (config) => request("POST", "/api/runs", config),
  getRun: (id) => request("GET", run(id)),
  patchRun: (id, config) => request("PATCH", run(id), config),
  stepRun: (id, steps) => request("POST", `${run(id)}/step`, { steps }),
  points: (id) => request("GET", `${run(id)}/points`),
  params: (id) => request("GET", `${run(id)}/params`),
  historyUrl: (id, format) => `${run(id)}/history?${query({ format })}`,
  // teaching
  stepThrough: (id, sample, batch) => request("GET", `${run(id)}/stepthrough?${query({ sample, batch })}`),
  expression: (a, b, c) => request("GET", `/api/textbook/expression?${query({ a, b, c })}`),
  textbookNetwork: () => request("GET", "/api/textbook/network"),
  gradcheck: (id, h, samples) => request("GET", `${run(id)}/gradcheck?${query({ h, samples })}`),
  hSweep: (id, samples) => request("GET", `${run(id)}/gradcheck/sweep?${query({ samples })}`),
  health: (id) => request("GET", `${run(id)}/health`),
  presets: () => request("GET", "/api/presets"),
  createComparison: (body) => request("POST", "/api/comparisons", body),
  controlComparison: (id, action, steps) =>
    request("POST", `/api/comparisons/${encodeURIComponent(id)}/${action}`, action === "step" ? { steps } : undefined),
  sweep: (body) => request("POST", "/api/sweeps", body),
  // landscape
  landscape: (id, params, onLine) => streamLines(`${run(id)}/landscape?${query(params)}`, onLine),
  landscapeLine: (id, params) => request("GET", `${run(id)}/landscape/line?${query(params)}`),
  surfaces: () => request("GET", "/api/surfaces"),
  surfaceGrid: (name, params) => request("GET", `/api/surfaces/${encodeURIComponent(name)}/grid?${query(params)}`),
  createRace: (body) => request("POST", "/api/races", body),
  deleteRace: (id) => request("DELETE", `/api/races/${encodeURIComponent(id)}`),
};

// A run's config as a base for new runs: custom data travels without its rows (X, y are null), so fall back
// to the default dataset then.
export function reusableConfig(runOut) {
  const config = structuredClone(runOut.config);
  if (config.dataset && config.dataset.kind === "custom") delete config.dataset;
  return config;
}
