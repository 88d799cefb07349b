// The learning rate on a log slider (10⁻⁵ … 10) with the typed value beside it; changes apply live (a
// typed lr is the one in force, also under a schedule). Below it, the lr in force now and, under a
// schedule, what the schedule does and where it takes the lr next (`resolved.lr_next`: the lr 10, 100
// and 1000 steps ahead, refreshed by the frames).
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
  const slider = sliderField("lr", "controls.lr", { min: LR_MIN_EXP, max: LR_MAX_EXP, step: 0.01, format: (exp) => formatNumber(round(exp)) }, { onInput: (exp) => send(round(exp)) }, { setting: "optimizer.lr" });
  const typed = numberField("lr_value", "controls.lr_value", { min: 0, max: LR_MAX, step: "any" }, (lr) => app.setConfig({ optimizer: { lr } }));
  typed.input.classList.add("lr-typed");
  typed.input.dataset.i18nAria = "controls.lr_value";
  slider.row.querySelector("output").replaceWith(typed.input);
  slider.row.append(typed.row.querySelector(".field-error"));
  // Enter on the value already shown sends it too (a change event would not fire): under a schedule it
  // puts that lr back in force.
  let shown = null;
  typed.input.addEventListener("keydown", (event) => {
    const value = Number(typed.input.value);
    if (event.key === "Enter" && typed.input.value.trim() !== "" && value === shown) app.setConfig({ optimizer: { lr: value } });
  });
  const current = document.createElement("div");
  current.className = "lr-current";
  slider.row.append(current);
  return {
    row: slider.row,
    set(lr) {
      shown = lr;
      typed.set(lr);
      if (lr > 0) slider.set(Math.min(LR_MAX_EXP, Math.max(LR_MIN_EXP, Math.log10(lr))));
    },
    showCurrent(run) {
      const { lr, lr_next: next = [] } = run.resolved;
      const kind = run.config.schedule.kind;
      if (lr === null || lr === undefined) {
        current.textContent = "";
        return;
      }
      if (kind === "constant") {
        current.textContent = t("controls.lr_in_force", { lr: formatNumber(lr) });
        return;
      }
      const ahead = next.filter((entry) => entry.step > run.step && entry.lr !== null);
      const steps = ahead.map((entry) => t("controls.lr_at", { lr: formatNumber(entry.lr), step: entry.step })).join(t("controls.list_separator"));
      const said = t("controls.lr_now", { lr: formatNumber(lr), schedule: t(`controls.schedule_next.${kind}`) });
      current.textContent = steps ? t("controls.lr_ahead", { now: said, steps }) : said;
    },
  };
}
