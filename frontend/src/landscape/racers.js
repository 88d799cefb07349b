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

  function numberInput(value, onValue, title) {
    const input = el("input", { type: "number", step: "any", min: 0, value: value ?? "", title });
    input.addEventListener("change", () => {
      const number = Number(input.value);
      if (input.value !== "" && Number.isFinite(number)) onValue(number);
    });
    return input;
  }

  function hyperFields(index) {
    const hyper = live[index]?.hyper;
    if (!hyper) return null;
    const rows = optimizerFields(specs[index].optimizer).map((name) => {
      const value = fieldValue(hyper, name);
      const send = (v) => onHyper(index, change(live[index].hyper, name, v));
      const input = BOOLEAN_FIELDS.has(name)
        ? el("input", { type: "checkbox", checked: Boolean(value), onchange: (event) => send(event.target.checked) })
        : numberInput(value, send);
      return el("label", { class: "hyper-field" }, el("span", {}, t(`controls.${name}`)), input);
    });
    return el("details", { class: "racer-more" }, el("summary", {}, t("ls.more")), ...rows);
  }

  function render() {
    container.replaceChildren(
      ...specs.map((spec, index) => {
        const select = el("select", { "aria-label": t("ls.optimizer"), dataset: { racer: index } });
        for (const [value, key, fallback] of options("optimizer")) select.append(el("option", { value, dataset: { i18n: key, i18nFallback: fallback } }, t(key)));
        select.value = spec.optimizer;
        select.addEventListener("change", () => {
          specs[index] = { optimizer: select.value, lr: spec.lr };
          onRebuild(specs);
        });
        const lr = numberInput(live[index]?.hyper.lr ?? spec.lr, (value) => {
          spec.lr = value;
          onHyper(index, { lr: value });
        }, t("ls.lr"));
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

  return {
    specs: () => specs,
    set(nextSpecs, racers) {
      specs = nextSpecs.map((spec) => ({ ...spec }));
      live = racers || [];
      const open = [...container.querySelectorAll("details")].map((node) => node.open);
      render();
      container.querySelectorAll("details").forEach((node, i) => (node.open = Boolean(open[i])));
    },
    // Newer numbers from a frame (no re-render, so a field being edited keeps its focus).
    update(racers) {
      live = racers;
    },
  };
}
