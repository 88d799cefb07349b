// The data: which dataset, its noise, the train/test split, classes, a fresh draw, CSV upload, and
// clicking the output plot to add points (shift-click: the other class; alt-click: remove).
import { t } from "../i18n/index.js";
import { el } from "../dom.js";
import { numberField, sliderField } from "../form.js";
import { CLASSIFICATION_DATASETS, MULTICLASS_DATASETS, REGRESSION_DATASETS } from "../choices.js";
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
  const tiles = new Map();
  const dataset = () => app.state.run.config.dataset;

  for (const kind of [...CLASSIFICATION_DATASETS, ...REGRESSION_DATASETS]) {
    const canvas = el("canvas", { class: "thumb" });
    drawThumbnail(canvas, kind);
    const button = el(
      "button",
      { class: "dataset", type: "button", dataset: { kind }, onclick: () => app.setConfig({ dataset: { kind, X: null, y: null, task: "auto" } }) },
      canvas,
      el("span", { dataset: { i18n: `data.kind.${kind}` } }),
    );
    tiles.set(kind, button);
    picker.append(button);
  }
  const customTile = el("span", { class: "dataset custom", dataset: { i18n: "data.kind.custom" }, hidden: true });
  picker.append(customTile);

  const percent = (value) => `${Math.round(value * 100)}%`;
  const noise = sliderField("noise", "data.noise", { min: 0, max: 1, step: 0.05, format: percent }, { onChange: (value) => app.setConfig({ dataset: { noise: value } }) }, { rebuild: true });
  const split = sliderField("train_fraction", "data.train_fraction", { min: 0.1, max: 1, step: 0.05, format: percent }, { onChange: (value) => app.setConfig({ dataset: { train_fraction: value } }) }, { rebuild: true });
  const classes = numberField("classes", "data.classes", { min: 2, max: 8, step: 1, integer: true }, (value) => app.setConfig({ dataset: { classes: value } }), { rebuild: true });
  const samples = numberField("samples", "data.samples", { min: 10, max: 20000, step: 10, integer: true }, (value) => app.setConfig({ dataset: { samples: value } }), { rebuild: true });
  body.prepend(noise.row, split.row, classes.row, samples.row);

  document.getElementById("regenerate").addEventListener("click", () => app.setConfig({ seed: Math.floor(Math.random() * MAX_SEED) }));
  const upload = document.getElementById("csv-upload");
  upload.addEventListener("change", async () => {
    const file = upload.files[0];
    upload.value = "";
    if (!file) return;
    try {
      const { X, y } = parseCsv(await file.text());
      edited = null;
      await app.setConfig({ dataset: { kind: "custom", X, y, task: "auto" } });
    } catch (error) {
      app.emit("error", t("data.csv_failed", { name: file.name, reason: error.message }));
    }
  });

  // Editing turns the current points into a custom dataset with the point added or removed. The rows
  // last sent are kept, so quick clicks build on each other before the rebuilt run's points arrive.
  let edited = null;
  app.on("plane-click", ({ x1, x2, shift, remove, radius }) => {
    const { run, points } = app.state;
    if (!editToggle.checked || !points) return;
    if (run.resolved.task !== "classification") {
      app.emit("error", t("data.edit_classification_only"));
      return;
    }
    const base = edited || { X: [...points.train.X, ...points.test.X], y: [...points.train.y, ...points.test.y] };
    const X = [...base.X];
    const y = [...base.y];
    if (remove) {
      let nearest = -1;
      let best = radius * 2;
      X.forEach(([a, b], k) => {
        const distance = Math.hypot(a - x1, b - x2);
        if (distance < best) {
          best = distance;
          nearest = k;
        }
      });
      if (nearest < 0) return;
      X.splice(nearest, 1);
      y.splice(nearest, 1);
    } else {
      const chosen = Number(pointClass.value);
      const other = chosen === 0 ? 1 : 0;
      X.push([x1, x2]);
      y.push(shift ? other : chosen);
    }
    edited = { X, y };
    app.setConfig({ dataset: { kind: "custom", X, y, task: "classification" } }).catch(() => (edited = null));
  });

  function refreshClassChoices() {
    const count = app.state.run.resolved.num_classes || 2;
    if (pointClass.options.length === count) return;
    const current = pointClass.value;
    pointClass.replaceChildren(...Array.from({ length: count }, (_, k) => el("option", { value: String(k) }, t("data.class_n", { n: k }))));
    pointClass.value = current && Number(current) < count ? current : "0";
  }

  app.on("run", () => {
    const config = dataset();
    if (config.kind !== "custom") edited = null;
    for (const [kind, tile] of tiles) tile.setAttribute("aria-pressed", String(kind === config.kind));
    customTile.hidden = config.kind !== "custom";
    noise.set(config.noise);
    split.set(config.train_fraction);
    classes.set(config.classes);
    samples.set(config.samples);
    const classification = app.state.run.resolved.task === "classification";
    editRow.hidden = !classification;
    editHint.hidden = !classification;
    classes.row.hidden = !MULTICLASS_DATASETS.has(config.kind);
    noise.row.hidden = config.kind === "custom";
    samples.row.hidden = config.kind === "custom";
    refreshClassChoices();
  });
  app.on("language", () => {
    if (!app.state.run) return;
    pointClass.replaceChildren();
    refreshClassChoices();
  });
}
