// The leaderboard: every student's run ranked by test loss (lowest first), test accuracy (highest first),
// step (most first) or name; a click on a column heading sorts by it, a click on a row spotlights that
// student. Runs that have no test measurement yet (or diverged) go last, whatever the order.
// The table fits its panel without sideways scrolling, also on a projector (class.css): the numbers are as
// short as the cards' (65.3K steps, three significant digits), and the name column takes what is left,
// a long name cut with an ellipsis and whole in its title.
import { el, formatCount } from "../dom.js";
import { t } from "../i18n/index.js";
import { percent, shortNumber, studentName } from "./gallery.js";

const COLUMNS = [
  ["name", (run) => run.name || "", 1],
  ["step", (run) => run.step, -1],
  ["test_loss", (run) => run.latest.test_loss, 1],
  ["accuracy", (run) => run.latest.test_accuracy, -1],
];

// Sorts runs by a column: `direction` 1 ascending, -1 descending; missing or diverged values go last.
function rank(runs, column) {
  const [, value, direction] = COLUMNS.find(([name]) => name === column);
  const missing = (run) => value(run) === null || value(run) === undefined || (column !== "name" && run.status === "diverged");
  return [...runs].sort((a, b) => {
    if (missing(a) !== missing(b)) return missing(a) ? 1 : -1;
    if (missing(a)) return 0;
    const [x, y] = [value(a), value(b)];
    return typeof x === "string" ? direction * x.localeCompare(y) : direction * (x - y);
  });
}

export function createLeaderboard(table, { onSelect }) {
  let column = "test_loss";
  let entries = [];
  let shown = "";
  const head = el("tr", {}, el("th", { class: "rank" }, "#"));
  const buttons = COLUMNS.map(([name]) => {
    const button = el("button", { class: "sort", dataset: { sort: name, i18n: `class.col.${name}` } }, t(`class.col.${name}`));
    button.addEventListener("click", () => {
      column = name;
      render();
    });
    head.append(el("th", { class: name === "name" ? "name" : "num", dataset: { sort: name } }, button));
    return button;
  });
  const body = el("tbody");
  table.replaceChildren(el("thead", {}, head), body);

  function render() {
    for (const button of buttons) button.closest("th").setAttribute("aria-sort", button.dataset.sort === column ? (COLUMNS.find(([name]) => name === column)[2] === 1 ? "ascending" : "descending") : "none");
    const order = new Map(entries.map((entry, index) => [entry.run.id, index]));
    const byRun = new Map(entries.map((entry) => [entry.run.id, entry]));
    const ranked = rank(entries.map((entry) => entry.run), column);
    const key = JSON.stringify([column, ranked.map((run) => [run.id, run.name, run.step, run.status, run.latest.test_loss, run.latest.test_accuracy])]);
    if (key === shown) return; // unchanged: keep the rows (and the keyboard focus on one of them)
    shown = key;
    body.replaceChildren(
      ...ranked.map((run, place) => {
        const entry = byRun.get(run.id);
        const name = studentName(run, order.get(run.id));
        const row = el(
          "tr",
          { dataset: { run: run.id, status: run.status }, tabIndex: 0 },
          el("td", { class: "rank" }, String(place + 1)),
          el("td", { class: "name", title: name }, name),
          el("td", { class: "num", title: String(run.step) }, formatCount(run.step, 10_000)),
          el("td", { class: "num" }, run.status === "diverged" ? t("class.diverged") : shortNumber(run.latest.test_loss)),
          el("td", { class: "num" }, percent(run.latest.test_accuracy)),
        );
        row.addEventListener("click", () => onSelect(entry));
        row.addEventListener("keydown", (event) => event.key === "Enter" && onSelect(entry));
        return row;
      }),
    );
  }

  return {
    update(next) {
      entries = next;
      render();
    },
    render,
    relabel() {
      shown = "";
      render();
    },
  };
}
