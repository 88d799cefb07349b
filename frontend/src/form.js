// Labelled form rows used by the control and data panels. Each returns {row, set(value)}; set() never
// overwrites a field the user is editing. Labels and option names come from the message catalogues.
import { el } from "./dom.js";
import { t } from "./i18n/index.js";

// extra: {rebuild: true} marks a field that rebuilds the network; {setting: "optimizer.lr"} names the
// RunConfig setting it changes (a class's locks and watch mode disable it: panels/access.js). holder: what
// follows the label, when the input sits inside something that also takes the ↻ mark.
function labelled(control, labelKey, input, { rebuild = false, title, setting } = {}, holder = input) {
  const id = `field-${control}`;
  input.id = id;
  const label = el("label", { htmlFor: id, dataset: { i18n: labelKey } });
  const row = el("div", { class: "field", dataset: { control } }, label, holder);
  if (setting) row.dataset.setting = setting;
  if (rebuild) (holder === input ? row : holder).append(el("span", { class: "rebuild", dataset: { i18nTitle: "controls.rebuild_hint" } }, "↻"));
  if (title) input.dataset.i18nTitle = title;
  return row;
}

function guarded(input, assign) {
  return (value) => {
    if (document.activeElement !== input) assign(value);
  };
}

// options: [[value, labelKey, fallback label], ...] (core/choices.js options()); value null travels as "" (the engine's automatic choice).
export function selectField(control, labelKey, options, onChange, extra) {
  const input = el("select");
  for (const [value, key, fallback] of options) input.append(el("option", { value: value ?? "", dataset: { i18n: key, i18nFallback: fallback ?? key } }));
  input.addEventListener("change", () => onChange(input.value === "" ? null : input.value));
  // The select and its ↻ stay together: beside the label while the chosen option fits there, else under
  // it, the row's whole width (app.css .field.choice), so the option's text is never cut short.
  const row = labelled(control, labelKey, input, extra, el("span", { class: "choice-control" }, input));
  row.classList.add("choice");
  return {
    row,
    input,
    set: (value) => {
      input.value = value ?? "";
    },
  };
}

// Why a number field's text is refused before sending, or null: not a number, out of [min, max], or not
// whole when it must be; in the same words as the server's refusals.
export function numberProblem(input, { min, max, integer = false }) {
  const value = Number(input.value);
  if (input.validity.badInput || input.value.trim() === "" || !Number.isFinite(value)) return t("error.reason.number");
  if (min !== undefined && value < min) return t("error.reason.at_least", { value: min });
  if (max !== undefined && value > max) return t("error.reason.at_most", { value: max });
  if (integer && !Number.isInteger(value)) return t("error.reason.integer");
  return null;
}

// A number the page refuses before sending when it is out of range or not whole, saying why in the same
// words as the server's refusals; the field keeps the refused text (marked invalid) until it is corrected
// or left, when it goes back to the value in force.
export function numberField(control, labelKey, { min, max, step = "any", integer = false }, onChange, extra) {
  const input = el("input", { type: "number", min, max, step, inputMode: integer ? "numeric" : "decimal" });
  const row = labelled(control, labelKey, input, extra);
  const message = el("div", { class: "field-error", role: "alert", hidden: true });
  row.append(message);
  let inForce = "";
  const refuse = (text) => {
    input.setAttribute("aria-invalid", "true");
    message.textContent = text;
    message.hidden = false;
  };
  const clear = () => {
    input.removeAttribute("aria-invalid");
    message.hidden = true;
  };
  const limits = () => ({ min: field.min ?? min, max: field.max ?? max });
  input.addEventListener("change", () => {
    const problem = numberProblem(input, { ...limits(), integer });
    if (problem) return refuse(problem);
    clear();
    onChange(Number(input.value));
  });
  input.addEventListener("blur", () => {
    if (input.getAttribute("aria-invalid") !== "true") return;
    input.value = inForce;
    setTimeout(clear, 4000);
  });
  const field = {
    row,
    input,
    min: undefined,
    max: undefined,
    // Narrow the allowed range (e.g. batch size up to the training set's size).
    setLimits(low, high) {
      field.min = low;
      field.max = high;
      if (low !== undefined) input.min = low;
      if (high !== undefined) input.max = high;
    },
    set: (value) => {
      inForce = value ?? "";
      if (document.activeElement !== input) input.value = inForce;
    },
  };
  return field;
}

export function checkboxField(control, labelKey, onChange, extra) {
  const input = el("input", { type: "checkbox" });
  input.addEventListener("change", () => onChange(input.checked));
  return { row: labelled(control, labelKey, input, extra), input, set: (value) => (input.checked = Boolean(value)) };
}

// A range slider with its value printed beside it; `onInput` fires while dragging, `onChange` on release.
export function sliderField(control, labelKey, { min, max, step, format }, { onInput, onChange }, extra) {
  const input = el("input", { type: "range", min, max, step });
  const output = el("output", { class: "slider-value" });
  const show = () => (output.textContent = format(Number(input.value)));
  input.addEventListener("input", () => {
    show();
    if (onInput) onInput(Number(input.value));
  });
  if (onChange) input.addEventListener("change", () => onChange(Number(input.value)));
  const row = labelled(control, labelKey, input, extra);
  row.append(output);
  return {
    row,
    input,
    set: guarded(input, (value) => {
      input.value = value;
      show();
    }),
  };
}
