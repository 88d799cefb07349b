// NDJSON over fetch for the landscape page; failures throw an ApiError whose message is the server's words.
import { ApiError, describeError, readJson } from "../api.js";

// GET an NDJSON stream: onLine(object) for every line as it arrives.
export async function streamLines(path, onLine) {
  const response = await fetch(path);
  if (!response.ok) throw new ApiError(describeError(await readJson(response), response.status), response.status);
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
