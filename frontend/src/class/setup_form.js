// The class page's two forms: the setup students train (the settings a lesson is about: data, network,
// optimizer, learning rate, batch, seed; choices from GET /api/choices) and what students may change (the
// class's `allowed`: dotted RunConfig paths, null for everything). The same forms create a class and
// later push a new setup or new locks to it.
import { el } from "../dom.js";
import { t, tOr } from "../i18n/index.js";
import { datasets, limits, options } from "../core/choices.js";
import { isAllowed } from "../panels/access.js";

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

// A form for the settings a lesson is about. read(base) → the whole config (base with the form's values);
// changes(base) → only what differs from base; set(config) fills it in.
export function createSetupForm(root, prefix) {
  const kinds = [...datasets().classification, ...datasets().regression];
  const id = (name) => `${prefix}-${name}`;
  const inputs = {
    dataset: select(id("dataset"), kinds.map((kind) => [kind, `data.kind.${kind}`, kind])),
    noise: number(id("noise"), { min: 0, max: 1, step: 0.05 }),
    hidden: el("input", { id: id("hidden"), inputMode: "numeric", pattern: "\\s*(\\d+\\s*(,\\s*\\d+\\s*)*)?", title: t("class.hidden_hint") }),
    activation: select(id("activation"), options("activation")),
    optimizer: select(id("optimizer"), options("optimizer")),
    lr: number(id("lr"), { min: 0 }),
    batch: number(id("batch"), { min: 1, step: 1 }),
    seed: number(id("seed"), { min: 0, step: 1 }),
  };
  root.append(
    row(id("dataset"), "class.dataset", inputs.dataset),
    row(id("noise"), "data.noise", inputs.noise),
    row(id("hidden"), "class.hidden", inputs.hidden),
    row(id("activation"), "controls.activation", inputs.activation),
    row(id("optimizer"), "controls.optimizer", inputs.optimizer),
    row(id("lr"), "controls.lr", inputs.lr),
    row(id("batch"), "controls.batch_size", inputs.batch),
    row(id("seed"), "controls.seed", inputs.seed),
  );

  function values() {
    const hidden = inputs.hidden.value.split(",").map((part) => part.trim()).filter(Boolean).map(Number);
    return {
      seed: Number(inputs.seed.value),
      dataset: { kind: inputs.dataset.value, noise: Number(inputs.noise.value) },
      model: { hidden: hidden.slice(0, limits().max_hidden_layers), activation: inputs.activation.value },
      optimizer: { name: inputs.optimizer.value, lr: Number(inputs.lr.value) },
      batch_size: Number(inputs.batch.value),
    };
  }

  return {
    inputs,
    set(config) {
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
