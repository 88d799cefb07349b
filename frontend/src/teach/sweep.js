// Learning-rate sweep: the run's config trained at several learning rates for the same number of steps
// (POST /api/sweeps); loss curves coloured by what happened: converged, stalled or diverged.
import { el, formatNumber } from "../dom.js";
import { t } from "../i18n/index.js";
import { api, reusableConfig } from "../core/api.js";
import { destroyChart, joinTables, lineChart, positive } from "./charts.js";

// Hue by status; within a status, darker for smaller learning rates so neighbouring curves stay apart.
const STATUS_HUES = { converged: 125, stalled: 55, diverged: 0 };
const statusColor = (status, rank, count) => `hsl(${STATUS_HUES[status]}, 70%, ${25 + (35 * rank) / Math.max(1, count - 1)}%)`;

export function createSweep(ctx, body) {
  const number = (id, value, attrs = {}) => el("input", { id, type: "number", step: "any", value, ...attrs });
  const low = number("sweep-min", 0.0001, { min: 0 });
  const high = number("sweep-max", 100, { min: 0 });
  const count = number("sweep-count", 7, { min: 2, max: 12, step: 1 });
  const steps = number("sweep-steps", 300, { min: 1, max: 5000, step: 1 });
  const run = el("button", { id: "sweep-run", class: "primary", onclick: () => sweep() });
  const chartBox = el("div", { class: "chart-box" });
  const table = el("table", { id: "sweep-table", class: "gc-table" });
  const rule = el("p", { class: "hint", id: "sweep-rule" });
  const field = (key, input) => el("label", { class: "inline" }, el("span", { dataset: { i18n: key }, textContent: t(key) }), input);
  body.append(
    el("div", { class: "toolbar" }, field("teach.sweep.min", low), field("teach.sweep.max", high), field("teach.sweep.count", count), field("teach.sweep.steps", steps), run),
    el("div", { class: "split" }, chartBox, el("div", { class: "table-box" }, table, rule)),
  );
  let chart = null;
  let result = null;

  async function sweep() {
    run.disabled = true;
    try {
      const config = reusableConfig(await api.getRun(ctx.runId));
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
    if (!result) return;
    const label = (item) => `η = ${formatNumber(item.lr)} (${t(`teach.sweep.${item.status}`)})`;
    destroyChart(chart);
    chart = lineChart(chartBox, {
      title: t("teach.sweep.chart_title"),
      xLabel: t("teach.health.step"),
      yLabel: t("teach.race.loss"),
      logY: true,
      height: 360,
      series: result.results.map((item, rank) => ({ label: label(item), stroke: statusColor(item.status, rank, result.results.length), width: 1.5 })),
    });
    const joined = joinTables(result.results.map((item) => [item.curve.step, item.curve.train_loss]));
    chart.setData([joined[0], ...joined.slice(1).map(positive)]);
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
    rule.textContent = `${t("teach.sweep.rule")} ${t("teach.sweep.rule_text")}`;
  }

  ctx.on("language", draw);
  draw();
  return { show() {}, hide() {} };
}
