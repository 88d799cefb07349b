// Learning-rate sweep: the run's config trained at several learning rates for the same number of steps
// (POST /api/sweeps). Loss curves on a log axis, one colour per learning rate (diverged ones dashed and
// cut at CLIP × the starting loss, so one explosion cannot flatten the rest), and the final loss against
// the learning rate, every finite value where it is (its log axis has room; the table's numbers and the
// chart's agree): the valley between too small and too large.
import { el, formatNumber } from "../dom.js";
import { t } from "../i18n/index.js";
import { api, reusableConfig } from "../core/api.js";
import { layerColor } from "../colors.js";
import { destroyChart, joinTables, lineChart, positive } from "./charts.js";

const CLIP = 10;

export function createSweep(ctx, body) {
  const number = (id, value, attrs = {}) => el("input", { id, type: "number", step: "any", value, ...attrs });
  const low = number("sweep-min", 0.0001, { min: 0 });
  const high = number("sweep-max", 100, { min: 0 });
  const count = number("sweep-count", 7, { min: 2, max: 12, step: 1 });
  const steps = number("sweep-steps", 300, { min: 1, max: 5000, step: 1 });
  const run = el("button", { id: "sweep-run", class: "primary", onclick: () => sweep() });
  const chartBox = el("div", { class: "chart-box", id: "sweep-curves" });
  const finalBox = el("div", { class: "chart-box", id: "sweep-final" });
  const table = el("table", { id: "sweep-table", class: "gc-table" });
  const rule = el("p", { class: "hint", id: "sweep-rule" });
  const empty = el("p", { id: "sweep-empty", class: "empty-hint" });
  const resultArea = el("div", { class: "split" }, el("div", { class: "chart-stack" }, chartBox, finalBox), el("div", { class: "table-box" }, table, rule));
  const field = (key, input) => el("label", { class: "inline" }, el("span", { dataset: { i18n: key }, textContent: t(key) }), input);
  body.append(
    el("div", { class: "toolbar" }, field("teach.sweep.min", low), field("teach.sweep.max", high), field("teach.sweep.count", count), field("teach.sweep.steps", steps), run),
    empty,
    resultArea,
  );
  let chart = null;
  let finalChart = null;
  let result = null;

  async function sweep() {
    // A number JSON cannot carry (1e309 is Infinity, sent as null) is refused here, naming its field.
    const unreadable = [[low, "field.lrs.min"], [high, "field.lrs.max"], [count, "field.lrs.count"], [steps, "field.steps"]].find(([input]) => !Number.isFinite(Number(input.value)) || input.value.trim() === "");
    if (unreadable) return ctx.error(t("error.field_sentence", { field: t(unreadable[1]), reason: t("error.reason.finite") }));
    run.disabled = true;
    try {
      const config = reusableConfig(await api.getRun(ctx.runId), { sameData: true });
      const lrs = { min: Number(low.value), max: Number(high.value), count: Number(count.value) };
      result = await api.sweep({ config, lrs, steps: Number(steps.value) });
      draw();
    } catch (error) {
      ctx.error(error.message);
    } finally {
      run.disabled = false;
    }
  }

  function draw() {
    run.textContent = t("teach.sweep.run");
    empty.textContent = t("teach.sweep.empty", { button: run.textContent });
    empty.hidden = result !== null;
    resultArea.hidden = result === null;
    if (!result) return;
    const label = (item) => `η = ${formatNumber(item.lr)} (${t(`teach.sweep.${item.status}`)})`;
    destroyChart(chart);
    destroyChart(finalChart);
    const results = result.results;
    const start = Math.max(...results.map((item) => item.initial_loss).filter(Number.isFinite), 1e-12);
    const ceiling = CLIP * start;
    chart = lineChart(chartBox, {
      title: t("teach.sweep.chart_title"),
      xLabel: t("teach.health.step"),
      yLabel: t("teach.race.loss"),
      logY: true,
      height: 320,
      series: results.map((item, rank) => ({
        label: label(item),
        stroke: layerColor(rank, results.length),
        width: 1.5,
        dash: item.status === "diverged" ? [6, 4] : undefined,
      })),
    });
    const clipped = (values) => Array.from(values, (value) => (value === null || !(value <= ceiling) ? (value === null ? null : ceiling) : value));
    const joined = joinTables(results.map((item) => [item.curve.step, clipped(item.curve.train_loss)]));
    chart.setData([joined[0], ...joined.slice(1).map(positive)]);
    finalChart = lineChart(finalBox, {
      title: t("teach.sweep.final_title"),
      xLabel: "η",
      yLabel: t("teach.sweep.final_loss"),
      logX: true,
      logY: true,
      height: 220,
      legend: false,
      series: [{ label: t("teach.sweep.final_loss"), stroke: "#37474f", points: { show: true, size: 7 } }],
    });
    const ordered = [...results].sort((a, b) => a.lr - b.lr);
    finalChart.setData([ordered.map((item) => item.lr), positive(ordered.map((item) => item.final_loss))]);
    ctx.sweepFinal = finalChart; // for the browser tests
    const head = el("tr", {}, ...["lr", "status", "initial", "final"].map((key) => el("th", {}, t(`teach.sweep.col_${key}`))));
    const rows = result.results.map((item) =>
      el(
        "tr",
        { dataset: { status: item.status } },
        el("td", { class: "num" }, formatNumber(item.lr)),
        el("td", {}, el("span", { class: `verdict ${item.status}`, textContent: t(`teach.sweep.${item.status}`) })),
        el("td", { class: "num" }, formatNumber(item.initial_loss)),
        el("td", { class: "num" }, formatNumber(item.final_loss)),
      ),
    );
    table.replaceChildren(head, ...rows);
    rule.textContent = `${t("teach.sweep.rule")} ${t("teach.sweep.rule_text")} ${t("teach.sweep.clipped")}`;
  }

  ctx.on("language", draw);
  draw();
  return { show() {}, hide() {} };
}
