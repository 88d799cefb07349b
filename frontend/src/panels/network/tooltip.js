// What hovering a weight, a neuron or a summarised layer says, and the box that shows it: its value, its last gradient, and the chain rule that made it.
// Layer L counts weight layers from the input (L = 1 is the first weight matrix); indices count from 1.
import { t } from "../../i18n/index.js";
import { el, formatNumber } from "../../dom.js";

const SUB = "₀₁₂₃₄₅₆₇₈₉";
const SUP = "⁰¹²³⁴⁵⁶⁷⁸⁹";
const sub = (n) => String(n).replace(/\d/g, (d) => SUB[d]);
const sup = (n) => `⁽${String(n).replace(/\d/g, (d) => SUP[d])}⁾`;

// The error signal δ of neuron j in layer L, as the chain rule builds it.
function deltaRule(L, j, isOutput, naturalPair) {
  if (isOutput) {
    const rule = `δ${sub(j)}${sup(L)} = ∂L/∂ŷ${sub(j)} · f′(z${sub(j)}${sup(L)})`;
    return naturalPair ? `${rule} = ŷ${sub(j)} − y${sub(j)}` : rule;
  }
  return `δ${sub(j)}${sup(L)} = f′(z${sub(j)}${sup(L)}) · Σₖ W${sub(j)}ₖ${sup(L + 1)} δₖ${sup(L + 1)}`;
}

export function weightTooltip({ layer, row, col, value, gradient, fromName, toName, isOutput, naturalPair }) {
  const L = layer + 1;
  const i = row + 1;
  const j = col + 1;
  return {
    title: t("network.weight_title", { from: fromName, to: toName }),
    lines: [
      [t("network.value"), formatNumber(value)],
      [t("network.gradient"), formatNumber(gradient)],
    ],
    math: [
      `∂L/∂W${sub(i)},${sub(j)}${sup(L)} = (1/B) Σ δ${sub(j)}${sup(L)} · a${sub(i)}${sup(L - 1)}`,
      deltaRule(L, j, isOutput, naturalPair),
    ],
    note: t(isOutput ? "network.chain_output" : "network.chain_hidden"),
    hint: t("network.click_to_edit"),
  };
}

export function neuronTooltip({ layer, index, bias, gradient, range, name, isOutput, naturalPair }) {
  const L = layer + 1;
  const j = index + 1;
  const lines = [
    [t("network.bias"), formatNumber(bias)],
    [t("network.bias_gradient"), formatNumber(gradient)],
  ];
  if (range) lines.push([t("network.output_range"), `${formatNumber(range.min)} … ${formatNumber(range.max)}`]);
  return {
    title: name,
    lines,
    math: [`∂L/∂b${sub(j)}${sup(L)} = (1/B) Σ δ${sub(j)}${sup(L)}`, deltaRule(L, j, isOutput, naturalPair)],
    note: t("network.heatmap_note"),
    hint: t("network.click_bias"),
  };
}

export function inputTooltip({ name, active }) {
  return {
    title: name,
    lines: [],
    math: [],
    note: t("network.feature_note"),
    hint: t(active ? "network.feature_on" : "network.feature_off"),
  };
}

export function summaryTooltip({ layer, count, isOutput }) {
  return {
    title: t(isOutput ? "network.output_layer_title" : "network.layer_title", { layer: layer + 1 }),
    lines: [[t("network.neurons"), String(count)]],
    math: [],
    note: t("network.summary_note", { count }),
    hint: "",
  };
}

// Shows `info` (one of the above, or null to hide) in `tooltip` near (x, y) of the scrolling `box`,
// flipped above the pointer when it would run off the bottom.
export function showTooltip(tooltip, box, info, x, y) {
  if (!info) {
    tooltip.hidden = true;
    return;
  }
  tooltip.replaceChildren(
    el("strong", {}, info.title),
    ...info.lines.map(([label, value]) => el("div", { class: "tip-line" }, el("span", {}, label), el("span", { class: "num" }, value))),
    ...info.math.map((line) => el("div", { class: "tip-math" }, line)),
    el("div", { class: "tip-note" }, info.note),
    info.hint ? el("div", { class: "tip-hint" }, info.hint) : null,
  );
  tooltip.hidden = false;
  const rect = box.getBoundingClientRect();
  const left = Math.min(x + 14, rect.width - tooltip.offsetWidth - 4);
  tooltip.style.left = `${Math.max(4, left)}px`;
  const below = y + 14 - box.scrollTop + tooltip.offsetHeight <= rect.height;
  const above = Math.max(box.scrollTop + 4, y - tooltip.offsetHeight - 8);
  tooltip.style.top = `${below ? y + 14 : above}px`;
}
