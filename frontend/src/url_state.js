// The page's URL holds the whole setup so a link reproduces it:
//   ?run=<id>&lang=zh&hide=optimizer,lr&projector=1&seed=0&dataset.kind=spiral&model.hidden=8,8&optimizer.lr=0.01 ...
// Config fields travel as dotted paths; lists as comma-separated values. Custom data (X, y, its content
// hash), added points, the data's names and explicit start weights are too big or too free-form for a
// link and stay with the run on the server. A link never carries a token.
//   setup link: the config only (whoever opens it gets a new run of their own: setupUrl)
//   watch link: ?run=<id> only (a live view, read-only for anyone but its owner and teacher: watchUrl)
//   join link:  ?join=<class code> (the dashboard asks for a name and joins the class)

const RESERVED = new Set(["run", "lang", "hide", "projector", "join", "class"]);
const LIST_FIELDS = { features: String, "model.hidden": Number, "optimizer.betas": Number };
const NOT_IN_URL = new Set([
  "dataset.X",
  "dataset.y",
  "dataset.content_hash",
  "dataset.extra",
  "dataset.columns",
  "dataset.target_name",
  "dataset.class_names",
  "model.weights",
]);

export function readUrl(search = location.search) {
  const params = new URLSearchParams(search);
  const config = {};
  for (const [key, raw] of params) {
    if (RESERVED.has(key) || NOT_IN_URL.has(key)) continue;
    setPath(config, key.split("."), parseValue(key, raw));
  }
  if (config.dataset && config.dataset.kind === "custom") delete config.dataset.kind;
  return {
    runId: params.get("run"),
    lang: params.get("lang"),
    hidden: (params.get("hide") || "").split(",").filter(Boolean),
    join: params.get("join"),
    config,
  };
}

// A page beside this one (so a server behind a path prefix keeps it) with these query parameters.
function pageUrl(page, params) {
  const url = new URL(page, location.href);
  url.search = params.toString().replace(/%2C/g, ",");
  return url.href;
}

export function setupUrl(config, page = "index.html") {
  return pageUrl(page, new URLSearchParams(flatten(config || {})));
}

export function watchUrl(runId) {
  return pageUrl("index.html", new URLSearchParams({ run: runId }));
}

export function joinUrl(code) {
  return pageUrl("index.html", new URLSearchParams({ join: code }));
}

export function writeUrl({ runId, lang, hidden, projector, config }) {
  const params = new URLSearchParams();
  if (runId) params.set("run", runId);
  if (lang) params.set("lang", lang);
  if (hidden && hidden.length) params.set("hide", hidden.join(","));
  if (projector) params.set("projector", "1");
  for (const [key, value] of flatten(config || {})) params.set(key, value);
  const url = `${location.pathname}?${params.toString().replace(/%2C/g, ",")}`;
  history.replaceState(null, "", url);
}

function flatten(object, prefix = "", out = []) {
  for (const [key, value] of Object.entries(object)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value === null || value === undefined || NOT_IN_URL.has(path)) continue;
    if (Array.isArray(value)) out.push([path, value.join(",")]);
    else if (typeof value === "object") flatten(value, path, out);
    else out.push([path, String(value)]);
  }
  return out;
}

function parseValue(key, raw) {
  if (key in LIST_FIELDS) return raw === "" ? [] : raw.split(",").map(LIST_FIELDS[key]);
  if (raw === "true" || raw === "false") return raw === "true";
  if (raw !== "" && !Number.isNaN(Number(raw))) return Number(raw);
  return raw;
}

function setPath(object, parts, value) {
  let node = object;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== "object" || node[part] === null) node[part] = {};
    node = node[part];
  }
  node[parts[parts.length - 1]] = value;
}
