// The live gallery: one card per student's run with its decision boundary (computed in the browser from
// the streamed params with model/forward.js, as the dashboard does), a loss sparkline, the step, test loss
// and accuracy. Each card on screen holds one WebSocket to its run at a low frame rate asking for params
// only (view {grid: false, params: true}); a card that leaves the screen closes its socket, so the cost
// follows what is seen, not the size of the class. The teacher's token makes each socket a `teacher`.
// Between frames (and for cards off screen) the class poll's Run objects keep the numbers current. While
// the server cannot be reached (setStale), no card claims to be playing: its badge is a "?" (short, so the
// name keeps its room on a narrow card) whose title says why.
import { el, formatCount, formatNumber } from "../dom.js";
import { t } from "../i18n/index.js";
import { RunSocket } from "../core/socket.js";
import { MetricHistory } from "../history.js";
import { createBoundaries } from "../teach/boundary.js";
import { createSparkline } from "./sparkline.js";

const FPS = 2;
const VIEW = { type: "view", grid: false, neurons: false, params: true };
const CLOSE_AFTER_MS = 5000; // a card scrolled away keeps its socket this long (scrolling back is free)
const REDRAW_MS = 250;
const SPARK_HEIGHT = 36;
const MIN_CARD_PX = 160;
const MAX_CARD_PX = 380;
const GAP_PX = 8; // class.css .gallery gap

export const studentName = (run, index) => run.name || t("class.student_n", { n: index + 1 });
// Three significant digits: a card's columns are narrow, and so are the leaderboard's (both show the same figure).
export const shortNumber = (value) => (Number.isFinite(value) && Math.abs(value) >= 1e-3 && Math.abs(value) < 1e5 ? String(Number(value.toPrecision(3))) : formatNumber(value));
export const percent = (value) => (value === null || value === undefined ? "—" : `${Math.round(value * 100)}%`);

export function createGallery(root, { onSelect }) {
  const boundaries = createBoundaries();
  const entries = new Map(); // run id → entry
  const visible = new IntersectionObserver((items) => {
    for (const item of items) {
      const entry = entries.get(item.target.dataset.run);
      if (entry) show(entry, item.isIntersecting);
    }
  });
  let timer = null;
  let stale = false;

  function card(entry) {
    const name = el("span", { class: "student-name" });
    const badge = el("span", { class: "status-badge" });
    const picture = el("div", { class: "picture" }, el("canvas", { class: "boundary", role: "img" }));
    const spark = el("canvas", { class: "sparkline", role: "img" });
    const stat = (key) => {
      const value = el("dd", { class: key });
      return [el("div", {}, el("dt", { dataset: { i18n: `class.col.${key}` } }, t(`class.col.${key}`)), value), value];
    };
    const [stepBox, step] = stat("step");
    const [lossBox, loss] = stat("test_loss");
    const [accuracyBox, accuracy] = stat("accuracy");
    const node = el(
      "article",
      { class: "student-card", tabIndex: 0, role: "button", dataset: { run: entry.id } },
      el("header", {}, name, badge),
      picture,
      spark,
      el("dl", { class: "stats" }, stepBox, lossBox, accuracyBox),
    );
    node.addEventListener("click", () => onSelect(entry));
    node.addEventListener("keydown", (event) => (event.key === "Enter" || event.key === " ") && (event.preventDefault(), onSelect(entry)));
    Object.assign(entry, { node, name, badge, picture, canvas: picture.firstChild, spark, step, loss, accuracy, drawSpark: createSparkline() });
    return node;
  }

  function show(entry, onScreen) {
    clearTimeout(entry.closeTimer);
    if (onScreen && !entry.socket) connect(entry);
    else if (!onScreen && entry.socket) entry.closeTimer = setTimeout(() => disconnect(entry), CLOSE_AFTER_MS);
  }

  function connect(entry) {
    entry.socket = new RunSocket(entry.id, {
      onOpen: () => {
        entry.socket.send(VIEW);
        entry.socket.send({ type: "fps", fps: FPS });
      },
      onStatus: (status) => (entry.node.dataset.connection = status),
      onMessage: (message) => receive(entry, message),
    });
  }

  function disconnect(entry) {
    if (entry.socket) entry.socket.close();
    entry.socket = null;
  }

  function receive(entry, message) {
    if (message.type === "state") {
      entry.history.load(message.history);
      Object.assign(entry, { params: message.params, points: message.points, resolved: message.run.resolved });
      merge(entry, message.run);
    } else if (message.type === "frame") {
      entry.history.append(message.metrics);
      if (message.params) entry.params = message.params;
      Object.assign(entry.run, { step: message.step, epoch: message.epoch, status: message.status, latest: message.latest || entry.run.latest });
    } else if (message.type === "run") merge(entry, message.run);
    else return;
    entry.dirty = true;
    schedule();
  }

  // A newer description of the run (poll or socket); the newest step wins.
  function merge(entry, run) {
    if (entry.run && entry.run.step > run.step && entry.run.id === run.id) Object.assign(run, { step: entry.run.step, latest: entry.run.latest, status: entry.run.status });
    entry.run = run;
    entry.resolved = entry.resolved || run.resolved;
  }

  function schedule() {
    if (!timer) timer = setTimeout(redraw, REDRAW_MS);
  }

  // Cards as large as the gallery allows with every card on screen (a few students: big pictures for the
  // room; many: small ones, and the gallery scrolls below MIN_CARD_PX). For each column count the side is
  // the smallest of what the width, the height and MAX_CARD_PX allow. A gallery that grows with the page
  // (phones: overflow visible) has no height to fill: there, two students or more share a row.
  function fit() {
    const n = Math.max(1, entries.size);
    const width = root.clientWidth - 2 * GAP_PX;
    const grows = getComputedStyle(root).overflowY === "visible";
    const height = grows ? Infinity : root.clientHeight - 2 * GAP_PX;
    const sample = entries.values().next().value;
    const extra = sample ? sample.node.offsetHeight - sample.picture.offsetHeight : 110;
    let best = MIN_CARD_PX;
    for (let columns = grows ? Math.min(n, 2) : 1; columns <= n; columns++) {
      const rows = Math.ceil(n / columns);
      const byWidth = Math.floor((width - (columns - 1) * GAP_PX) / columns);
      const byHeight = Math.floor((height - (rows - 1) * GAP_PX) / rows - extra);
      best = Math.max(best, Math.min(byWidth, byHeight, MAX_CARD_PX));
    }
    root.style.gridTemplateColumns = `repeat(auto-fill, minmax(${best}px, ${best}px))`;
  }

  function redraw() {
    timer = null;
    fit();
    [...entries.values()].forEach((entry, index) => drawCard(entry, index));
  }

  function drawCard(entry, index) {
    const { run } = entry;
    entry.name.textContent = studentName(run, index);
    entry.node.dataset.step = String(run.step);
    entry.node.dataset.status = run.status;
    entry.node.classList.toggle("stale", stale);
    entry.badge.textContent = stale ? "?" : run.status === "diverged" ? t("class.diverged") : run.status === "running" ? "▶" : "";
    entry.badge.title = stale ? t("class.status_unknown") : "";
    entry.badge.dataset.status = stale ? "unknown" : run.status;
    entry.step.textContent = formatCount(run.step, 10_000); // a card is narrow: compact from 10,000 (65.3K)
    entry.step.title = String(run.step);
    entry.loss.textContent = shortNumber(run.latest.test_loss);
    entry.accuracy.textContent = percent(run.latest.test_accuracy);
    const size = Math.floor(entry.picture.clientWidth);
    if (!entry.dirty && size === entry.size) return;
    entry.dirty = false;
    entry.size = size;
    if (size > 0 && entry.params) boundaries.draw(entry.id, entry.canvas, size, entry.params, entry.resolved, entry.points);
    if (size > 0) entry.drawSpark(entry.spark, entry.history, size, SPARK_HEIGHT);
  }

  new ResizeObserver(() => {
    for (const entry of entries.values()) entry.dirty = true;
    schedule();
  }).observe(root);

  return {
    entries: () => [...entries.values()],
    // The class's students as the poll reports them (oldest member first): cards come and go with them.
    update(runs) {
      const ids = new Set(runs.map((run) => run.id));
      for (const [id, entry] of entries) {
        if (ids.has(id)) continue;
        disconnect(entry);
        visible.unobserve(entry.node);
        entry.node.remove();
        entries.delete(id);
      }
      for (const run of runs) {
        let entry = entries.get(run.id);
        if (!entry) {
          entry = { id: run.id, run, history: new MetricHistory(), params: null, points: null, resolved: run.resolved, socket: null, dirty: true };
          entries.set(run.id, entry);
          root.append(card(entry));
          visible.observe(entry.node);
        } else merge(entry, run);
      }
      schedule();
    },
    redraw: () => {
      for (const entry of entries.values()) entry.dirty = true;
      schedule();
    },
    setStale(value) {
      stale = value;
      schedule();
    },
    close() {
      for (const entry of entries.values()) disconnect(entry);
    },
  };
}
