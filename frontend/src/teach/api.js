// REST calls of the teaching views. Errors become ApiError with the server's "field: reason" in words.
import { request } from "../api.js";

const run = (id) => `/api/runs/${encodeURIComponent(id)}`;
const query = (params) => new URLSearchParams(params).toString();

export const teachApi = {
  createRun: (config) => request("POST", "/api/runs", config),
  getRun: (id) => request("GET", run(id)),
  stepRun: (id, steps) => request("POST", `${run(id)}/step`, { steps }),
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
};

// A run's config as a base for new runs: custom data travels without its rows (X, y are null), so fall back
// to the default dataset then.
export function reusableConfig(runOut) {
  const config = structuredClone(runOut.config);
  if (config.dataset && config.dataset.kind === "custom") delete config.dataset;
  return config;
}
