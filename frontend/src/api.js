// The REST client: every call returns parsed JSON or throws an ApiError whose message is in words.
import { t } from "./i18n/index.js";

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

// pydantic's 422 detail is a list of {loc, msg}; other errors carry a string detail.
export function describeError(body, status) {
  const detail = body && body.detail;
  if (Array.isArray(detail)) {
    return detail.map((item) => `${(item.loc || []).filter((part) => part !== "body").join(".")}: ${item.msg}`).join("; ");
  }
  if (typeof detail === "string") return detail;
  if (body && typeof body.message === "string") return body.message;
  return t("error.http", { status });
}

// The body of a response as parsed JSON, or null when it is empty or not JSON.
export async function readJson(response) {
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

// The one fetch wrapper of every page: JSON in and out; failures throw an ApiError whose message is in words.
export async function request(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(t("error.network"), 0);
  }
  const parsed = await readJson(response);
  if (!response.ok) throw new ApiError(describeError(parsed, response.status), response.status);
  return parsed;
}

export const api = {
  createRun: (config) => request("POST", "/api/runs", config),
  getRun: (id) => request("GET", `/api/runs/${encodeURIComponent(id)}`),
  patchRun: (id, config) => request("PATCH", `/api/runs/${encodeURIComponent(id)}`, config),
  points: (id) => request("GET", `/api/runs/${encodeURIComponent(id)}/points`),
  params: (id) => request("GET", `/api/runs/${encodeURIComponent(id)}/params`),
  historyUrl: (id, format) => `/api/runs/${encodeURIComponent(id)}/history?format=${format}`,
};
