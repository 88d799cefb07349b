// The optimizer race: a contour plot of a 2-D test function, racers streaming their paths live over
// WS /ws/races/{id} with gradient (solid) and velocity (dashed) arrows, a click that moves the start, and
// a table of each racer's steps, value and distance to the nearest known minimum.
import { t } from "../i18n/index.js";
import { el, fitCanvas, formatNumber } from "../dom.js";
import { api } from "../core/api.js";
import { LiveSocket } from "../core/socket.js";
import { choiceLabel } from "../core/choices.js";
import { arrow, drawColourBar, drawContours, mapping, plotBox } from "./contour.js";
import { createRacerList } from "./racers.js";

const { schemeTableau10 } = window.d3;
const GRID_RESOLUTION = 151;
const SPEEDS = [10, 30, 100, 300, 1000, 3000];
const DEFAULT_RACERS = [
  { optimizer: "sgd", lr: 0.001 },
  { optimizer: "momentum", lr: 0.001 },
  { optimizer: "adam", lr: 0.05 },
];
const colour = (index) => schemeTableau10[index % schemeTableau10.length];

export function createRaceView(root, notify) {
  const state = { surfaces: [], race: null, paths: [], playing: false, grid: null, image: null, socket: null };
  const $ = (selector) => root.querySelector(selector);
  const canvas = $("#race-canvas");
  const functionSelect = $("#race-function");
  const condition = $("#race-condition");
  const speed = $("#race-speed");
  const racers = createRacerList($("#race-racers"), {
    colour,
    onRebuild: (specs) => rebuild(specs),
    onHyper: (index, hyper) => send({ type: "set", racers: [{ index, hyper }] }),
  });
  for (const value of SPEEDS) speed.append(el("option", { value }));
  speed.value = "100";

  function send(message) {
    if (!state.socket || !state.socket.send(message)) notify(t("error.offline"));
  }

  async function start() {
    state.surfaces = await api.surfaces();
    for (const surface of state.surfaces) functionSelect.append(el("option", { value: surface.name }));
    functionSelect.value = "rosenbrock";
    relabel();
    await rebuild(DEFAULT_RACERS, false);
  }

  // A new race (new function, condition or racer set); the old one is deleted. keepStart: same function.
  async function rebuild(specs, keepStart = true) {
    const body = {
      function: functionSelect.value,
      params: functionSelect.value === "quadratic_bowl" ? { condition: Number(condition.value) } : null,
      start: keepStart && state.race && state.race.function === functionSelect.value ? state.race.start : null,
      racers: specs.map((spec) => ({ optimizer: spec.optimizer, hyper: { lr: spec.lr } })),
      speed: Number(speed.value),
    };
    try {
      await replace(await api.createRace(body), specs);
    } catch (error) {
      notify(error.message);
    }
  }

  // Switch the view (and its socket) to a freshly created race; a playing view keeps playing.
  async function replace(race, specs) {
    const previous = state.race;
    const wasPlaying = state.playing;
    if (state.socket) state.socket.close();
    if (previous) api.deleteRace(previous.id).catch(() => {});
    racers.set(specs, race.racers);
    if (!previous || previous.function !== race.function || race.function === "quadratic_bowl") await loadGrid(race);
    applyState(race);
    state.socket = new LiveSocket(`/ws/races/${race.id}`, {
      onMessage: receive,
      onOpen: () => {
        state.socket.send({ type: "fps", fps: 30 });
        if (wasPlaying) state.socket.send({ type: "play" });
      },
    });
    root.dataset.raceId = race.id;
  }

  async function loadGrid(race) {
    const query = { resolution: GRID_RESOLUTION, ...(race.function === "quadratic_bowl" ? { condition: race.parameters.condition } : {}) };
    const grid = await api.surfaceGrid(race.function, query);
    state.grid = { values: grid.values, xRange: grid.x_range, yRange: grid.y_range, log: grid.log_scale };
    state.image = null;
    $("#race-formula").textContent = race.surface.formula;
    condition.closest(".field").hidden = race.function !== "quadratic_bowl";
  }

  function applyState(race) {
    state.race = race;
    $("#race-note").textContent = t(`ls.note.${race.function}`);
    state.paths = race.racers.map((racer) => racer.path);
    state.playing = race.playing;
    racers.set(racers.specs(), race.racers);
    render();
  }

  function receive(message) {
    if (message.type === "state") applyState(message.race);
    else if (message.type === "frame") {
      message.racers.forEach((racer, index) => {
        if (racer.path) state.paths[index] = racer.path;
        else state.paths[index].push(...racer.path_append);
      });
      state.race.racers = message.racers;
      state.playing = message.playing;
      racers.update(message.racers);
      render();
    } else if (message.type === "error") notify(message.message);
  }

  let drawPending = false;
  function render() {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(() => {
      drawPending = false;
      if (!state.race) return;
      draw();
      renderTable();
      $("#race-play").textContent = state.playing ? t("ls.pause") : t("ls.play");
      root.dataset.steps = Math.max(...state.race.racers.map((r) => r.steps));
    });
  }

  function draw() {
    if (!state.grid) return;
    const width = canvas.parentElement.clientWidth;
    const height = Math.round(Math.min(width * 0.78, 560));
    const ctx = fitCanvas(canvas, width, height);
    const box = plotBox(width, height);
    if (!state.image || state.image.width !== canvas.width || state.image.height !== canvas.height) {
      state.image = document.createElement("canvas");
      const imageCtx = fitCanvas(state.image, width, height);
      const { scale } = drawContours(imageCtx, state.grid, box, { x: "x", y: "y" });
      drawColourBar($("#race-colourbar"), scale, state.grid.log, "f(x, y)");
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(state.image, 0, 0);
    ctx.setTransform(window.devicePixelRatio || 1, 0, 0, window.devicePixelRatio || 1, 0, 0);
    const map = mapping(box, state.grid.xRange, state.grid.yRange);
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.left, box.top, box.width, box.height);
    ctx.clip();
    drawMinima(ctx, map);
    const [sx, sy] = state.race.start;
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 2;
    ctx.strokeRect(map.px(sx) - 5, map.py(sy) - 5, 10, 10);
    state.race.racers.forEach((racer, index) => drawRacer(ctx, map, box, racer, state.paths[index], colour(index)));
    ctx.restore();
  }

  function drawMinima(ctx, map) {
    const surface = state.race.surface;
    ctx.font = "16px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (const [points, symbol] of [[surface.minima, "★"], [surface.local_minima, "☆"]]) {
      for (const [x, y] of points) {
        ctx.fillStyle = "#fff";
        ctx.fillText(symbol, map.px(x), map.py(y));
      }
    }
  }

  function drawRacer(ctx, map, box, racer, path, stroke) {
    const points = racer.position ? [...path, racer.position] : path;
    ctx.strokeStyle = stroke;
    ctx.lineWidth = 2;
    ctx.beginPath();
    points.forEach(([x, y], i) => (i ? ctx.lineTo(map.px(x), map.py(y)) : ctx.moveTo(map.px(x), map.py(y))));
    ctx.stroke();
    if (!racer.position) return;
    const [x, y] = racer.position;
    const px = map.px(x);
    const py = map.py(y);
    // Arrows point where each vector pushes the point: along −∇f and along −velocity.
    const scaleX = box.width / (state.grid.xRange[1] - state.grid.xRange[0]);
    const scaleY = box.height / (state.grid.yRange[1] - state.grid.yRange[0]);
    const vector = (v) => {
      const dx = -v[0] * scaleX;
      const dy = v[1] * scaleY;
      const norm = Math.hypot(v[0], v[1]);
      const length = Math.min(70, 14 * (1 + Math.log10(1 + norm)));
      const pixels = Math.hypot(dx, dy) || 1;
      return [(dx / pixels) * length, (dy / pixels) * length];
    };
    if ($("#race-show-gradient").checked && racer.gradient) arrow(ctx, px, py, ...vector(racer.gradient), stroke);
    if ($("#race-show-velocity").checked && racer.velocity) arrow(ctx, px, py, ...vector(racer.velocity), stroke, true);
    ctx.fillStyle = stroke;
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.arc(px, py, 5, 0, 2 * Math.PI);
    ctx.fill();
    ctx.stroke();
  }

  // A racer still in the race shows "paused" while the race is (its own status says only running or diverged).
  const racerStatus = (racer) => (racer.status === "running" && !state.playing ? "paused" : racer.status);

  function renderTable() {
    const body = $("#race-table tbody");
    body.replaceChildren(
      ...state.race.racers.map((racer, index) =>
        el(
          "tr",
          { title: racer.message || "" },
          el("td", {}, el("span", { class: "swatch", style: `background:${colour(index)}` }), choiceLabel("optimizer", racer.optimizer)),
          el("td", { class: "num" }, formatNumber(racer.hyper.lr)),
          el("td", { class: "num" }, String(racer.steps)),
          el("td", { class: "num" }, formatNumber(racer.value)),
          el("td", { class: "num" }, formatNumber(racer.distance_to_minimum)),
          el("td", { class: racer.status === "diverged" ? "warn" : "" }, t(`ls.status_${racerStatus(racer)}`)),
        ),
      ),
    );
  }

  canvas.addEventListener("click", (event) => {
    if (!state.grid) return;
    const rect = canvas.getBoundingClientRect();
    const box = plotBox(rect.width, rect.height);
    const map = mapping(box, state.grid.xRange, state.grid.yRange);
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top;
    if (map.inside(px, py)) send({ type: "set", start: [map.x(px), map.y(py)] });
  });
  $("#race-play").addEventListener("click", () => send({ type: state.playing ? "pause" : "play" }));
  $("#race-step").addEventListener("click", () => send({ type: "step", steps: 10 }));
  $("#race-reset").addEventListener("click", () => send({ type: "reset" }));
  speed.addEventListener("change", () => send({ type: "set", speed: Number(speed.value) }));
  functionSelect.addEventListener("change", () => rebuild(racers.specs(), false));
  condition.addEventListener("change", () => rebuild(racers.specs()));
  condition.addEventListener("input", () => ($("#race-condition-value").textContent = condition.value));
  for (const id of ["#race-show-gradient", "#race-show-velocity"]) $(id).addEventListener("change", render);
  window.addEventListener("resize", render);

  // After a language change: option labels, racer rows and the table are rebuilt in the new language.
  function relabel() {
    speed.querySelectorAll("option").forEach((option) => (option.textContent = t("ls.speed_value", { n: option.value })));
    functionSelect.querySelectorAll("option").forEach((option) => (option.textContent = t(`ls.fn.${option.value}`)));
    if (state.race) $("#race-note").textContent = t(`ls.note.${state.race.function}`);
    racers.relabel();
    render();
  }

  return { start, relabel };
}
