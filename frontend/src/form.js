// Labelled form rows used by the control and data panels. Each returns {row, set(value)}; set() never
// overwrites a field the user is editing. Labels and option names come from the message catalogues.
import { el } from "./dom.js";

function labelled(control, labelKey, input, { rebuild = false, title } = {}) {
  const id = `field-${control}`;
  input.id = id;
  const label = el("label", { htmlFor: id, dataset: { i18n: labelKey } });
  const row = el("div", { class: "field", dataset: { control } }, label, input);
  if (rebuild) row.append(el("span", { class: "rebuild", dataset: { i18nTitle: "controls.rebuild_hint" } }, "↻"));
  if (title) input.dataset.i18nTitle = title;
  return row;
}

function guarded(input, assign) {
  return (value) => {
    if (document.activeElement !== input) assign(value);
  };
}

// options: [[value, labelKey], ...]; value null travels as "" (the engine's automatic choice).
export function selectField(control, labelKey, options, onChange, extra) {
  const input = el("select");
  for (const [value, key] of options) input.append(el("option", { value: value ?? "", dataset: { i18n: key } }));
  input.addEventListener("change", () => onChange(input.value === "" ? null : input.value));
  return {
    row: labelled(control, labelKey, input, extra),
    input,
    set: (value) => {
      input.value = value ?? "";
    },
  };
}

export function numberField(control, labelKey, { min, max, step = "any", integer = false }, onChange, extra) {
  const input = el("input", { type: "number", min, max, step, inputMode: integer ? "numeric" : "decimal" });
  // Out-of-range values are pulled back into range (and shown so) instead of being sent to be refused.
  input.addEventListener("change", () => {
    const typed = Number(input.value);
    if (input.value === "" || !Number.isFinite(typed)) return;
    const value = Math.min(max ?? Infinity, Math.max(min ?? -Infinity, integer ? Math.round(typed) : typed));
    if (value !== typed) input.value = String(value);
    onChange(value);
  });
  return { row: labelled(control, labelKey, input, extra), input, set: guarded(input, (v) => (input.value = v ?? "")) };
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
