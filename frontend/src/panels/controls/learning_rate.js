// The learning rate on a log slider (10⁻⁵ … 10) with the typed value beside it; changes apply live. Below
// it, the lr in force now and, under a schedule, what the schedule does next.
import { t } from "../../i18n/index.js";
import { numberField, sliderField } from "../../form.js";
import { formatNumber } from "../../dom.js";

const LR_MIN_EXP = -5;
const LR_MAX_EXP = 1;
const LIVE_SEND_MS = 120;
const LR_MAX = 1e4;

export function createLearningRate(app) {
  let timer = null;
  const send = (lr) => {
    clearTimeout(timer);
    timer = setTimeout(() => app.setConfig({ optimizer: { lr } }), LIVE_SEND_MS);
  };
  const round = (exp) => Number((10 ** exp).toPrecision(2));
  const slider = sliderField("lr", "controls.lr", { min: LR_MIN_EXP, max: LR_MAX_EXP, step: 0.01, format: (exp) => formatNumber(round(exp)) }, { onInput: (exp) => send(round(exp)) });
  const typed = numberField("lr_value", "controls.lr_value", { min: 0, max: LR_MAX, step: "any" }, (lr) => app.setConfig({ optimizer: { lr } }));
  typed.input.classList.add("lr-typed");
  typed.input.dataset.i18nAria = "controls.lr_value";
  slider.row.querySelector("output").replaceWith(typed.input);
  slider.row.append(typed.row.querySelector(".field-error"));
  const current = document.createElement("div");
  current.className = "lr-current";
  slider.row.append(current);
  return {
    row: slider.row,
    set(lr) {
      typed.set(lr);
      if (lr > 0) slider.set(Math.min(LR_MAX_EXP, Math.max(LR_MIN_EXP, Math.log10(lr))));
    },
    showCurrent(run) {
      const lr = run.resolved.lr;
      const kind = run.config.schedule.kind;
      if (lr === null || lr === undefined) current.textContent = "";
      else if (kind === "constant") current.textContent = t("controls.lr_in_force", { lr: formatNumber(lr) });
      else current.textContent = t("controls.lr_now", { lr: formatNumber(lr), schedule: t(`controls.schedule_next.${kind}`) });
    },
  };
}
