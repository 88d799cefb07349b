// The class page's two forms: the setup students train (the settings a lesson is about: data, network,
// optimizer, learning rate, batch, seed; choices and limits from GET /api/choices) and what students may
// change (the class's `allowed`: dotted RunConfig paths, null for everything). The same forms create a
// class and later push a new setup or new locks to it. A value the server would refuse is refused here,
// beside its field, in the dashboard's words (form.js numberField), and nothing is sent: the form never
// trims a value to fit (50 hidden layers went out as 10, and the field was rewritten without a word).
import { el } from "../dom.js";
import { t, tOr } from "../i18n/index.js";
import { datasets, limits, options } from "../core/choices.js";
import { isAllowed } from "../panels/access.js";
import { numberProblem } from "../form.js";

// What a student may be allowed to change, as the dashboard groups its controls. The first two are what
// a lesson on learning rates usually leaves open.
const LOCK_GROUPS = [
  ["lr", ["optimizer.lr"]],
  ["optimizer", ["optimizer.name"]],
  ["optimizer_settings", ["optimizer"]],
  ["batch_size", ["batch_size"]],
  ["activation", ["model.activation"]],
  ["layers", ["model.hidden"]],
  ["weights", ["model.weights"]],
  ["features", ["features"]],
  ["data", ["dataset"]],
  ["regularization", ["regularization"]],
  ["schedule", ["schedule"]],
  ["model", ["loss", "model.init", "model.output_activation"]],
  ["seed", ["seed"]],
];
export const DEFAULT_ALLOWED = ["optimizer.lr", "optimizer.name"];

const row = (id, labelKey, input) => el("div", { class: "field" }, el("label", { htmlFor: id, dataset: { i18n: labelKey } }, t(labelKey)), input);
const select = (id, choices) =>
  el("select", { id }, ...choices.map(([value, key, fallback]) => el("option", { value: value ?? "", dataset: { i18n: key, i18nFallback: fallback ?? String(value) } }, tOr(key, fallback ?? String(value)))));
const number = (id, props) => el("input", { id, type: "number", step: "any", ...props });
const MAX_SEED = 4294967295; // RunConfig.seed, as the dashboard's seed field

// "4, 2" → ["4", "2"]; "" → [] (no hidden layer).
const hiddenParts = (text) => text.split(",").map((part) => part.trim()).filter(Boolean);

// Why the hidden layers' text is refused, or null: whole numbers separated by commas, no more layers and
// no more neurons in a layer than the server takes (GET /api/choices limits).
function hiddenProblem(input) {
  const { max_hidden_layers: maxLayers, max_neurons: maxNeurons } = limits();
  const parts = hiddenParts(input.value);
  if (parts.some((part) => !/^\d+$/.test(part))) return t("class.hidden_format");
  if (parts.length > maxLayers) return t("class.hidden_max_layers", { max: maxLayers, n: parts.length });
  const wrong = parts.find((part) => Number(part) < 1 || Number(part) > maxNeurons);
  return wrong === undefined ? null : t("class.hidden_neurons", { max: maxNeurons, value: wrong });
}

// A form for the settings a lesson is about. check() → whether every field holds a value the server takes
// (each refused one says why beside it; the first is focused); read(base) → the whole config (base with the
// form's values); changes(base) → only what differs from base; set(config) fills it in.
export function createSetupForm(root, prefix) {
  const kinds = [...datasets().classification, ...datasets().regression];
  const id = (name) => `${prefix}-${name}`;
  const inputs = {
    dataset: select(id("dataset"), kinds.map((kind) => [kind, `data.kind.${kind}`, kind])),
    noise: number(id("noise"), { min: 0, max: 1, step: 0.05 }),
    hidden: el("input", { id: id("hidden"), inputMode: "numeric", dataset: { i18nTitle: "class.hidden_hint" }, title: t("class.hidden_hint") }),
    activation: select(id("activation"), options("activation")),
    optimizer: select(id("optimizer"), options("optimizer")),
    lr: number(id("lr"), { min: 0 }),
    batch: number(id("batch"), { min: 1, step: 1 }),
    seed: number(id("seed"), { min: 0, step: 1 }),
  };
  const checks = {
    noise: () => numberProblem(inputs.noise, { min: 0, max: 1 }),
    hidden: () => hiddenProblem(inputs.hidden),
    lr: () => numberProblem(inputs.lr, { min: 0 }),
    batch: () => numberProblem(inputs.batch, { min: 1, max: limits().max_rows, integer: true }),
    seed: () => numberProblem(inputs.seed, { min: 0, max: MAX_SEED, integer: true }),
  };
  const messages = {};
  const checkedRow = (name, labelKey) => {
    const field = row(id(name), labelKey, inputs[name]);
    if (checks[name]) {
      messages[name] = el("div", { class: "field-error", id: id(`${name}-error`), role: "alert", hidden: true });
      field.append(messages[name]);
      inputs[name].setAttribute("aria-describedby", messages[name].id);
      // Checked when the form is sent (check()), not when the field is left: a message appearing then moved
      // the submit button from under the click that left the field. Once refused, it is checked as it is
      // typed, so the message goes as soon as the value is right.
      inputs[name].addEventListener("input", () => inputs[name].getAttribute("aria-invalid") === "true" && checkField(name));
    }
    return field;
  };
  root.append(
    checkedRow("dataset", "class.dataset"),
    checkedRow("noise", "data.noise"),
    checkedRow("hidden", "class.hidden"),
    checkedRow("activation", "controls.activation"),
    checkedRow("optimizer", "controls.optimizer"),
    checkedRow("lr", "controls.lr"),
    checkedRow("batch", "controls.batch_size"),
    checkedRow("seed", "controls.seed"),
  );

  // Shows (or clears) why the field's value is refused; true when it is fine.
  function checkField(name) {
    const problem = checks[name]();
    if (problem) inputs[name].setAttribute("aria-invalid", "true");
    else inputs[name].removeAttribute("aria-invalid");
    messages[name].textContent = problem || "";
    messages[name].hidden = !problem;
    return !problem;
  }

  function values() {
    return {
      seed: Number(inputs.seed.value),
      dataset: { kind: inputs.dataset.value, noise: Number(inputs.noise.value) },
      model: { hidden: hiddenParts(inputs.hidden.value).map(Number), activation: inputs.activation.value },
      optimizer: { name: inputs.optimizer.value, lr: Number(inputs.lr.value) },
      batch_size: Number(inputs.batch.value),
    };
  }

  return {
    inputs,
    check() {
      const refused = Object.keys(checks).filter((name) => !checkField(name));
      if (refused.length) inputs[refused[0]].focus();
      return refused.length === 0;
    },
    set(config) {
      for (const name of Object.keys(checks)) inputs[name].removeAttribute("aria-invalid");
      for (const message of Object.values(messages)) message.hidden = true;
      inputs.dataset.value = config.dataset?.kind ?? "circle";
      inputs.noise.value = config.dataset?.noise ?? 0;
      inputs.hidden.value = (config.model?.hidden ?? [4, 2]).join(", ");
      inputs.activation.value = config.model?.activation ?? "tanh";
      inputs.optimizer.value = config.optimizer?.name ?? "sgd";
      inputs.lr.value = config.optimizer?.lr ?? 0.03;
      inputs.batch.value = config.batch_size ?? 10;
      inputs.seed.value = config.seed ?? 0;
    },
    // The base config with the form's values over it. A changed optimizer starts from its own defaults.
    read(base = {}) {
      const form = values();
      const optimizer = form.optimizer.name === base.optimizer?.name ? { ...base.optimizer, ...form.optimizer } : form.optimizer;
      return { ...base, ...form, dataset: { ...base.dataset, ...form.dataset }, model: { ...base.model, ...form.model }, optimizer };
    },
    // Only the settings whose value differs from `base` (a class's setup): what a push sends.
    changes(base) {
      const form = values();
      const diff = {};
      if (form.seed !== base.seed) diff.seed = form.seed;
      if (form.batch_size !== base.batch_size) diff.batch_size = form.batch_size;
      const part = (name, keys) => {
        for (const key of keys) {
          if (JSON.stringify(form[name][key]) !== JSON.stringify(base[name]?.[key])) diff[name] = { ...diff[name], [key]: form[name][key] };
        }
      };
      part("dataset", ["kind", "noise"]);
      part("model", ["hidden", "activation"]);
      part("optimizer", ["name", "lr"]);
      return diff;
    },
  };
}

// Checkboxes of what students may change. read() → `allowed` (null when every box is ticked).
export function createLocksForm(root, prefix) {
  const boxes = LOCK_GROUPS.map(([name, paths]) => {
    const box = el("input", { type: "checkbox", id: `${prefix}-allow-${name}`, dataset: { group: name } });
    root.append(el("label", { class: "check", htmlFor: box.id }, box, " ", el("span", { dataset: { i18n: `class.allow.${name}` } }, t(`class.allow.${name}`))));
    return { box, paths };
  });
  return {
    set(allowed) {
      for (const { box, paths } of boxes) box.checked = paths.every((path) => isAllowed(path, allowed));
    },
    read() {
      if (boxes.every(({ box }) => box.checked)) return null;
      return boxes.filter(({ box }) => box.checked).flatMap(({ paths }) => paths);
    },
  };
}
