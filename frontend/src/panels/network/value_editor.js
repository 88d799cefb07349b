// A small box to type a new value for a weight or bias where it was clicked. Enter applies, Escape cancels.
import { el } from "../../dom.js";
import { t } from "../../i18n/index.js";

let open = null;

export function editValue(container, x, y, labelKey, value, onApply) {
  if (open) open.remove();
  const input = el("input", { type: "number", step: "any", value: String(value), "aria-label": t(labelKey) });
  const box = el("form", { class: "value-editor" }, el("label", {}, t(labelKey)), input);
  box.style.left = `${x}px`;
  box.style.top = `${y}px`;
  const close = () => {
    box.remove();
    if (open === box) open = null;
  };
  box.addEventListener("submit", (event) => {
    event.preventDefault();
    const number = Number(input.value);
    if (input.value.trim() !== "" && Number.isFinite(number)) onApply(number);
    close();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
  container.append(box);
  open = box;
  input.focus();
  input.select();
}
