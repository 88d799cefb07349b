// The racer list of the optimizer race: per racer its colour, optimizer, learning rate and (folded away)
// the optimizer's other hyperparameters. Choosing another optimizer or adding/removing a racer restarts
// the race (onRebuild); the learning rate and hyperparameters change live (onHyper), keeping the point.
import { t } from "../i18n/index.js";
import { el } from "../dom.js";
import { limits, optimizerFields, options } from "../core/choices.js";

const BOOLEAN_FIELDS = new Set(["nesterov", "centered", "amsgrad"]);

// hyper as the server reports it → the value a form field shows (betas split into beta1 and beta2).
function fieldValue(hyper, name) {
  if (name === "beta1") return hyper.betas?.[0];
  if (name === "beta2") return hyper.betas?.[1];
  return hyper[name];
}

// A form field's new value → the hyperparameter change to send.
function change(hyper, name, value) {
  if (name === "beta1") return { betas: [value, hyper.betas[1]] };
  if (name === "beta2") return { betas: [hyper.betas[0], value] };
  return { [name]: value };
}

export function createRacerList(container, { colour, onRebuild, onHyper }) {
  let specs = [];
  let live = []; // the racers as the server last reported them (hyper in force)
  let shown = ""; // the racer set the rows were built for (optimizers in order)
  let refreshers = []; // per field: () => show the value in force (skipped while the field has focus)

  function numberInput(value, onValue, title, current) {
    const input = el("input", { type: "number", step: "any", min: 0, value: value ?? "", title });
    if (current) refreshers.push(() => input !== document.activeElement && (input.value = current() ?? ""));
    input.addEventListener("change", () => {
      const number = Number(input.value);
      if (input.value !== "" && Number.isFinite(number)) onValue(number);
    });
    return input;
  }

  function checkbox(value, onValue, current) {
    const input = el("input", { type: "checkbox", checked: Boolean(value), onchange: () => onValue(input.checked) });
    refreshers.push(() => (input.checked = Boolean(current())));
    return input;
  }

  function hyperFields(index) {
    const hyper = live[index]?.hyper;
    if (!hyper) return null;
    const rows = optimizerFields(specs[index].optimizer).map((name) => {
      const value = fieldValue(hyper, name);
      const send = (v) => onHyper(index, change(live[index].hyper, name, v));
      const current = () => fieldValue(live[index]?.hyper ?? {}, name);
      const input = BOOLEAN_FIELDS.has(name) ? checkbox(value, send, current) : numberInput(value, send, undefined, current);
      return el("label", { class: "hyper-field" }, el("span", {}, t(`controls.${name}`)), input);
    });
    return el("details", { class: "racer-more" }, el("summary", {}, t("ls.more")), ...rows);
  }

  function render() {
    refreshers = [];
    shown = shape();
    container.replaceChildren(
      ...specs.map((spec, index) => {
        const select = el("select", { "aria-label": t("ls.optimizer"), dataset: { racer: index } });
        for (const [value, key, fallback] of options("optimizer")) select.append(el("option", { value, dataset: { i18n: key, i18nFallback: fallback } }, t(key)));
        select.value = spec.optimizer;
        select.addEventListener("change", () => {
          specs[index] = { optimizer: select.value, lr: specs[index].lr };
          onRebuild(specs);
        });
        const lr = numberInput(live[index]?.hyper.lr ?? spec.lr, (value) => {
          specs[index].lr = value;
          onHyper(index, { lr: value });
        }, t("ls.lr"), () => live[index]?.hyper.lr ?? specs[index].lr);
        lr.classList.add("racer-lr");
        lr.setAttribute("aria-label", t("ls.lr"));
        const remove = el("button", {
          class: "round small",
          title: t("ls.remove_racer"),
          "aria-label": t("ls.remove_racer"),
          disabled: specs.length <= 1,
          onclick: () => onRebuild(specs.filter((_, i) => i !== index)),
        }, "×");
        const swatch = el("span", { class: "swatch", style: `background:${colour(index)}` });
        return el(
          "div",
          { class: "racer" },
          el("div", { class: "racer-row" }, swatch, select, remove),
          el("label", { class: "racer-row racer-lr-row" }, el("span", { class: "lr-label" }, t("ls.lr_short")), lr),
          hyperFields(index),
        );
      }),
      el("button", {
        class: "add-racer",
        disabled: specs.length >= limits().max_racers,
        onclick: () => onRebuild([...specs, { optimizer: "rmsprop", lr: 0.01 }]),
      }, t("ls.add_racer")),
    );
  }

  // Rebuild every row (folded sections stay as they were).
  function rebuild() {
    const open = [...container.querySelectorAll("details")].map((node) => node.open);
    render();
    container.querySelectorAll("details").forEach((node, i) => (node.open = Boolean(open[i])));
  }

  const shape = () => JSON.stringify([specs.map((spec) => spec.optimizer), live.map((racer) => Boolean(racer.hyper))]);

  return {
    specs: () => specs,
    // A race's state: the rows are rebuilt only when the racer set changed; otherwise the fields show the
    // values in force in place, so a field being typed into keeps its text and focus.
    set(nextSpecs, racers) {
      specs = nextSpecs.map((spec) => ({ ...spec }));
      live = racers || [];
      if (shown === shape()) refreshers.forEach((refresh) => refresh());
      else rebuild();
    },
    // After a language change: the rows again, in the new language.
    relabel: rebuild,
    // Newer numbers from a frame: the fields show the values in force (a field being edited keeps its text).
    update(racers) {
      live = racers;
      refreshers.forEach((refresh) => refresh());
    },
  };
}
