// Data and axes that uPlot can always draw. Zero, denormal, huge and non-finite values on a log axis (a
// diverging run, dead ReLUs' zero gradients) once made uPlot's log splits throw "Invalid array length"
// and froze the page: every series goes through these filters before it reaches a chart, log scales
// get a range of whole decades, at most MAX_DECADES wide, and log axes get ticks of their own (logAxis).
import { formatNumber } from "../dom.js";

const LOG_MIN = 1e-200;
const LOG_MAX = 1e200;
const LINEAR_MAX = 1e30; // uPlot's linear tick steps stop at 5e31: beyond, an axis got not one label
const MAX_DECADES = 16;

// A value a log axis can show, or null (a gap).
export const logSafe = (value) => (value !== null && Number.isFinite(value) && value >= LOG_MIN && value <= LOG_MAX ? value : null);
// A value a linear axis can show, or null.
export const linearSafe = (value) => (value !== null && Number.isFinite(value) && Math.abs(value) <= LINEAR_MAX ? value : null);

export function safeSeries(values, log) {
  const keep = log ? logSafe : linearSafe;
  return Array.from(values, (value) => keep(value));
}

// uPlot `range` for a log scale: whole decades around the data, never more than MAX_DECADES.
export function logRange(chart, min, max) {
  if (!(min > 0 && Number.isFinite(min))) min = 1;
  if (!(max > 0 && Number.isFinite(max))) max = min * 10;
  let low = Math.floor(Math.log10(Math.max(min, LOG_MIN)));
  let high = Math.ceil(Math.log10(Math.min(max, LOG_MAX)));
  if (high <= low) high = low + 1;
  if (high - low > MAX_DECADES) low = high - MAX_DECADES;
  return [10 ** low, 10 ** high];
}

// Tick labels people read: small and large powers of ten as 1e-4 or 1e6 (not 0, not 1.00e-4), others
// with formatNumber.
export function formatTick(value) {
  if (value === null || value === undefined) return "";
  if (value === 0) return "0";
  const exponent = Math.log10(Math.abs(value));
  if (Math.abs(exponent - Math.round(exponent)) < 1e-9 && (exponent <= -3 || exponent >= 5)) return `${value < 0 ? "-" : ""}1e${Math.round(exponent)}`;
  return formatNumber(value);
}

// The decimals that write `step` exactly (0.25 → 2, 5e-5 → 5, 2000 → 0), at most 20.
function decimalsOf(step) {
  let decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  while (decimals < 20 && Math.abs(Math.round(step * 10 ** decimals) - step * 10 ** decimals) > 1e-6) decimals++;
  return decimals;
}

// Labels for evenly spaced ticks, with formatTick unless two ticks would read the same (a nearly flat
// curve: 0.17445 and 0.17450 both "0.1745") or all are tiny or huge (1e-4 beside 2.00e-4, 1e5 beside 2.00e+5:
// mixed forms); then with as
// many digits as the tick spacing needs: fixed decimals for ordinary magnitudes, significant digits of an
// exponent for the tiny and the huge.
export function tickLabels(values) {
  const labels = values.map(formatTick);
  const finite = values.filter((value) => Number.isFinite(value));
  const largest = Math.max(0, ...finite.map(Math.abs));
  const exponential = largest > 0 && (largest < 1e-3 || largest >= 1e5); // 1e5 beside 2.00e+5: mixed forms
  if (!exponential && new Set(finite.map(formatTick)).size === new Set(finite).size) return labels;
  const gaps = finite.slice(1).map((value, k) => Math.abs(value - finite[k])).filter((gap) => gap > 0);
  if (!gaps.length) return labels;
  const step = Math.min(...gaps);
  const fixed = largest >= 1e-3 && largest < 1e5;
  const digits = Math.min(20, Math.max(0, Math.floor(Math.log10(largest) + 1e-9) - Math.floor(Math.log10(step) + 1e-9)));
  return values.map((value, k) => {
    if (!Number.isFinite(value)) return labels[k];
    if (value === 0) return "0";
    return fixed ? value.toFixed(decimalsOf(step)) : value.toExponential(digits).replace("e+", "e");
  });
}

const LABEL_PX = 22; // the least room one tick label gets along a log axis (more if the axis' `space` says so)
const MINOR_PX = 20; // the least room of a decade on a log axis for grid lines at 2..9 × 10^k

const isDecade = (value) => value > 0 && Math.abs(Math.log10(value) - Math.round(Math.log10(value))) < 1e-9;

// CSS pixels one decade takes on a log axis from min to max.
function decadePx(chart, axis, min, max) {
  const length = (axis.side % 2 ? chart.bbox.height : chart.bbox.width) / (window.devicePixelRatio || 1);
  return length / Math.max(1e-9, Math.log10(max) - Math.log10(min));
}

// Leading digits of the ticks between two decades that get a label, finest first: each set is used
// when its closest pair of ticks (9 and 10; 5 and 7; 1 and 2) is a label's room apart.
const MINOR_LABELS = [[2, 3, 4, 5, 6, 7, 8, 9], [2, 3, 5, 7], [2, 5], []].map((digits) => {
  const ticks = [1, ...digits, 10];
  const closest = Math.min(...ticks.slice(1).map((tick, k) => Math.log10(tick / ticks[k])));
  return { digits, closest };
});

// uPlot `values`: every split written with tickLabels; on a log axis whose decades are closer than a
// label's room, only every k-th decade keeps its label (the others stay as grid lines), and ticks between
// decades are labelled only where there is room.
export function tickValues(chart, splits, axisIndex) {
  const axis = chart.axes[axisIndex];
  const scale = axis && chart.scales[axis.scale];
  if (!scale || scale.distr !== 3) return tickLabels(splits);
  const room = Math.max(LABEL_PX, axis._space || 0); // uPlot's `space`: 30 px on a y axis, 50 on an x axis
  const perDecade = decadePx(chart, axis, scale.min, scale.max);
  const every = Math.max(1, Math.ceil(room / perDecade - 1e-9));
  const minor = every > 1 ? [] : (MINOR_LABELS.find(({ closest }) => closest * perDecade >= room) || { digits: [] }).digits;
  return splits.map((value) => {
    if (value === null || value === undefined || !(value > 0)) return "";
    if (isDecade(value)) return Math.round(Math.log10(value)) % every === 0 ? formatTick(value) : "";
    return minor.includes(Number(value.toExponential()[0])) ? formatTick(value) : "";
  });
}

// Steps for uPlot to find for a log axis: powers of ten up to 1e308. Its own steps stop at 5e31 and it
// measures a log axis' span as max − min, so a range past ~1e32 (a diverged run's gradient norms,
// 1e130..1e146) found no step, and the axis got no ticks, no grid and not one label.
const LOG_INCRS = Array.from({ length: 309 }, (_, k) => Number(`1e${k}`));

// uPlot `splits` for a log axis: the decades in [min, max], and 2..9 × 10^k between them when a decade
// has MINOR_PX of room. uPlot's own log splits step by values from its table (5e31 at most, 1e-32 at
// least), so past it they stop going by decades (1e130 + 5e31 is 1e130: the ticks doubled from there).
export function logSplits(chart, axisIndex, min, max) {
  if (!(min > 0 && max >= min && Number.isFinite(max))) return [];
  const digits = decadePx(chart, chart.axes[axisIndex], min, max) >= MINOR_PX ? [1, 2, 3, 4, 5, 6, 7, 8, 9] : [1];
  const low = Math.floor(Math.log10(min) + 1e-9);
  const high = Math.ceil(Math.log10(max) - 1e-9);
  const splits = [];
  for (let exponent = low; exponent <= high; exponent++) {
    for (const digit of digits) {
      const value = Number(`${digit}e${exponent}`); // exact (10 ** -7 is not 1e-7)
      if (value >= min * (1 - 1e-9) && value <= max * (1 + 1e-9)) splits.push(value);
    }
  }
  return splits;
}

// The axis options of a log scale's axis (with tickValues for its labels): its own steps and splits, and
// no uPlot filter (tickValues alone decides which ticks get a label: uPlot's filter kept every k-th decade
// counted from the top, tickValues every k-th exponent, and the two could leave one label or none).
export const logAxis = { incrs: () => LOG_INCRS, splits: logSplits, filter: (chart, splits) => splits };

let measurer = null;
// uPlot axis `size`: wide enough for the longest tick label, so labels are never clipped and never run
// into the axis title.
export function axisSize(chart, values, axisIndex, cycle) {
  const axis = chart.axes[axisIndex];
  if (cycle > 1) return axis._size;
  measurer = measurer || document.createElement("canvas").getContext("2d");
  measurer.font = axis.font ? axis.font[0] : "12px system-ui, sans-serif";
  const widest = Math.max(0, ...(values || []).map((text) => measurer.measureText(String(text)).width));
  return Math.ceil(widest) + (axis.ticks && axis.ticks.show === false ? 8 : 16);
}

const MIN_X_SPACE = 50; // uPlot's default room between x ticks

// uPlot axis `space` for an x axis: room between ticks for the longest label the scale can have plus an
// em of gap, so large step counts in a large font (projector mode) never run together ("1000015000").
export function xSpace(chart, axisIndex, min, max) {
  const axis = chart.axes[axisIndex];
  measurer = measurer || document.createElement("canvas").getContext("2d");
  measurer.font = axis.font[0];
  const widest = Math.max(...tickLabels([min, max]).map((text) => measurer.measureText(text).width)) / (window.devicePixelRatio || 1);
  return Math.max(MIN_X_SPACE, Math.ceil(widest) + axis.font[2]);
}

// A y axis that fits its labels.
export function yAxis(label) {
  return { label, labelSize: 16, size: axisSize, gap: 4, values: tickValues };
}
