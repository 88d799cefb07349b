// JSON over fetch for the landscape page; failures throw an Error whose message is the server's words.
import { describeError } from "../api.js";
import { t } from "../i18n/index.js";

export async function fetchJson(method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new Error(t("error.network"));
  }
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(describeError(parsed, response.status));
  return parsed;
}

// GET an NDJSON stream: onLine(object) for every line as it arrives.
export async function streamLines(path, onLine) {
  const response = await fetch(path);
  if (!response.ok) {
    const text = await response.text();
    throw new Error(describeError(text ? JSON.parse(text) : null, response.status));
  }
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
