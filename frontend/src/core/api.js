// The one REST client of every page: each route the frontend calls, JSON in and out. Failures throw an
// ApiError whose message is in the user's words (errors.js) and whose `field` names the input at fault.
// Every request carries this browser's identity as `Authorization: Bearer <token>` (core/identity.js): a
// change mints one first if the browser has none, a read goes without; a token the server answers 401
// for is dropped, a new identity made and the request tried once more. A create response's `token` (or a
// class's `teacher_token`) is kept as this browser's identity.
import { t } from "../i18n/index.js";
import { describeError } from "./errors.js";
import { ensureToken, renewToken, saveToken, storedToken } from "./identity.js";

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

// body: undefined, FormData (a file upload; the browser sets the multipart type) or JSON.
function send(method, path, body, token) {
  const form = body instanceof FormData;
  const headers = body === undefined || form ? {} : { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  return fetch(path, { method, headers, body: body === undefined || form ? body : JSON.stringify(body) });
}

// The response to one request, sent with this browser's token; 401 for the token: once more with a new one.
async function authorised(method, path, body) {
  try {
    let token = method === "GET" ? storedToken() : await ensureToken();
    let response = await send(method, path, body, token);
    if (response.status === 401 && token) {
      const parsed = await readJson(response.clone());
      if (parsed && parsed.field === "token") {
        token = await renewToken(token);
        response = await send(method, path, body, token);
      }
    }
    return response;
  } catch {
    throw new ApiError(t("error.network"), 0);
  }
}

async function failure(response, path) {
  const parsed = await readJson(response);
  return new ApiError(describeError(parsed, response.status, path), response.status, parsed && parsed.field);
}

// Who a key names, asked with that key instead of this browser's (GET /api/identities/me): "I have a key"
// checks a pasted key before keeping it. Nothing is renewed or kept here: an unknown key is a 401 ApiError.
async function identityOf(token) {
  let response;
  try {
    response = await send("GET", "/api/identities/me", undefined, token);
  } catch {
    throw new ApiError(t("error.network"), 0);
  }
  if (!response.ok) throw await failure(response, "/api/identities/me");
  return readJson(response);
}

export async function request(method, path, body) {
  const response = await authorised(method, path, body);
  if (!response.ok) throw await failure(response, path);
  const parsed = await readJson(response);
  if (parsed && typeof parsed === "object") saveToken(parsed.token || parsed.teacher_token);
  return parsed;
}

// A download that needs the token (a plain link cannot carry it): the body as a Blob.
async function requestBlob(path) {
  const response = await authorised("GET", path);
  if (!response.ok) throw await failure(response, path);
  return response.blob();
}

// GET an NDJSON stream: onLine(object) for every line as it arrives.
async function streamLines(path, onLine) {
  const response = await authorised("GET", path);
  if (!response.ok) throw await failure(response, path);
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
const group = (id) => `/api/classes/${encodeURIComponent(id)}`;
const query = (params) => new URLSearchParams(params).toString();

export const api = {
  choices: () => request("GET", "/api/choices"),
  me: () => request("GET", "/api/identities/me"),
  identityOf,
  // runs
  listRuns: () => request("GET", "/api/runs"),
  createRun: (config) => request("POST", "/api/runs", config),
  getRun: (id) => request("GET", run(id)),
  patchRun: (id, config) => request("PATCH", run(id), config),
  deleteRun: (id) => request("DELETE", run(id)),
  forkRun: (id) => request("POST", `${run(id)}/fork`),
  // A CSV file as the run's data (the server parses it and keeps its column, target and class names).
  uploadCsv: (id, file) => {
    const form = new FormData();
    form.append("file", file);
    return request("PATCH", run(id), form);
  },
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
  deleteComparison: (id) => request("DELETE", `/api/comparisons/${encodeURIComponent(id)}`),
  // body: { steps } for step, { steps_per_second } for play (null: flat out; none: the server's pace)
  controlComparison: (id, action, body) => request("POST", `/api/comparisons/${encodeURIComponent(id)}/${action}`, body),
  sweep: (body) => request("POST", "/api/sweeps", body),
  // landscape
  landscape: (id, params, onLine) => streamLines(`${run(id)}/landscape?${query(params)}`, onLine),
  landscapeLine: (id, params) => request("GET", `${run(id)}/landscape/line?${query(params)}`),
  surfaces: () => request("GET", "/api/surfaces"),
  surfaceGrid: (name, params) => request("GET", `/api/surfaces/${encodeURIComponent(name)}/grid?${query(params)}`),
  createRace: (body) => request("POST", "/api/races", body),
  deleteRace: (id) => request("DELETE", `/api/races/${encodeURIComponent(id)}`),
  // classes
  listClasses: () => request("GET", "/api/classes"),
  createClass: (body) => request("POST", "/api/classes", body),
  getClass: (id) => request("GET", group(id)),
  patchClass: (id, body) => request("PATCH", group(id), body),
  deleteClass: (id) => request("DELETE", group(id)),
  exportClass: (id) => requestBlob(`${group(id)}/export`),
  joinClass: (code, name) => request("POST", `/api/classes/${encodeURIComponent(code)}/join`, name ? { name } : {}),
};

// A run's config as a base for new runs. Its custom data has no rows (X, y are null), only their content
// hash, which names rows stored on this server: runs made here from it (a race's racers, a sweep) keep the
// data with `{ sameData: true }`; a setup link, opened by anyone on any server, falls back to the default
// dataset.
export function reusableConfig(runOut, { sameData = false } = {}) {
  const config = structuredClone(runOut.config);
  if (!sameData && config.dataset && config.dataset.kind === "custom") delete config.dataset;
  return config;
}
