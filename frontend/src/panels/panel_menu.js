// Which panels and controls show. ?hide=a,b,c (a teacher's classroom link) hides controls by their
// data-control name and whole panels by theirs (data, training, network, output, curves); the "Panels"
// menu in the top bar switches panels on and off and keeps ?hide= in step. The grid reflows so the
// remaining panels take the room of the hidden ones (no holes on a projector).
import { el } from "../dom.js";
import { t } from "../i18n/index.js";

export const PANELS = ["data", "training", "network", "output", "curves"];

// grid-template-areas for the visible panels: a left column (data over training), a middle one (network
// over curves) and a right one (output); a missing panel's cell goes to its neighbour.
export function gridAreas(visible) {
  const has = (name) => visible.has(name);
  const columns = [];
  if (has("data") || has("training")) columns.push("left");
  if (has("network") || has("curves")) columns.push("middle");
  if (has("output")) columns.push("right");
  if (!columns.length) return { areas: "", columns: "" };
  const top = columns.map((column) => ({ left: has("data") ? "data" : "training", middle: has("network") ? "network" : "curves", right: "output" })[column]);
  const bottom = columns.map((column) => ({ left: has("training") ? "training" : "data", middle: has("curves") ? "curves" : "network", right: has("curves") ? "curves" : "output" })[column]);
  // The curves span under the output too when both exist.
  if (has("curves") && has("output") && columns.includes("middle")) bottom[columns.indexOf("right")] = "curves";
  const width = { left: "var(--left)", middle: "minmax(0, 1fr)", right: "var(--right)" };
  const rows = top.join(" ") === bottom.join(" ") ? [top] : [top, bottom];
  return {
    areas: rows.map((row) => `"${row.join(" ")}"`).join(" "),
    columns: columns.map((column) => width[column]).join(" "),
    rows: rows.length === 1 ? "minmax(0, 1fr)" : "minmax(0, 1.2fr) minmax(0, 1fr)",
  };
}

export function createPanelMenu(app) {
  const layout = document.querySelector(".layout");
  const list = document.getElementById("panel-list");
  const style = document.createElement("style");
  document.head.append(style);

  function apply() {
    const controls = app.hidden.filter((name) => !PANELS.includes(name));
    style.textContent = controls.length ? `${controls.map((name) => `[data-control="${CSS.escape(name)}"]`).join(",")}{display:none !important}` : "";
    const visible = new Set(PANELS.filter((name) => !app.hidden.includes(name)));
    for (const name of PANELS) document.querySelector(`section[data-panel="${name}"]`).hidden = !visible.has(name);
    const { areas, columns, rows } = gridAreas(visible);
    layout.style.gridTemplateAreas = areas;
    layout.style.gridTemplateColumns = columns;
    layout.style.gridTemplateRows = rows;
  }

  function render() {
    list.replaceChildren(
      ...PANELS.map((name) => {
        const box = el("input", { type: "checkbox", checked: !app.hidden.includes(name), dataset: { panel: name } });
        box.addEventListener("change", () => {
          app.hidden = box.checked ? app.hidden.filter((item) => item !== name) : [...app.hidden, name];
          apply();
          app.emit("panels");
        });
        return el("label", { class: "menu-check" }, box, ` ${t(`panels.${name}`)}`);
      }),
    );
  }

  render();
  apply();
  app.on("language", render);
}
