// The data panel: which dataset (the server's list), its noise, the train/test split, classes, a fresh
// draw, CSV upload, and clicking or tapping the output to add points (shift: the other class; alt:
// remove the nearest added point, or a row of uploaded data).
// Everything lives with the run on the server, so a reload or another viewer sees the same: added points
// are `dataset.extra`, on top of the generated rows (the dataset keeps its name and its controls; the
// server marks them in `points.added` and "Clear" sends null); an uploaded CSV is parsed by the server,
// which keeps its column, target and class names (shown from `resolved` by every panel).
import { t } from "../i18n/index.js";
import { el } from "../dom.js";
import { numberField, sliderField } from "../form.js";
import { datasets, limits } from "../core/choices.js";
import { drawThumbnail } from "../thumbnails.js";

const MAX_SEED = 2 ** 32 - 1;
const NO_POINTS = { X: [], y: [] };
// What describes uploaded data: restated when its rows are sent again (a new X and y drop them otherwise).
const DATA_DESCRIPTION = ["columns", "target_name", "class_names", "task", "extra"];

export function createData(app) {
  const picker = document.getElementById("dataset-picker");
  const body = document.getElementById("data-body");
  const editToggle = document.getElementById("edit-points");
  const pointClass = document.getElementById("point-class");
  const editRow = editToggle.closest(".field");
  const editHint = document.getElementById("edit-hint");
  const clearAdded = document.getElementById("clear-added");
  const tiles = new Map();
  const dataset = () => app.state.run.config.dataset;
  const added = (run = app.state.run) => run.config.dataset.extra || NO_POINTS;

  const { classification, regression, multiclass } = datasets();
  for (const kind of [...classification, ...regression]) {
    const canvas = el("canvas", { class: "thumb" });
    drawThumbnail(canvas, kind);
    const button = el(
      "button",
      { class: "dataset", type: "button", dataset: { kind }, onclick: () => app.setConfig({ dataset: { kind, X: null, y: null, task: "auto" } }) },
      canvas,
      el("span", { dataset: { i18n: `data.kind.${kind}`, i18nFallback: kind } }),
    );
    tiles.set(kind, button);
    picker.append(button);
  }
  const customTile = el("span", { class: "dataset custom", dataset: { i18n: "data.kind.custom" }, hidden: true });
  picker.append(customTile);

  const percent = (value) => `${Math.round(value * 100)}%`;
  const noise = sliderField("noise", "data.noise", { min: 0, max: 1, step: 0.05, format: percent }, { onChange: (value) => app.setConfig({ dataset: { noise: value } }) }, { rebuild: true, setting: "dataset.noise" });
  const split = sliderField("train_fraction", "data.train_fraction", { min: 0.1, max: 1, step: 0.05, format: percent }, { onChange: (value) => app.setConfig({ dataset: { train_fraction: value } }) }, { rebuild: true, setting: "dataset.train_fraction" });
  const classes = numberField("classes", "data.classes", { min: 2, max: 8, step: 1, integer: true }, changeClasses, { rebuild: true, setting: "dataset.classes" });
  const samples = numberField("samples", "data.samples", { min: 10, max: limits().max_rows, step: 10, integer: true }, (value) => app.setConfig({ dataset: { samples: value } }), { rebuild: true, setting: "dataset.samples" });
  body.prepend(noise.row, split.row, classes.row, samples.row);

  // Fewer classes: added points of the classes that go are dropped with them (the server refuses them).
  function changeClasses(value) {
    app.setConfig((run) => {
      const extra = added(run);
      const keep = extra.y.map((label) => label < value);
      if (keep.every(Boolean)) return { dataset: { classes: value } };
      const kept = { X: extra.X.filter((_, k) => keep[k]), y: extra.y.filter((_, k) => keep[k]) };
      return { dataset: { classes: value, extra: kept.y.length ? kept : null } };
    });
  }

  clearAdded.addEventListener("click", () => app.setConfig({ dataset: { extra: null } }).catch(() => null));
  document.getElementById("regenerate").addEventListener("click", () => app.setConfig({ seed: Math.floor(Math.random() * MAX_SEED) }));

  const upload = document.getElementById("csv-upload");
  upload.addEventListener("change", async () => {
    const file = upload.files[0];
    upload.value = "";
    if (!file) return;
    // The server's refusal names the row and column at fault; setConfig shows it.
    await app.setConfig(file).catch(() => null);
  });

  // The index of the point of `X` nearest to (x1, x2) within `radius`, or -1.
  function nearest(X, x1, x2, radius) {
    let best = -1;
    let distance = radius;
    X.forEach(([a, b], k) => {
      const d = Math.hypot(a - x1, b - x2);
      if (d < distance) [best, distance] = [k, d];
    });
    return best;
  }

  app.on("plane-click", ({ x1, x2, shift, remove, radius }) => {
    const { run, points } = app.state;
    if (!editToggle.checked || !points) return;
    if (run.resolved.task !== "classification") {
      app.emit("error", t("data.edit_classification_only"));
      return;
    }
    if (remove) {
      removePoint(x1, x2, radius);
      return;
    }
    const chosen = Number(pointClass.value);
    const label = shift ? (chosen === 0 ? 1 : 0) : chosen;
    // Built when the change's turn comes, so quick clicks add up instead of replacing each other.
    app.setConfig((current) => {
      const extra = added(current);
      return { dataset: { extra: { X: [...extra.X, [x1, x2]], y: [...extra.y, label] } } };
    }).catch(() => null);
  });

  function removePoint(x1, x2, radius) {
    const extra = added();
    const hit = nearest(extra.X, x1, x2, radius);
    if (hit >= 0) {
      const rest = { X: extra.X.filter((_, k) => k !== hit), y: extra.y.filter((_, k) => k !== hit) };
      app.setConfig({ dataset: { extra: rest.y.length ? rest : null } }).catch(() => null);
      return;
    }
    if (dataset().kind !== "custom") {
      app.emit("error", t("data.remove_added_only"));
      return;
    }
    // Uploaded data: its rows go back without that one, with its names and added points.
    const { train, test, added: count } = app.state.points;
    const rows = { X: [...train.X.slice(0, train.X.length - count), ...test.X], y: [...train.y.slice(0, train.y.length - count), ...test.y] };
    const row = nearest(rows.X, x1, x2, radius);
    if (row < 0) return;
    const kept = Object.fromEntries(DATA_DESCRIPTION.map((key) => [key, dataset()[key]]));
    app.setConfig({ dataset: { ...kept, X: rows.X.filter((_, k) => k !== row), y: rows.y.filter((_, k) => k !== row) } }).catch(() => null);
  }

  function refreshClassChoices() {
    const names = app.columnNames().classes;
    if (pointClass.options.length === names.length && pointClass.options[0].textContent === names[0]) return;
    const current = pointClass.value;
    pointClass.replaceChildren(...names.map((name, k) => el("option", { value: String(k) }, name)));
    pointClass.value = current && Number(current) < names.length ? current : "0";
  }

  function render() {
    const config = dataset();
    const count = added().y.length;
    for (const [kind, tile] of tiles) tile.setAttribute("aria-pressed", String(kind === config.kind));
    customTile.hidden = config.kind !== "custom";
    noise.set(config.noise);
    split.set(config.train_fraction);
    classes.set(config.classes);
    samples.set(config.samples);
    const { task, extent } = app.state.run.resolved;
    const editable = task === "classification" && Boolean(extent);
    editRow.hidden = !editable;
    editHint.hidden = !editable;
    classes.row.hidden = !multiclass.includes(config.kind);
    noise.row.hidden = config.kind === "custom";
    samples.row.hidden = config.kind === "custom";
    clearAdded.hidden = !count;
    clearAdded.textContent = t("data.clear_added", { n: count });
    refreshClassChoices();
  }

  app.on("run", render);
  app.on("language", () => {
    if (!app.state.run) return;
    pointClass.replaceChildren();
    render();
  });
}
