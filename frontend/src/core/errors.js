// Server errors in the user's words. The server answers {"field", "reason", "errors": [{field, reason}]}
// (pydantic's or the engine's wording); this turns each into a sentence that names the control the person
// sees ("Training rows must be at most 100.") in the page's language.
import { t, tOr } from "../i18n/index.js";

// pydantic's reasons that have a plain form; anything else is shown as the server wrote it.
const PATTERNS = [
  [/^Input should be less than or equal to (\S+)$/, "error.reason.at_most"],
  [/^Input should be greater than or equal to (\S+)$/, "error.reason.at_least"],
  [/^Input should be less than (\S+)$/, "error.reason.below"],
  [/^Input should be greater than (\S+)$/, "error.reason.above"],
  [/^Input should be a valid integer/, "error.reason.integer"],
  [/^Unable to parse input string as an integer/, "error.reason.integer"],
  [/^Input should be a valid number/, "error.reason.number"],
  [/^Input should be a finite number/, "error.reason.finite"],
  [/^List should have at most (\d+) items?/, "error.reason.max_items"],
  [/^List should have at least (\d+) items?/, "error.reason.min_items"],
  [/^String should have at most (\d+) characters?/, "error.reason.max_characters"],
  [/^Field required/, "error.reason.required"],
];

// The reason in the page's words, and whether it is a predicate of its own ("must be at most 10.") that
// follows the field's label, or the server's own sentence, which a colon sets apart from the label.
function reasonOf(reason) {
  const text = String(reason || "").replace(/^Value error, /, "");
  for (const [pattern, key] of PATTERNS) {
    const match = text.match(pattern);
    if (match) return { words: t(key, { value: match[1] }), predicate: true };
  }
  return { words: text, predicate: false };
}

// "optimizer.lr" → the label of that control ("Learning rate"): a field's own label, else the control
// named by its last part ("optimizer.momentum" → Momentum, "schedule.gamma" → the schedule's gamma);
// unknown fields keep their path.
export function fieldInWords(field) {
  if (!field) return "";
  const path = String(field).replace(/^(body|query|config)\./, "").replace(/\.\d+(\.|$)/g, "$1");
  const last = path.split(".").pop();
  return tOr(`field.${path}`, tOr(`controls.${path.startsWith("schedule.") ? "schedule_" : ""}${last}`, path));
}

// "Learning rate must be at most 10.", "Class code: no class has the code 'ZZZZZZ'; …".
export function errorInWords({ field, reason }) {
  const { words, predicate } = reasonOf(reason);
  if (!field) return words;
  return t(predicate ? "error.field_sentence" : "error.field_said", { field: fieldInWords(field), reason: words });
}

// A 403 for the token, in words that fit what the request was about (its API path): a class is its
// teacher's alone; anything else is someone else's run, which may be watched and forked.
const notYours = (path) => t(/^\/api\/classes\//.test(path) ? "access.not_teacher" : "access.not_yours");

// The message of an error body (REST; `path`: the request's) or error frame (WebSocket), in words. A 403
// says why in the page's words: not the caller's (`field` token), or a setting a class's teacher locked
// (`field` names it).
export function describeError(body, status, path = "") {
  if (status === 403 && body && body.field === "token") return notYours(path);
  if (status === 403 && body && body.field && body.field !== "origin") return t("access.locked_field", { field: fieldInWords(body.field) });
  // Each sentence once: every hidden layer over the limit is an error of its own, and reads the same.
  if (body && Array.isArray(body.errors) && body.errors.length) return [...new Set(body.errors.map(errorInWords))].join(" ");
  if (body && typeof body.reason === "string") return errorInWords(body);
  if (body && typeof body.detail === "string") return body.detail;
  if (body && typeof body.message === "string") return errorInWords({ field: body.field, reason: body.message.replace(/^[\w.]+: /, "") });
  return t("error.http", { status });
}
