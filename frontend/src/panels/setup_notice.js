// When the run's setup changes from elsewhere (main.js emits "setup-changed" before the controls follow the
// new `run`): a field the person is in, for a setting that changed, is left. Its text was the old value
// (form.js never overwrites a field being edited), so Enter or leaving it would have sent that back over
// the teacher's push; its change event is swallowed on the way out and the refresh that follows shows the
// value in force. A student whose teacher changed the setup is told what changed (not for a change made
// in another tab of their own); anyone else only when the field they were in moved under them.
import { formatNumber } from "../dom.js";
import { t, tOr } from "../i18n/index.js";
import { choiceLabel } from "../core/choices.js";
import { fieldInWords } from "../core/errors.js";
import { overlaps } from "../core/setup_changes.js";

const NAMED = 4; // changes a notice names one by one; more end in "…"
// Settings whose values are choices, and the kind core/choices.js labels them by.
const CHOICES = {
  "optimizer.name": "optimizer",
  "model.activation": "activation",
  "model.output_activation": "output_activation",
  "model.init": "init",
  loss: "loss",
  "regularization.kind": "regularization",
  "schedule.kind": "schedule",
};
// Labels of settings whose name in the catalogues is not controls.<last part of the path>.
const LABELS = {
  "optimizer.name": "controls.optimizer",
  "model.activation": "controls.activation",
  "model.output_activation": "controls.output_activation",
  "model.init": "controls.init",
  "regularization.kind": "controls.regularization",
  "schedule.kind": "controls.schedule",
  "dataset.kind": "data.title",
};

// The control's label: "Learning rate", "Hidden layers", "Momentum"; the path where the catalogues have none.
const label = (path) => (LABELS[path] ? t(LABELS[path]) : fieldInWords(path));

// A setting's value in words, or null for one too large to show (data rows, weights).
function valueInWords(path, value) {
  if (CHOICES[path]) return choiceLabel(CHOICES[path], value);
  if (path === "dataset.kind") return tOr(`data.kind.${value}`, value);
  if (value === null) return null; // back to the optimizer's default, say: the label says enough
  if (typeof value === "number") return formatNumber(value);
  if (Array.isArray(value)) return value.every((item) => typeof item === "number") && value.length <= 12 ? value.join(", ") : null;
  return String(value);
}

// "Learning rate 0.3 → 0.05, Hidden layers 4, 2 → 8, 8"
function describe(changes) {
  const named = changes.slice(0, NAMED).map(({ path, from, to }) => {
    const [before, after] = [valueInWords(path, from), valueInWords(path, to)];
    return before === null || after === null ? label(path) : t("controls.setting_change", { setting: label(path), from: before, to: after });
  });
  return named.join(t("controls.change_separator")) + (changes.length > NAMED ? "…" : "");
}

// Leaves the focused field if it is one of the changed settings', sending nothing; true if it did.
function leaveStaleField(changes) {
  const input = document.activeElement;
  const setting = input && input.closest ? input.closest("[data-setting]")?.dataset.setting : "";
  if (!setting || !changes.some(({ path }) => overlaps(path, setting))) return false;
  const swallow = (event) => event.target === input && event.stopImmediatePropagation();
  window.addEventListener("change", swallow, true); // before the field's own listener: blur fires change
  input.blur();
  window.removeEventListener("change", swallow, true);
  return true;
}

export function createSetupNotice(app) {
  app.on("setup-changed", ({ changes, run }) => {
    const left = leaveStaleField(changes);
    const others = changes.filter((change) => !change.sibling);
    const student = app.role === "owner" && Boolean(run.class);
    if (student && others.length) app.emit("notice", t("controls.teacher_changed", { changes: describe(others) }));
    else if (left) app.emit("notice", t("controls.changed_elsewhere", { changes: describe(changes) }));
  });
}
