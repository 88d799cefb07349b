// Training controls: play/pause, step, step an epoch, reset, speed, and every hyperparameter.
// Fields marked ↻ rebuild the network (and restart training) when changed; the rest apply live.
import { t } from "../i18n/index.js";
import { checkboxField, numberField, selectField, sliderField } from "../form.js";
import { formatNumber } from "../dom.js";
import { OPTIMIZER_FIELDS, SCHEDULE_FIELDS, options } from "../choices.js";

const LR_MIN_EXP = -5;
const LR_MAX_EXP = 1;
const LIVE_SEND_MS = 120;

export function createControls(app) {
  createToolbar(app);
  const body = document.getElementById("controls-body");
  const hyper = document.getElementById("optimizer-hyper");
  const scheduleBox = document.getElementById("schedule-params");
  const fields = [];
  const add = (parent, field, read) => {
    parent.append(field.row);
    fields.push({ field, read });
    return field;
  };
  const config = () => app.state.run.config;
  const resolved = () => app.state.run.resolved;

  add(body, selectField("optimizer", "controls.optimizer", options("optimizer"), (name) => app.setConfig({ optimizer: optimizerSwitch(name) })), () => config().optimizer.name);

  const lr = createLearningRate(app);
  body.append(lr.row);
  fields.push({ field: lr, read: () => resolved().optimizer.lr ?? config().optimizer.lr });
  body.append(hyper);

  add(body, numberField("batch", "controls.batch_size", { min: 1, max: 20000, step: 1, integer: true }, (value) => app.setConfig({ batch_size: value })), () => config().batch_size);
  add(body, selectField("activation", "controls.activation", options("activation"), (value) => app.setConfig({ model: { activation: value } }), { rebuild: true }), () => config().model.activation);
  add(body, selectField("output_activation", "controls.output_activation", options("output_activation"), (value) => app.setConfig({ model: { output_activation: value } }), { rebuild: true }), () => config().model.output_activation);
  add(body, selectField("loss", "controls.loss", options("loss"), (value) => app.setConfig({ loss: value }), { rebuild: true }), () => config().loss);
  add(body, selectField("init", "controls.init", options("init"), (value) => app.setConfig({ model: { init: value } }), { rebuild: true }), () => config().model.init);
  add(body, selectField("regularization", "controls.regularization", options("regularization"), (kind) => app.setConfig({ regularization: { kind } })), () => config().regularization.kind);
  add(body, numberField("regularization_rate", "controls.regularization_rate", { min: 0, max: 10, step: "any" }, (rate) => app.setConfig({ regularization: { rate } })), () => config().regularization.rate);
  add(body, selectField("schedule", "controls.schedule", options("schedule"), (kind) => app.setConfig({ schedule: { kind } })), () => config().schedule.kind);
  body.append(scheduleBox);
  add(body, numberField("seed", "controls.seed", { min: 0, max: 4294967295, step: 1, integer: true }, (seed) => app.setConfig({ seed }), { rebuild: true }), () => config().seed);

  // Hyperparameter rows depend on the optimizer and schedule, so they are rebuilt when those change.
  let shown = "";
  let dynamic = [];
  function rebuildDynamic() {
    const key = `${config().optimizer.name}/${config().schedule.kind}`;
    if (key === shown) return;
    shown = key;
    hyper.replaceChildren();
    scheduleBox.replaceChildren();
    dynamic = [
      ...OPTIMIZER_FIELDS[config().optimizer.name].map((name) => hyperField(app, hyper, name)),
      ...(SCHEDULE_FIELDS[config().schedule.kind] || []).map((spec) => scheduleField(app, scheduleBox, spec)),
    ];
    app.translate(hyper);
    app.translate(scheduleBox);
  }

  function refresh() {
    if (!app.state.run) return;
    rebuildDynamic();
    for (const { field, read } of [...fields, ...dynamic]) field.set(read());
  }
  const showLr = () => lr.showCurrent(app.state.run.resolved.lr);
  app.on("run", () => {
    refresh();
    showLr();
  });
  app.on("frame", showLr);
  app.on("language", showLr);
}

// Switching optimizer keeps the weights but its hyperparameters start from that optimizer's defaults.
function optimizerSwitch(name) {
  const cleared = Object.fromEntries(["momentum", "dampening", "nesterov", "betas", "eps", "alpha", "rho", "centered", "amsgrad", "weight_decay", "lr_decay", "momentum_decay", "initial_accumulator_value"].map((key) => [key, null]));
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
    });
  } else if (name === "nesterov" || name === "centered" || name === "amsgrad") {
    field = checkboxField(name, `controls.${name}`, (value) => app.setConfig({ optimizer: { [name]: value } }));
  } else {
    field = numberField(name, `controls.${name}`, { min: 0, step: "any" }, (value) => app.setConfig({ optimizer: { [name]: value } }));
  }
  parent.append(field.row);
  return { field, read };
}

function scheduleField(app, parent, { name, integer }) {
  const field = numberField(`schedule_${name}`, `controls.schedule_${name}`, { min: 0, step: integer ? 1 : "any", integer }, (value) => app.setConfig({ schedule: { [name]: value } }));
  parent.append(field.row);
  return { field, read: () => app.state.run.config.schedule[name] };
}

// The learning rate on a log slider (10⁻⁵ … 10) with a typed value beside it; changes apply live.
function createLearningRate(app) {
  let timer = null;
  const send = (lr) => {
    clearTimeout(timer);
    timer = setTimeout(() => app.setConfig({ optimizer: { lr } }), LIVE_SEND_MS);
  };
  const slider = sliderField(
    "lr",
    "controls.lr",
    { min: LR_MIN_EXP, max: LR_MAX_EXP, step: 0.01, format: (exp) => formatNumber(Number((10 ** exp).toPrecision(2))) },
    { onInput: (exp) => send(Number((10 ** exp).toPrecision(2))) },
  );
  const typed = numberField("lr_value", "controls.lr_value", { min: 0, max: 10000, step: "any" }, (lr) => app.setConfig({ optimizer: { lr } }));
  typed.input.classList.add("lr-typed");
  typed.input.dataset.i18nAria = "controls.lr_value";
  slider.row.querySelector("output").replaceWith(typed.input);
  const current = document.createElement("div");
  current.className = "lr-current";
  slider.row.append(current);
  return {
    row: slider.row,
    set(lr) {
      if (!(lr > 0)) return;
      slider.set(Math.min(LR_MAX_EXP, Math.max(LR_MIN_EXP, Math.log10(lr))));
      typed.set(lr);
    },
    showCurrent(lr) {
      current.textContent = lr === null || lr === undefined ? "" : t("controls.lr_now", { lr: formatNumber(lr) });
    },
  };
}

function createToolbar(app) {
  const play = document.getElementById("play");
  const stepsPerEpoch = () => {
    const { resolved, config } = app.state.run;
    return Math.max(1, Math.ceil(resolved.train_size / config.batch_size));
  };
  play.addEventListener("click", () => app.togglePlay());
  document.getElementById("step").addEventListener("click", () => app.send({ type: "step", steps: 1 }));
  document.getElementById("step-epoch").addEventListener("click", () => app.send({ type: "step", steps: stepsPerEpoch() }));
  document.getElementById("reset").addEventListener("click", () => app.send({ type: "reset" }));
  const speed = document.getElementById("speed");
  speed.addEventListener("change", () => app.setSpeed(Number(speed.value)));

  const stepCounter = document.getElementById("step-counter");
  const epochCounter = document.getElementById("epoch-counter");
  let shown = "";
  const render = () => {
    const run = app.state.run;
    if (!run) return;
    const running = app.isPlaying();
    const label = t(running ? "action.pause" : "action.play");
    const key = `${running}/${label}/${run.step}/${run.epoch}`;
    if (key === shown) return;
    shown = key;
    play.dataset.running = String(running);
    play.dataset.i18nAria = running ? "action.pause" : "action.play";
    play.setAttribute("aria-label", label);
    play.title = label;
    stepCounter.textContent = String(run.step);
    epochCounter.textContent = String(run.epoch);
  };
  app.on("run", render);
  app.on("frame", render);
  app.on("pacer", render);
  app.on("language", render);
}
