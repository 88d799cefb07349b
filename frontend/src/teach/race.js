// Optimizers racing on one network: several runs from the same seed, data and initial weights, differing
// only in the optimizer (POST /api/comparisons). Each racer is an ordinary run streaming over /ws/runs/{id};
// its learning rate can be changed live. Loss and accuracy curves share one step axis; each racer shows its
// own decision boundary, computed in the browser from its params. Racers train at different speeds, so the
// server plays them all at one pace (the speed select; it shows the pace they play at) after bringing any
// racer behind up to the leader, and the cards compare them at one common step (common_step.js) in case
// one still falls behind.
import { el, formatNumber } from "../dom.js";
import { numberProblem } from "../form.js";
import { t } from "../i18n/index.js";
import { RunSocket } from "../core/socket.js";
import { limits, options } from "../core/choices.js";
import { MetricHistory, bucketEnds, sampleColumn } from "../history.js";
import { RunningEma } from "../smoothing.js";
import { api, reusableConfig } from "../core/api.js";
import { destroyChart, joinTables, lineChart, positive } from "./charts.js";
import { createBoundaries } from "./boundary.js";
import { commonStep, metricsAt } from "./common_step.js";

const DEFAULT_RACERS = [
  ["sgd", 0.03],
  ["momentum", 0.03],
  ["rmsprop", 0.01],
  ["adam", 0.01],
];
const COLORS = ["#1565c0", "#e65100", "#2e7d32", "#6a1b9a", "#c62828", "#00838f", "#9e9d24", "#4e342e"];
const MAX_POINTS = 400;
const SMOOTHING = 0.8;
const CHART_MS = 250;
const BOUNDARY_PX = 150;
// Steps a second for every racer: paces a trainer keeps for four racers beside a class's other runs. Faster
// ones (3,000, or flat out) are not kept: a racer that cannot keep the pace falls behind (an Adam step
// costs more than an SGD one), and on 2 cores at 3,000 a second Adam was 40% behind SGD after 10 s. The
// API's other paces (and `null`, flat out) still play; the select then shows them.
const SPEEDS = [30, 100, 300, 1000];

export function createRace(ctx, body) {
  const optimizers = options("optimizer");
  const boundaries = createBoundaries();
  const editor = el("div", { id: "race-editor", class: "race-editor" });
  const add = el("button", { id: "race-add", onclick: () => addRow(optimizers[editor.children.length % optimizers.length][0], 0.01) });
  const start = el("button", { id: "race-start", class: "primary", onclick: () => startRace() });
  const play = el("button", { id: "race-play", onclick: () => (playing ? control("pause") : control("play", playBody())) });
  const step = el("button", { id: "race-step", onclick: () => control("step", { steps: 100 }) });
  const reset = el("button", { id: "race-reset", onclick: () => control("reset") });
  const speed = el("select", { id: "race-speed", onchange: () => choosePace() }, ...SPEEDS.map((value) => el("option", { value: String(value) })));
  const speedLabel = el("span");
  const controls = el("span", { class: "inline-fields", hidden: true }, play, el("label", { class: "inline" }, speedLabel, speed), step, reset);
  const lossBox = el("div", { class: "chart-box" });
  const accuracyBox = el("div", { class: "chart-box" });
  const cards = el("div", { id: "race-cards", class: "race-cards" });
  const empty = el("p", { id: "race-empty", class: "empty-hint" });
  const resultArea = el("div", { class: "split", hidden: true }, el("div", { class: "chart-stack" }, lossBox, accuracyBox), cards);
  body.append(el("div", { class: "toolbar" }, editor, add, start, controls), empty, resultArea);
  let comparison = null;
  let racers = [];
  let playing = false;
  let charts = [];
  let chartTimer = null;
  let drawPending = false;
  let paceChosen = false; // the user picked a speed: play asks for it (else for the server's pace)

  function choosePace() {
    paceChosen = true;
    if (playing) control("play", playBody());
  }

  const playBody = () => (paceChosen ? { steps_per_second: speed.value === "" ? null : Number(speed.value) } : undefined);

  function addRow(optimizer, lr) {
    if (editor.children.length >= limits().max_racers) return;
    const name = el("select", { class: "racer-optimizer", "aria-label": t("ls.optimizer") }, ...optimizers.map(([value, key, fallback]) => el("option", { value, dataset: { i18n: key, i18nFallback: fallback }, textContent: t(key) })));
    name.value = optimizer;
    const rate = el("input", { class: "racer-lr", type: "number", min: 0, step: "any", value: lr, "aria-label": "lr" });
    const row = el("span", { class: "racer-row" }, name, rate);
    row.append(el("button", { class: "round small", textContent: "×", "aria-label": t("teach.race.remove"), onclick: () => editor.children.length > 2 && row.remove() }));
    editor.append(row);
  }

  async function startRace() {
    try {
      const run = await api.getRun(ctx.runId);
      const base = reusableConfig(run, { sameData: true });
      const entries = [...editor.children].map((row) => ({
        optimizer: { name: row.querySelector(".racer-optimizer").value, lr: Number(row.querySelector(".racer-lr").value) },
      }));
      const seen = new Map();
      const bodyRacers = entries.map(({ optimizer }) => {
        const label = `${optimizer.name} ${formatNumber(optimizer.lr)}`;
        seen.set(label, (seen.get(label) || 0) + 1);
        return { label: seen.get(label) > 1 ? `${label} (${seen.get(label)})` : label, optimizer };
      });
      await replaceRace();
      comparison = await api.createComparison({ base, racers: bodyRacers });
      body.dataset.comparison = comparison.id;
      racers = comparison.racers.map((racer, i) => connect(racer, COLORS[i % COLORS.length]));
      empty.hidden = true;
      resultArea.hidden = false;
      buildCharts();
      controls.hidden = false;
      await control("play");
    } catch (error) {
      ctx.error(error.message);
    }
  }

  function connect(racer, color) {
    const history = new MetricHistory();
    const state = { label: racer.label, runId: racer.run_id, color, history, params: null, points: null, resolved: racer.run.resolved, step: 0, dirty: true, cardDirty: true };
    const canvas = el("canvas", { class: "boundary" });
    const stepText = el("span", { class: "racer-step num" });
    const atText = el("span", { class: "racer-at num" });
    const lossText = el("span", { class: "racer-loss num" });
    const lr = el("input", { type: "number", min: 0, step: "any", value: racer.run.config.optimizer.lr, class: "racer-live-lr", "aria-label": "lr" });
    let lrSent = lr.value;
    // Checked here as the dashboard's fields are: a refused value is said and the box shows the last sent.
    lr.addEventListener("change", () => {
      const value = Number(lr.value);
      const reason = numberProblem(lr, { min: 0 });
      if (reason) {
        ctx.error(`${racer.label} · lr ${reason}`);
        lr.value = lrSent;
      } else if (state.socket.send({ type: "set", config: { optimizer: { lr: value } } })) lrSent = lr.value;
      else ctx.error(t("error.offline"));
    });
    state.card = el(
      "div",
      { class: "race-card", dataset: { run: racer.run_id } },
      el("div", { class: "race-title" }, el("span", { class: "swatch", style: `background:${color}` }), racer.label),
      canvas,
      el("div", { class: "race-stats" }, stepText, atText, lossText),
      el("label", { class: "inline" }, el("span", {}, t("teach.race.live_lr")), lr),
    );
    Object.assign(state, { canvas, stepText, atText, lossText });
    cards.append(state.card);
    state.socket = new RunSocket(racer.run_id, {
      onStatus: (status) => (state.card.dataset.connection = status),
      onOpen: () => {
        state.socket.send({ type: "view", grid: false, neurons: false, params: true });
        state.socket.send({ type: "fps", fps: 10 });
      },
      onMessage: (message) => receive(state, message),
    });
    return state;
  }

  function receive(state, message) {
    if (message.type === "state") {
      state.history.load(message.history);
      state.params = message.params;
      state.points = message.points;
      state.resolved = message.run.resolved;
      state.step = message.run.step;
    } else if (message.type === "frame") {
      state.history.append(message.metrics);
      if (message.params) state.params = message.params;
      state.step = message.step;
      state.status = message.status;
    } else if (message.type === "error") {
      ctx.error(message.message);
      return;
    } else return;
    state.dirty = true;
    state.cardDirty = true;
    if (!drawPending) {
      drawPending = true;
      requestAnimationFrame(drawCards);
    }
  }

  // Every card's numbers at the one step all racers have reached (one racer's news moves it for all), and
  // each changed racer's own step and decision boundary.
  function drawCards() {
    drawPending = false;
    const step = commonStep(racers.map((racer) => racer.history));
    for (const state of racers) {
      state.card.dataset.atStep = step === null ? "" : String(step);
      state.atText.textContent = step === null ? "" : t("teach.race.at_step", { n: step });
      const { loss, accuracy } = step === null ? { loss: null, accuracy: null } : metricsAt(state.history, step);
      state.card.dataset.loss = loss === null || Number.isNaN(loss) ? "" : String(loss);
      state.lossText.textContent = `${t("teach.race.loss")} ${formatNumber(loss)}${accuracy !== null ? ` · ${t("teach.race.accuracy")} ${Math.round(accuracy * 100)}%` : ""}`;
      if (!state.cardDirty) continue;
      state.cardDirty = false;
      state.card.dataset.step = String(state.step);
      state.stepText.textContent = t("teach.race.trained", { n: state.step });
      state.card.classList.toggle("diverged", state.status === "diverged");
      boundaries.draw(state.runId, state.canvas, BOUNDARY_PX, state.params, state.resolved, state.points);
    }
  }

  function buildCharts() {
    charts.forEach(destroyChart);
    const series = racers.map((racer) => ({ label: racer.label, stroke: racer.color }));
    charts = [
      lineChart(lossBox, { title: t("teach.race.loss_title"), xLabel: t("teach.health.step"), yLabel: t("teach.race.loss"), series, logY: true, height: 240 }),
      lineChart(accuracyBox, { title: t("teach.race.accuracy_title"), xLabel: t("teach.health.step"), yLabel: t("teach.race.accuracy"), series, height: 200, yRange: [0, 1] }),
    ];
    clearInterval(chartTimer);
    chartTimer = setInterval(updateCharts, CHART_MS);
  }

  function updateCharts() {
    if (!racers.some((racer) => racer.dirty)) return;
    const tables = (column, smooth) =>
      racers.map(({ history }) => {
        const { ends, stride } = bucketEnds(history.length, MAX_POINTS);
        const values = smooth ? new RunningEma(SMOOTHING).update(history.column(column)) : history.column(column);
        return [sampleColumn(history.column("step"), ends, stride), sampleColumn(values, ends, stride)];
      });
    const loss = joinTables(tables("train_loss", true));
    charts[0].setData([loss[0], ...loss.slice(1).map(positive)]);
    charts[1].setData(joinTables(tables("test_accuracy", false)));
    racers.forEach((racer) => (racer.dirty = false));
  }

  async function control(action, body) {
    if (!comparison) return;
    try {
      const result = await api.controlComparison(comparison.id, action, body);
      const running = result.racers.filter((racer) => racer.run && racer.run.status === "running");
      playing = running.length > 0;
      play.textContent = t(playing ? "teach.race.pause" : "teach.race.play");
      if (playing) showPace(running[0].run.steps_per_second);
    } catch (error) {
      ctx.error(error.message);
    }
  }

  // The select shows the pace the racers play at (a pace not among the choices gets an option of its own).
  function showPace(stepsPerSecond) {
    const value = stepsPerSecond === null || stepsPerSecond === undefined ? "" : String(stepsPerSecond);
    if (![...speed.options].some((option) => option.value === value)) {
      speed.add(el("option", { value }), [...speed.options].find((option) => option.value === "" || Number(option.value) > Number(value)));
      translate();
    }
    speed.value = value;
  }

  function stopRace() {
    for (const racer of racers) racer.socket.close();
    racers = [];
    cards.replaceChildren();
    clearInterval(chartTimer);
  }

  // A new race replaces the last one: its racers' runs are deleted rather than kept among the owner's runs
  // (each counts against the identity's limit), and the view goes back to its explanation until the new
  // race exists, so a refused one leaves no stale charts behind.
  async function replaceRace() {
    stopRace();
    empty.hidden = false;
    resultArea.hidden = true;
    controls.hidden = true;
    if (!comparison) return;
    const last = comparison;
    comparison = null;
    delete body.dataset.comparison;
    try {
      await api.deleteComparison(last.id);
    } catch (error) {
      if (error.status !== 404) throw error;
    }
  }

  function translate() {
    add.textContent = t("teach.race.add");
    start.textContent = t("teach.race.start");
    play.textContent = t(playing ? "teach.race.pause" : "teach.race.play");
    step.textContent = t("teach.race.step", { n: 100 });
    speedLabel.textContent = t("ls.speed");
    for (const option of speed.options) option.textContent = option.value === "" ? t("action.speed_full") : t("ls.speed_value", { n: option.value });
    reset.textContent = t("teach.race.reset");
    empty.textContent = t("teach.race.empty", { button: start.textContent });
    racers.forEach((racer) => (racer.cardDirty = true));
    drawCards();
  }

  DEFAULT_RACERS.forEach(([name, lr]) => addRow(name, lr));
  translate();
  ctx.on("language", translate);
  return { show() {}, hide() {} };
}
