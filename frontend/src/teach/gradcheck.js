// Gradient check: for the run's current weights, backprop's gradient of every weight next to the central
// difference (L(w+h) − L(w−h)) / 2h, with relative errors and a verdict per layer; and the h sweep, a V on
// log-log axes: too large an h truncates, too small an h loses the difference to round-off.
import { el, formatNumber } from "../dom.js";
import { t } from "../i18n/index.js";
import { api } from "../core/api.js";
import { destroyChart, lineChart, positive } from "./charts.js";

const HS = ["1e-1", "1e-2", "1e-3", "1e-4", "1e-5", "1e-6", "1e-7", "1e-8", "1e-9", "1e-10", "1e-11", "1e-12"];
// Past these, a large relative error says more about h than about backprop: truncation (error ∝ h²) for a
// large h, round-off (error ∝ ε/h) for a tiny one.
const LARGE_H = 1e-3;
const SMALL_H = 1e-9;
const MAX_ROWS_PER_LAYER = 40;
const VERDICT_COLORS = { ok: "#2e7d32", warning: "#ef6c00", error: "#c62828" };

export function createGradcheck(ctx, body) {
  const h = el("select", { id: "gc-h" }, ...HS.map((value) => el("option", { value, textContent: value })));
  h.value = "1e-5";
  const samples = el("input", { id: "gc-samples", type: "number", min: 1, max: 100, value: 8 });
  const check = el("button", { id: "gc-run", class: "primary", onclick: () => refresh() });
  const overall = el("div", { id: "gc-overall", class: "verdict-banner" });
  const table = el("table", { id: "gc-table", class: "gc-table" });
  const chartBox = el("div", { class: "chart-box", id: "gc-sweep" });
  const chartNote = el("p", { class: "hint", dataset: { i18n: "teach.gradcheck.sweep_hint" } });
  body.append(
    el("div", { class: "toolbar" }, label("teach.gradcheck.h", h), label("teach.gradcheck.samples", samples), check),
    el("div", { class: "split" }, el("div", { class: "table-box" }, overall, table), el("div", {}, chartBox, chartNote)),
  );
  let chart = null;
  let sweep = null;
  let result = null;

  function label(key, input) {
    return el("label", { class: "inline" }, el("span", { dataset: { i18n: key }, textContent: t(key) }), input);
  }

  async function refresh() {
    // Sent as the number typed ("1e9" is 1000000000, which the server can say is over its limit; as text
    // it only read as "not a whole number").
    const rows = samples.value.trim() === "" ? "" : Number(samples.value);
    try {
      [result, sweep] = await Promise.all([api.gradcheck(ctx.runId, h.value, rows), api.hSweep(ctx.runId, rows)]);
      draw();
    } catch (error) {
      ctx.error(error.message);
      // The last check's results were for other inputs: they go rather than pass for these ones.
      [result, sweep] = [null, null];
      overall.replaceChildren();
      table.replaceChildren();
      destroyChart(chart);
      chart = null;
    }
  }

  // An error at an h far from the sweet spot is h's fault, not backprop's: the badge says which.
  function verdictBadge(verdict) {
    const h = Number(result.h);
    const blame = verdict === "ok" ? null : h >= LARGE_H ? "h_large" : h <= SMALL_H ? "h_small" : null;
    const key = blame ? `teach.gradcheck.${blame}` : `teach.gradcheck.${verdict}`;
    return el("span", { class: `verdict ${blame ? "warning" : verdict}`, dataset: { verdict, blame: blame || "" }, textContent: t(key) });
  }

  function draw() {
    check.textContent = t("teach.gradcheck.run");
    chartNote.textContent = t("teach.gradcheck.sweep_hint");
    if (!result) return;
    const h = Number(result.h);
    const advice = result.overall.verdict === "ok" ? "" : h >= LARGE_H ? t("teach.gradcheck.h_large_note") : h <= SMALL_H ? t("teach.gradcheck.h_small_note") : "";
    overall.replaceChildren(
      verdictBadge(result.overall.verdict),
      ` ${t("teach.gradcheck.overall", { error: formatNumber(result.overall.norm_relative_error), h: result.h, loss: formatNumber(result.loss) })}`,
      advice ? el("div", { class: "hint", id: "gc-advice" }, advice) : "",
    );
    const head = el("tr", {}, ...["param", "backprop", "numerical", "rel_error"].map((key) => el("th", {}, t(`teach.gradcheck.${key}`))));
    const rows = [head];
    for (const layer of result.layers) {
      rows.push(
        el(
          "tr",
          { class: "layer-row", dataset: { layer: layer.layer, verdict: layer.verdict } },
          el("td", { colSpan: 3 }, `${t("teach.step.layer", { n: layer.layer + 1 })} · ‖a − n‖/(‖a‖ + ‖n‖) = ${formatNumber(layer.norm_relative_error)}`),
          el("td", {}, verdictBadge(layer.verdict)),
        ),
      );
      const entries = [...flatten(layer.W, (i, j) => `w${layer.layer + 1}[${i + 1},${j + 1}]`), ...flatten(layer.b, (j) => `b${layer.layer + 1}[${j + 1}]`)];
      for (const entry of entries.slice(0, MAX_ROWS_PER_LAYER)) {
        rows.push(el("tr", { class: "param-row" }, el("td", {}, entry.name), num(entry.analytic), num(entry.numerical), num(entry.error)));
      }
      if (entries.length > MAX_ROWS_PER_LAYER) rows.push(el("tr", {}, el("td", { colSpan: 4, class: "hint" }, t("teach.step.more", { n: entries.length - MAX_ROWS_PER_LAYER }))));
    }
    table.replaceChildren(...rows);
    drawSweep();
  }

  function num(value) {
    return el("td", { class: "num", textContent: formatNumber(value), dataset: { value: String(value) } });
  }

  // W's comparison holds 2-D arrays, b's 1-D: one row per entry either way.
  function flatten(comparison, name) {
    const out = [];
    const walk = (analytic, numerical, error, index) => {
      if (Array.isArray(analytic)) analytic.forEach((_, k) => walk(analytic[k], numerical[k], error[k], [...index, k]));
      else out.push({ name: name(...index), analytic, numerical, error });
    };
    walk(comparison.analytic, comparison.numerical, comparison.relative_error, []);
    return out;
  }

  function drawSweep() {
    if (!sweep) return;
    destroyChart(chart);
    const points = [...sweep.points].sort((p, q) => p.h - q.h);
    const xs = points.map((point) => point.h);
    const chosen = Number(h.value);
    chart = lineChart(chartBox, {
      title: t("teach.gradcheck.sweep_title"),
      xLabel: "h",
      yLabel: t("teach.gradcheck.rel_error"),
      logX: true,
      logY: true,
      height: 300,
      series: [
        { label: t("teach.gradcheck.rel_error"), stroke: "#1565c0", points: { show: true, size: 6 } },
        { label: t("teach.gradcheck.ok_line"), stroke: VERDICT_COLORS.ok, dash: [6, 4], width: 1 },
        { label: t("teach.gradcheck.chosen_h"), stroke: "#c62828", points: { show: true, size: 10 }, width: 0 },
      ],
    });
    chart.setData([
      xs,
      positive(points.map((point) => point.relative_error)),
      xs.map(() => sweep.thresholds.ok),
      positive(points.map((point) => (Math.abs(Math.log10(point.h) - Math.log10(chosen)) < 1e-6 ? point.relative_error : null))),
    ]);
  }

  let loaded = false;
  ctx.on("language", () => draw());
  ctx.on("run", () => loaded && refresh());
  draw();
  return {
    show() {
      if (!loaded) {
        loaded = true;
        refresh();
      }
    },
    hide() {},
  };
}
