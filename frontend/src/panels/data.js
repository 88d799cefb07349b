// The data panel: which dataset (the server's list), its noise, the train/test split, classes, a fresh
// draw, CSV upload, and clicking or tapping the output to add points (shift: the other class; alt: remove).
// Added points go on top of the generated ones: the dataset keeps its name and its controls, the points
// are ringed on the plot, and "Clear" takes them away again. (Until the server keeps added points with a
// generated set, the run trains on generated + added rows sent as custom data; see `train` below.)
import { t } from "../i18n/index.js";
import { el } from "../dom.js";
import { numberField, sliderField } from "../form.js";
import { datasets, limits } from "../core/choices.js";
import { api } from "../core/api.js";
import { drawThumbnail } from "../thumbnails.js";
import { parseCsv } from "../csv.js";

const MAX_SEED = 2 ** 32 - 1;

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
  const added = () => (app.state.added && app.state.added.runId === app.state.run.id ? app.state.added : null);
  // The generator's settings on screen: the added points' base while there are some, else the config.
  const shownDataset = () => (added() ? added().base : dataset());

  const { classification, regression, multiclass } = datasets();
  for (const kind of [...classification, ...regression]) {
    const canvas = el("canvas", { class: "thumb" });
    drawThumbnail(canvas, kind);
    const button = el(
      "button",
      { class: "dataset", type: "button", dataset: { kind }, onclick: () => changeGenerator({ kind }, true) },
      canvas,
      el("span", { dataset: { i18n: `data.kind.${kind}`, i18nFallback: kind } }),
    );
    tiles.set(kind, button);
    picker.append(button);
  }
  const customTile = el("span", { class: "dataset custom", dataset: { i18n: "data.kind.custom" }, hidden: true });
  picker.append(customTile);

  const percent = (value) => `${Math.round(value * 100)}%`;
  const noise = sliderField("noise", "data.noise", { min: 0, max: 1, step: 0.05, format: percent }, { onChange: (value) => changeGenerator({ noise: value }) }, { rebuild: true });
  const split = sliderField("train_fraction", "data.train_fraction", { min: 0.1, max: 1, step: 0.05, format: percent }, { onChange: (value) => app.setConfig({ dataset: { train_fraction: value } }) }, { rebuild: true });
  const classes = numberField("classes", "data.classes", { min: 2, max: 8, step: 1, integer: true }, (value) => changeGenerator({ classes: value }), { rebuild: true });
  const samples = numberField("samples", "data.samples", { min: 10, max: limits().max_rows, step: 10, integer: true }, (value) => changeGenerator({ samples: value }), { rebuild: true });
  body.prepend(noise.row, split.row, classes.row, samples.row);

  // The generated points the server holds for `generator` (a dataset config), after a rebuild.
  async function generatedPoints(generator) {
    const run = await app.setConfig({ dataset: { ...generator, X: null, y: null, task: "auto" } });
    const points = await api.points(run.id);
    return { X: [...points.train.X, ...points.test.X], y: [...points.train.y, ...points.test.y] };
  }

  // Train on the base rows plus the added points.
  function train(extra) {
    const base = extra.baseRows;
    return app.setConfig({ dataset: { kind: "custom", X: [...base.X, ...extra.X], y: [...base.y, ...extra.y], task: "classification" } });
  }

  async function changeGenerator(change, newKind = false) {
    const extra = added();
    if (!extra) return app.setConfig({ dataset: { ...change, ...(newKind ? { X: null, y: null, task: "auto" } : {}) } });
    extra.base = { ...extra.base, ...change };
    try {
      extra.baseRows = await generatedPoints(extra.base);
      await train(extra);
    } catch {
      app.state.added = null;
    }
  }

  clearAdded.addEventListener("click", async () => {
    const extra = added();
    if (!extra) return;
    app.state.added = null;
    await app.setConfig({ dataset: { ...extra.base, X: null, y: null, task: "auto" } }).catch(() => null);
  });

  document.getElementById("regenerate").addEventListener("click", () => app.setConfig({ seed: Math.floor(Math.random() * MAX_SEED) }));
  const upload = document.getElementById("csv-upload");
  upload.addEventListener("change", async () => {
    const file = upload.files[0];
    upload.value = "";
    if (!file) return;
    try {
      const { X, y, columns, target, classes: names } = parseCsv(await file.text());
      app.state.added = null;
      const run = await app.setConfig({ dataset: { kind: "custom", X, y, task: names ? "classification" : "auto" } });
      app.state.csv = { runId: run.id, columns, target, classes: names };
      app.emit("run", app.state.run);
    } catch (error) {
      app.emit("error", t("data.csv_failed", { name: file.name, reason: error.message }));
    }
  });

  app.on("plane-click", ({ x1, x2, shift, remove, radius }) => {
    const { run, points } = app.state;
    if (!editToggle.checked || !points) return;
    if (run.resolved.task !== "classification") {
      app.emit("error", t("data.edit_classification_only"));
      return;
    }
    let extra = added();
    if (!extra && dataset().kind !== "custom") {
      extra = { runId: run.id, base: { ...dataset() }, baseRows: { X: [...points.train.X, ...points.test.X], y: [...points.train.y, ...points.test.y] }, X: [], y: [] };
    }
    const target = extra || { X: [...points.train.X, ...points.test.X], y: [...points.train.y, ...points.test.y] };
    if (remove) {
      const nearest = (rows) => rows.X.reduce((best, [a, b], k) => {
        const distance = Math.hypot(a - x1, b - x2);
        return distance < best.distance ? { k, distance } : best;
      }, { k: -1, distance: radius * 2 });
      const hit = nearest(target);
      const rows = hit.k >= 0 ? target : extra && extra.baseRows;
      const index = hit.k >= 0 ? hit.k : extra ? nearest(extra.baseRows).k : -1;
      if (index < 0) return;
      rows.X.splice(index, 1);
      rows.y.splice(index, 1);
    } else {
      const chosen = Number(pointClass.value);
      target.X.push([x1, x2]);
      target.y.push(shift ? (chosen === 0 ? 1 : 0) : chosen);
    }
    if (extra) {
      app.state.added = extra;
      train(extra).then(
        (next) => (extra.runId = next.id),
        () => (app.state.added = null),
      );
    } else {
      app.setConfig({ dataset: { kind: "custom", X: target.X, y: target.y, task: "classification" } });
    }
  });

  function refreshClassChoices() {
    const names = app.columnNames().classes;
    if (pointClass.options.length === names.length && pointClass.options[0].textContent === names[0]) return;
    const current = pointClass.value;
    pointClass.replaceChildren(...names.map((name, k) => el("option", { value: String(k) }, name)));
    pointClass.value = current && Number(current) < names.length ? current : "0";
  }

  function render() {
    const config = shownDataset();
    const extra = added();
    for (const [kind, tile] of tiles) tile.setAttribute("aria-pressed", String(kind === config.kind));
    customTile.hidden = config.kind !== "custom";
    noise.set(config.noise);
    split.set(dataset().train_fraction);
    classes.set(config.classes);
    samples.set(config.samples);
    const classification = app.state.run.resolved.task === "classification";
    editRow.hidden = !classification;
    editHint.hidden = !classification;
    classes.row.hidden = !multiclass.includes(config.kind);
    noise.row.hidden = config.kind === "custom";
    samples.row.hidden = config.kind === "custom";
    clearAdded.hidden = !extra || !extra.X.length;
    clearAdded.textContent = extra ? t("data.clear_added", { n: extra.X.length }) : "";
    refreshClassChoices();
  }

  app.on("run", render);
  app.on("language", () => {
    if (!app.state.run) return;
    pointClass.replaceChildren();
    render();
  });
}
