// uPlot line charts for the teaching views: sized to their box (and kept so on resize), log axes on demand
// (charts/safe.js' logAxis), tick labels that fit (charts/safe.js). Data for a log axis goes through
// positive() before setData.
import uPlot from "../../vendor/uplot/uPlot.esm.js";
import { axisSize, logAxis, logRange, logSafe, tickValues } from "../charts/safe.js";

// series: [{label, stroke, width?, dash?}]; data: [xs, ...ys] with null gaps.
export function lineChart(box, { title, xLabel, yLabel, series, logX = false, logY = false, height = 220, yRange, legend = true }) {
  const options = {
    title,
    width: Math.max(200, box.clientWidth),
    height,
    legend: { show: legend, live: true },
    cursor: { drag: { x: true, y: false } },
    scales: {
      x: logX ? { time: false, distr: 3, range: logRange } : { time: false },
      y: logY ? { distr: 3, range: logRange } : yRange ? { range: yRange } : { auto: true },
    },
    axes: [
      { label: xLabel, labelSize: 16, size: 34, values: tickValues, ...(logX ? logAxis : {}) },
      { label: yLabel, labelSize: 16, size: axisSize, values: tickValues, ...(logY ? logAxis : {}) },
    ],
    series: [
      { label: xLabel },
      ...series.map((item) => ({ spanGaps: true, points: { show: false }, width: 2, ...item })),
    ],
  };
  const chart = new uPlot(options, [[], ...series.map(() => [])], box);
  const observer = new ResizeObserver(() => {
    if (box.clientWidth > 0) chart.setSize({ width: box.clientWidth, height });
  });
  observer.observe(box);
  chart.stopObserving = () => observer.disconnect();
  return chart;
}

export function destroyChart(chart) {
  if (!chart) return;
  chart.stopObserving();
  chart.destroy();
}

// Several [xs, ys] tables on one shared x axis (null where a table has no point).
export function joinTables(tables) {
  return tables.length ? uPlot.join(tables.map(([xs, ys]) => [Array.from(xs), Array.from(ys)])) : [[]];
}

// Log axes cannot show zero, negative, denormal or non-finite values: those become gaps.
export function positive(values) {
  return Array.from(values, logSafe);
}
