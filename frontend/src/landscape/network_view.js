// The network's own landscape: a 2-D slice of the run's loss around its current weights (filter-normalised,
// PCA or gradient directions) with the training path projected onto it, and the 1-D line L(θ − α·g).
// The slice is computed on request or every N steps (progress streamed as NDJSON); between computations
// the weights arriving over WS /ws/runs/{id} are projected onto the same plane, so the path keeps moving.
// The slice says its age ("computed at step N, now M") and is recomputed by itself when training has
// carried the weights off the plotted square.
import { t } from "../i18n/index.js";
import { el, fitCanvas, formatNumber } from "../dom.js";
import { api } from "../core/api.js";
import { lastOf } from "../core/last_run.js";
import { LiveSocket } from "../core/socket.js";
import { drawColourBar, drawContours, mapping, plotBox } from "./contour.js";
import { drawLine } from "./line_plot.js";

// Flat parameters in the server's order (W0 row-major, b0, W1, b1, …) from a protocol Params object.
function flatten(params) {
  const flat = [];
  for (const layer of params.layers) {
    for (const row of layer.W) flat.push(...row);
    flat.push(...layer.b);
  }
  return flat;
}

const dot = (a, b) => a.reduce((sum, value, i) => sum + value * b[i], 0);

// (α, β) minimising ‖θ − origin − α·d1 − β·d2‖: the 2×2 normal equations (d1, d2 need not be orthogonal).
function project(plane, theta) {
  if (theta.length !== plane.origin.length || theta.some((v) => v === null)) return null;
  const offset = theta.map((value, i) => value - plane.origin[i]);
  const [a, b, c] = [dot(plane.d1, plane.d1), dot(plane.d1, plane.d2), dot(plane.d2, plane.d2)];
  const [r1, r2] = [dot(plane.d1, offset), dot(plane.d2, offset)];
  const det = a * c - b * b;
  return det > 0 ? [(c * r1 - b * r2) / det, (a * r2 - b * r1) / det] : null;
}

export function createNetworkView(root, notify) {
  const $ = (selector) => root.querySelector(selector);
  const state = { runId: null, socket: null, landscape: null, line: null, image: null, live: [], step: 0, running: false, computing: false, queued: false };
  const canvas = $("#net-canvas");
  const progress = $("#net-progress");

  function query() {
    const params = {
      directions: $("#net-directions").value,
      resolution: $("#net-resolution").value,
      metric: $("#net-metric").value,
      split: $("#net-split").value,
      seed: $("#net-seed").value || "0",
      progress: "true",
    };
    if ($("#net-span").value) params.span = $("#net-span").value;
    return params;
  }

  // The menu: this browser's own runs (GET /api/runs lists the caller's), plus the run being watched.
  async function listRuns(mine = null) {
    const runs = mine || (await api.listRuns());
    const label = (run) => `${run.name ? `${run.name} · ` : ""}${run.config.dataset.kind} · ${run.resolved.sizes.join("-")} · ${run.id.slice(0, 6)}`;
    const select = $("#net-run");
    select.replaceChildren(el("option", { value: "" }, t("ls.choose_run")));
    for (const run of runs) select.append(el("option", { value: run.id }, label(run)));
    if (state.runId && !runs.some((run) => run.id === state.runId)) {
      const watched = await api.getRun(state.runId).catch(() => null);
      if (watched) select.append(el("option", { value: watched.id }, t("ls.watched_run", { run: label(watched) })));
    }
    select.value = state.runId || "";
  }

  function open(runId) {
    if (state.socket) state.socket.close();
    Object.assign(state, { runId, role: null, landscape: null, line: null, live: [], image: null });
    root.classList.toggle("no-run", !runId);
    document.getElementById("dashboard-link").href = runId ? `index.html?run=${encodeURIComponent(runId)}` : "index.html";
    if (!runId) return;
    state.socket = new LiveSocket(`/ws/runs/${encodeURIComponent(runId)}`, {
      onOpen: () => {
        state.socket.send({ type: "view", grid: false, neurons: false, params: true, resolution: 2 });
        state.socket.send({ type: "fps", fps: 10 });
      },
      onMessage: receive,
    });
    compute();
  }

  function receive(message) {
    if (message.type === "ack" && message.of === "auth") {
      state.role = message.role; // a watcher may look but not train someone else's run
      labelPlay();
    } else if (message.type === "state") {
      update(message.run.step, message.run.status, message.params);
      if (state.landscape && state.landscape.step > message.run.step) compute(); // reset or rebuilt
    } else if (message.type === "frame") update(message.step, message.status, message.params);
    else if (message.type === "error") notify(message.message);
  }

  function update(step, status, params) {
    state.step = step;
    state.running = status === "running";
    labelPlay();
    $("#net-step").textContent = String(step);
    const landscape = state.landscape;
    if (landscape && landscape.plane && params && step > landscape.step) {
      const point = project(landscape.plane, flatten(params));
      if (point && (!state.live.length || state.live[state.live.length - 1].step < step)) state.live.push({ step, point });
      const [low, high] = [landscape.alphas[0], landscape.alphas[landscape.alphas.length - 1]];
      if (point && point.some((value) => value < low || value > high)) compute(); // moved far: off the slice
      draw();
    }
    renderAge();
    const every = Number($("#net-every").value);
    if ($("#net-auto").checked && landscape && every > 0 && step - landscape.step >= every) compute();
  }

  async function compute() {
    if (!state.runId) return;
    if (state.computing) {
      state.queued = true;
      return;
    }
    state.computing = true;
    progress.hidden = false;
    progress.value = 0;
    root.dataset.computing = "true";
    const runId = state.runId;
    try {
      await api.landscape(runId, query(), (line) => {
        if (line.type === "progress") progress.value = line.done / line.total;
        else if (line.type === "error") notify(line.field ? `${line.field}: ${line.reason}` : line.reason);
        else if (runId === state.runId) {
          Object.assign(state, { landscape: line.landscape, live: [], image: null });
        }
      });
      await loadLine(runId);
    } catch (error) {
      notify(error.message);
    } finally {
      state.computing = false;
      progress.hidden = true;
      root.dataset.computing = "false";
    }
    draw();
    renderAge();
    if (state.queued) {
      state.queued = false;
      compute();
    }
  }

  // The 1-D line from α = 0 to the chosen multiple of the learning rate.
  async function loadLine(runId) {
    const params = { split: $("#net-split").value };
    const lr = state.landscape && state.landscape.lr;
    if (lr) params.alpha_max = Number($("#line-range").value) * lr;
    const line = await api.landscapeLine(runId, params);
    if (runId === state.runId) state.line = line;
  }

  function renderAge() {
    const landscape = state.landscape;
    const stale = Boolean(landscape && state.step !== landscape.step);
    root.dataset.stale = String(stale);
    $("#net-age").textContent = landscape ? t(stale ? "ls.age_stale" : "ls.age_fresh", { step: landscape.step, now: state.step }) : "";
    $("#net-compute").textContent = t(stale ? "ls.recompute_now" : "ls.recompute");
  }

  function labelPlay() {
    const play = $("#net-play");
    play.textContent = state.running ? t("ls.pause_training") : t("ls.play_training");
    play.disabled = state.role === "watcher";
    play.title = play.disabled ? t("access.not_yours") : "";
  }

  function axisLabels(landscape) {
    if (landscape.directions === "pca") {
      const [first, second] = landscape.explained_variance.map((share) => (100 * share).toFixed(1));
      return { x: t("ls.axis_pc", { n: 1, share: first }), y: t("ls.axis_pc", { n: 2, share: second }) };
    }
    if (landscape.directions === "gradient") return { x: t("ls.axis_gradient"), y: t("ls.axis_random", { n: "" }) };
    return { x: t("ls.axis_random", { n: 1 }), y: t("ls.axis_random", { n: 2 }) };
  }

  function draw() {
    const landscape = state.landscape;
    if (!landscape) return;
    const width = canvas.parentElement.clientWidth;
    const height = Math.round(Math.min(width * 0.78, 560));
    const ctx = fitCanvas(canvas, width, height);
    const box = plotBox(width, height);
    const range = [landscape.alphas[0], landscape.alphas[landscape.alphas.length - 1]];
    const grid = { values: landscape.values, xRange: range, yRange: range, log: false };
    if (!state.image || state.image.width !== canvas.width || state.image.height !== canvas.height) {
      state.image = document.createElement("canvas");
      const { scale } = drawContours(fitCanvas(state.image, width, height), grid, box, axisLabels(landscape));
      drawColourBar($("#net-colourbar"), scale, false, t(landscape.metric === "log_loss" ? "ls.log10_loss" : "ls.loss"));
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(state.image, 0, 0);
    const ratio = window.devicePixelRatio || 1;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    const map = mapping(box, range, range);
    const points = [...landscape.path.points, ...state.live.map((item) => item.point)];
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.left, box.top, box.width, box.height);
    ctx.clip();
    ctx.strokeStyle = "#ffffff";
    ctx.fillStyle = "#ffffff";
    ctx.lineWidth = 2;
    ctx.beginPath();
    points.forEach(([a, b], i) => (i ? ctx.lineTo(map.px(a), map.py(b)) : ctx.moveTo(map.px(a), map.py(b))));
    ctx.stroke();
    for (const [a, b] of points) ctx.fillRect(map.px(a) - 1.5, map.py(b) - 1.5, 3, 3);
    const [a, b] = points[points.length - 1];
    ctx.fillStyle = "#d62728";
    ctx.strokeStyle = "#fff";
    ctx.beginPath();
    ctx.arc(map.px(a), map.py(b), 6, 0, 2 * Math.PI);
    ctx.fill();
    ctx.stroke();
    ctx.restore();
    root.dataset.pathPoints = String(points.length);
    root.dataset.metric = landscape.metric;
    $("#net-summary").textContent = t("ls.summary", {
      size: `${landscape.resolution}×${landscape.resolution}`,
      ms: Math.round(landscape.elapsed_ms),
      step: landscape.step,
      loss: formatNumber(landscape.current_loss),
      span: formatNumber(landscape.span),
    });
    if (state.line) {
      drawLine($("#line-canvas"), state.line);
      $("#line-note").textContent = t("ls.line_note", {
        loss: formatNumber(state.line.current_loss),
        at_lr: formatNumber(state.line.loss_at_lr),
        lr: formatNumber(state.line.lr),
      });
    }
  }

  $("#net-run").addEventListener("change", (event) => {
    const runId = event.target.value || null;
    const url = new URL(location.href);
    if (runId) url.searchParams.set("run", runId);
    else url.searchParams.delete("run");
    history.replaceState(null, "", url);
    open(runId);
  });
  $("#net-compute").addEventListener("click", compute);
  for (const id of ["#net-directions", "#net-metric", "#net-split", "#net-resolution", "#net-span", "#net-seed"]) {
    $(id).addEventListener("change", compute);
  }
  $("#line-range").addEventListener("change", () => loadLine(state.runId).then(draw, (error) => notify(error.message)));
  $("#net-resolution").addEventListener("input", (event) => ($("#net-resolution-value").textContent = event.target.value));
  $("#net-play").addEventListener("click", () => {
    if (!state.socket || !state.socket.send({ type: state.running ? "pause" : "play" })) notify(t("error.offline"));
  });
  window.addEventListener("resize", () => {
    state.image = null;
    draw();
  });

  return {
    // The run named in the link, else this browser's last (or newest) run; none when it has none.
    async start(runId) {
      const mine = await api.listRuns();
      state.runId = runId || lastOf(mine)?.id || null;
      labelPlay();
      await listRuns(mine);
      open(state.runId);
    },
    relabel() {
      listRuns();
      labelPlay();
      renderAge();
      state.image = null;
      draw();
    },
  };
}
