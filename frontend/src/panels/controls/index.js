// The training panel: every hyperparameter, from the server's choices (core/choices.js). The common ones
// (optimizer, learning rate, batch size, activation) are always shown; the rest sit in sections that fold
// (optimizer settings, model, regularisation, schedule), so the panel fits 1280×800 without scrolling.
// Fields marked ↻ rebuild the network (and restart training) when changed; the rest apply live. Every
// control follows the run as the server reports it, whoever changed it.
import { t } from "../../i18n/index.js";
import { el } from "../../dom.js";
import { checkboxField, numberField, selectField } from "../../form.js";
import { optimizerDefaults, optimizerFields, options, scheduleFields } from "../../core/choices.js";
import { createLearningRate } from "./learning_rate.js";
import { createToolbar } from "./toolbar.js";

const OPEN_SECTIONS_KEY = "backproplab.open-sections";

export function createControls(app) {
  createToolbar(app);
  const body = document.getElementById("controls-body");
  const fields = [];
  const config = () => app.state.run.config;
  const resolved = () => app.state.run.resolved;
  const add = (parent, field, read) => {
    parent.append(field.row);
    fields.push({ field, read });
    return field;
  };
  const opened = new Set(JSON.parse(localStorage.getItem(OPEN_SECTIONS_KEY) || "[]"));
  const section = (name) => {
    const details = el("details", { class: "section", dataset: { section: name }, open: opened.has(name) }, el("summary", { dataset: { i18n: `controls.section.${name}` } }));
    details.addEventListener("toggle", () => {
      if (details.open) opened.add(name);
      else opened.delete(name);
      localStorage.setItem(OPEN_SECTIONS_KEY, JSON.stringify([...opened]));
    });
    body.append(details);
    return details;
  };

  add(body, selectField("optimizer", "controls.optimizer", options("optimizer"), (name) => app.setConfig({ optimizer: optimizerSwitch(name) }), { setting: "optimizer.name" }), () => config().optimizer.name);
  const lr = createLearningRate(app);
  body.append(lr.row);
  fields.push({ field: lr, read: () => resolved().optimizer.lr ?? config().optimizer.lr });
  const batch = add(body, numberField("batch", "controls.batch_size", { min: 1, step: 1, integer: true }, (value) => app.setConfig({ batch_size: value }), { setting: "batch_size" }), () => Math.min(config().batch_size, resolved().train_size));
  const batchNote = el("div", { class: "field-note" });
  batch.row.append(batchNote);
  add(body, selectField("activation", "controls.activation", options("activation"), (value) => app.setConfig({ model: { activation: value } }), { rebuild: true, setting: "model.activation" }), () => config().model.activation);

  const hyper = section("optimizer");
  hyper.dataset.control = "hyperparameters";
  const model = section("model");
  add(model, selectField("output_activation", "controls.output_activation", options("output_activation"), (value) => app.setConfig({ model: { output_activation: value } }), { rebuild: true, setting: "model.output_activation" }), () => config().model.output_activation);
  add(model, selectField("loss", "controls.loss", options("loss"), (value) => app.setConfig({ loss: value }), { rebuild: true, setting: "loss" }), () => config().loss);
  add(model, selectField("init", "controls.init", options("init"), (value) => app.setConfig({ model: { init: value } }), { rebuild: true, setting: "model.init" }), () => config().model.init);
  add(model, numberField("seed", "controls.seed", { min: 0, max: 4294967295, step: 1, integer: true }, (seed) => app.setConfig({ seed }), { rebuild: true, setting: "seed" }), () => config().seed);
  const regularization = section("regularization");
  add(regularization, selectField("regularization", "controls.regularization", options("regularization"), (kind) => app.setConfig({ regularization: { kind } }), { setting: "regularization.kind" }), () => config().regularization.kind);
  add(regularization, numberField("regularization_rate", "controls.regularization_rate", { min: 0, max: 10, step: "any" }, (rate) => app.setConfig({ regularization: { rate } }), { setting: "regularization.rate" }), () => config().regularization.rate);
  const schedule = section("schedule");
  schedule.dataset.control = "schedule";
  add(schedule, selectField("schedule", "controls.schedule", options("schedule"), (kind) => app.setConfig({ schedule: { kind } }), { setting: "schedule.kind" }), () => config().schedule.kind);
  const scheduleBox = el("div", { class: "sub-fields" });
  schedule.append(scheduleBox);
  const hyperBox = el("div", { class: "sub-fields" });
  hyper.append(hyperBox);

  // Hyperparameter rows depend on the optimizer and schedule, so they are rebuilt when those change.
  let shown = "";
  let dynamic = [];
  function rebuildDynamic() {
    const key = `${config().optimizer.name}/${config().schedule.kind}`;
    if (key === shown) return;
    shown = key;
    hyperBox.replaceChildren();
    scheduleBox.replaceChildren();
    dynamic = [
      ...optimizerFields(config().optimizer.name).map((name) => hyperField(app, hyperBox, name)),
      ...scheduleFields(config().schedule.kind).map((spec) => scheduleField(app, scheduleBox, spec)),
    ];
    app.translate(hyperBox);
    app.translate(scheduleBox);
  }

  // The batch can be at most the training set; the note says so (and why a bigger one was refused).
  function boundBatch() {
    const size = resolved().train_size;
    batch.setLimits(1, size);
    batchNote.textContent = t("controls.batch_note", { n: size });
  }

  function refresh() {
    if (!app.state.run) return;
    rebuildDynamic();
    boundBatch();
    for (const { field, read } of [...fields, ...dynamic]) field.set(read());
    lr.showCurrent(app.state.run);
  }
  app.translate(body);
  app.on("run", refresh);
  app.on("frame", () => lr.showCurrent(app.state.run));
  app.on("language", () => {
    boundBatch();
    lr.showCurrent(app.state.run);
  });
}

// Switching optimizer keeps the weights; its hyperparameters start from that optimizer's defaults.
function optimizerSwitch(name) {
  const { lr, ...defaults } = optimizerDefaults(name);
  const cleared = Object.fromEntries(Object.keys(defaults).map((key) => [key, null]));
  return { ...cleared, name };
}

function hyperField(app, parent, name) {
  const resolved = () => app.state.run.resolved.optimizer;
  let field;
  let read = () => resolved()[name];
  if (name === "beta1" || name === "beta2") {
    const index = name === "beta1" ? 0 : 1;
    read = () => (resolved().betas || [])[index];
    field = numberField(name, `controls.${name}`, { min: 0, max: 0.9999, step: "any" }, (value) => {
      const betas = [...(resolved().betas || [0.9, 0.999])];
      betas[index] = value;
      app.setConfig({ optimizer: { betas } });
    }, { setting: "optimizer.betas" });
  } else if (typeof optimizerDefaults(app.state.run.config.optimizer.name)[name] === "boolean") {
    field = checkboxField(name, `controls.${name}`, (value) => app.setConfig({ optimizer: { [name]: value } }), { setting: `optimizer.${name}` });
  } else {
    field = numberField(name, `controls.${name}`, { min: 0, step: "any" }, (value) => app.setConfig({ optimizer: { [name]: value } }), { setting: `optimizer.${name}` });
  }
  parent.append(field.row);
  return { field, read };
}

// spec: {name, integer, boolean, default, min, max} from the server (GET /api/choices). A switch (such
// as cyclic schedules' cycle_momentum) is a checkbox; the momentum bounds show only while it is on.
function scheduleField(app, parent, { name, integer, boolean, min, max }) {
  const control = `schedule_${name}`;
  const send = (value) => app.setConfig({ schedule: { [name]: value } });
  const extra = { setting: `schedule.${name}` };
  const field = boolean
    ? checkboxField(control, `controls.${control}`, send, extra)
    : numberField(control, `controls.${control}`, { min: min ?? 0, max: max ?? undefined, step: integer ? 1 : "any", integer }, send, extra);
  field.row.querySelector("label").dataset.i18nFallback = name;
  parent.append(field.row);
  const schedule = () => app.state.run.config.schedule;
  const cycled = name.endsWith("_momentum") && name !== "cycle_momentum" && "cycle_momentum" in schedule();
  return {
    field: {
      set(value) {
        field.set(value);
        if (cycled) field.row.hidden = !schedule().cycle_momentum;
      },
    },
    read: () => schedule()[name],
  };
}
