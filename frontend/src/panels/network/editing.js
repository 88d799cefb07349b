// Changing the network from its drawing: the bar above the columns (+/− a neuron per hidden layer, the
// neuron counts, the Features and Output labels), + and − layer buttons, switching an input feature on or
// off, and typing a new weight or bias where it was clicked or tapped.
import { t, tPlural } from "../../i18n/index.js";
import { el } from "../../dom.js";
import { features, limits } from "../../core/choices.js";
import { editValue } from "./value_editor.js";

const COMPACT_SPACING = 118; // px between columns below which a layer's controls take two lines
const TINY_SPACING = 46; // ... and below which they stack in a narrow column (phones, many layers)

export function createEditing(app, { columnBar, box }) {
  const hidden = () => [...app.state.run.config.model.hidden];

  function changeLayers(delta) {
    const layers = hidden();
    if (delta > 0 && layers.length < limits().max_hidden_layers) layers.push(layers.length ? layers[layers.length - 1] : 4);
    else if (delta < 0 && layers.length) layers.pop();
    else return;
    app.setConfig({ model: { hidden: layers } });
  }

  function changeNeurons(layer, delta) {
    const layers = hidden();
    const next = layers[layer] + delta;
    if (next < 1 || next > limits().max_neurons) return;
    layers[layer] = next;
    app.setConfig({ model: { hidden: layers } });
  }

  function toggleFeature(name) {
    const active = new Set(app.state.run.config.features);
    if (active.has(name)) active.delete(name);
    else active.add(name);
    if (!active.size) {
      app.emit("error", t("network.need_feature"));
      return;
    }
    app.setConfig({ features: features().filter((feature) => active.has(feature)) });
  }

  document.getElementById("add-layer").addEventListener("click", () => changeLayers(+1));
  document.getElementById("remove-layer").addEventListener("click", () => changeLayers(-1));

  // Each group is at most one column spacing wide and wraps inside it, so 10 layers never overlap.
  function renderColumnBar(layout, sizes) {
    columnBar.replaceChildren();
    const width = Math.max(18, layout.spacing - 4);
    const compact = layout.spacing < COMPACT_SPACING;
    const tiny = layout.spacing < TINY_SPACING;
    const place = (node, column) => {
      node.style.left = `${layout.columns[column].x}px`;
      node.style.width = `${width}px`;
      columnBar.append(node);
    };
    const locked = !app.may("model.hidden");
    const button = (label, key, onclick) =>
      el("button", { class: "icon", onclick, disabled: locked, dataset: { i18nAria: key, i18nTitle: key }, "aria-label": t(key), title: t(key) }, label);
    sizes.slice(1, -1).forEach((size, layer) => {
      const count = el("span", { class: "neuron-count" }, compact ? String(size) : tPlural("network.neuron_count", size, { count: size }));
      count.title = tPlural("network.neuron_count", size, { count: size });
      const group = el(
        "div",
        { class: `column-controls${compact ? " compact" : ""}${tiny ? " tiny" : ""}`, dataset: { control: "layers", setting: "model.hidden" } },
        button("+", "network.add_neuron", () => changeNeurons(layer, +1)),
        button("−", "network.remove_neuron", () => changeNeurons(layer, -1)),
        count,
      );
      place(group, layer + 1);
    });
    place(el("span", { class: "column-label" }, t("network.inputs")), 0);
    place(el("span", { class: "column-label" }, t("network.output")), layout.columns.length - 1);
  }

  // A click or tap on the drawing: an input toggles its feature, an edge or a bias opens a value editor.
  function edit(target, x, y, planar) {
    if (target.kind === "input") {
      if (planar && !app.hidden.includes("features") && app.may("features")) toggleFeature(target.name);
      return;
    }
    const layers = app.state.params && app.state.params.layers;
    if (app.hidden.includes("weights") || !app.may("model.weights") || !layers || target.kind === "summary") return;
    if (target.kind === "edge") {
      const { layer, row, col } = target;
      editValue(box, x, y, "network.edit_weight", layers[layer].W[row][col], (value) => app.send({ type: "set_weight", layer, row, col, value }));
    } else {
      const layer = target.column - 1;
      editValue(box, x, y, "network.edit_bias", layers[layer].b[target.index], (value) => app.send({ type: "set_bias", layer, index: target.index, value }));
    }
  }

  return { renderColumnBar, edit };
}
