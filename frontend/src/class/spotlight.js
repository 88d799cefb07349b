// The spotlight: one student's run full screen, for the whole room to look at together. Its own
// WebSocket (params at a higher rate than the gallery's) draws a large decision boundary and the loss
// curve live; the teacher's token makes the socket a `teacher`, so the transport here (play, pause, step,
// reset) changes the student's run, and "Open in the dashboard" gives every other control.
import { formatNumber } from "../dom.js";
import { t } from "../i18n/index.js";
import { RunSocket } from "../core/socket.js";
import { chartFontPx } from "../core/page.js";
import { MetricHistory } from "../history.js";
import { watchUrl } from "../url_state.js";
import { createBoundaries } from "../teach/boundary.js";
import { createSparkline } from "./sparkline.js";
import { percent, studentName } from "./gallery.js";

const FPS = 8;
const VIEW = { type: "view", grid: false, neurons: false, params: true };
const STEPS = 100;

export function createSpotlight(page, root) {
  const $ = (selector) => root.querySelector(selector);
  const boundaries = createBoundaries();
  const history = new MetricHistory();
  const drawSpark = createSparkline();
  const state = { entry: null, socket: null, run: null, params: null, points: null, resolved: null, role: null, frame: 0 };

  function open(entry, index) {
    close();
    state.entry = entry;
    state.run = entry.run;
    state.resolved = entry.run.resolved;
    history.clear();
    root.hidden = false;
    root.dataset.run = entry.id;
    $("#spotlight-name").textContent = studentName(entry.run, index);
    $("#spotlight-dashboard").href = watchUrl(entry.id);
    state.socket = new RunSocket(entry.id, {
      onOpen: () => {
        state.socket.send(VIEW);
        state.socket.send({ type: "fps", fps: FPS });
      },
      onStatus: (status) => {
        root.dataset.connection = status;
        render(); // the header says when the picture has stopped following the run
      },
      onMessage: receive,
    });
    render();
    $("#spotlight-close").focus();
  }

  function close() {
    if (state.socket) state.socket.close();
    state.socket = null;
    state.entry = null;
    root.hidden = true;
  }

  function receive(message) {
    if (message.type === "ack" && message.of === "auth") state.role = message.role;
    else if (message.type === "state") {
      history.load(message.history);
      Object.assign(state, { run: message.run, params: message.params, points: message.points, resolved: message.run.resolved });
    } else if (message.type === "frame") {
      history.append(message.metrics);
      if (message.params) state.params = message.params;
      Object.assign(state.run, { step: message.step, status: message.status, latest: message.latest || state.run.latest });
      if ("learning" in message) state.run.learning = message.learning;
    } else if (message.type === "run") state.run = { ...message.run, step: Math.max(message.run.step, state.run.step) };
    else if (message.type === "error") page.error(message.message);
    else return;
    if (!state.frame) state.frame = requestAnimationFrame(render);
  }

  function render() {
    state.frame = 0;
    const run = state.run;
    if (!run || root.hidden) return;
    root.dataset.step = String(run.step);
    $("#spotlight-step").textContent = String(run.step);
    $("#spotlight-loss").textContent = formatNumber(run.latest.test_loss);
    $("#spotlight-accuracy").textContent = percent(run.latest.test_accuracy);
    const lost = root.dataset.connection === "reconnecting";
    $("#spotlight-status").textContent = lost ? t("status.reconnecting_hint") : run.status === "diverged" ? t("class.diverged") : run.learning ? run.learning.message : "";
    const play = $("#spotlight-play");
    play.textContent = t(run.status === "running" ? "class.pause" : "class.play");
    for (const button of root.querySelectorAll(".transport-button")) button.disabled = state.role === "watcher" || state.role === null;
    const box = $(".spotlight-picture");
    const size = Math.floor(Math.min(box.clientWidth, box.clientHeight));
    if (size > 0 && state.params) boundaries.draw("spotlight", $("#spotlight-boundary"), size, state.params, state.resolved, state.points);
    const plot = $(".spotlight-plot"); // the chart column under its heading, all of it
    if (plot.clientWidth > 0) drawSpark($("#spotlight-loss-chart"), history, plot.clientWidth, Math.max(120, plot.clientHeight), { axes: true, fontPx: chartFontPx(page.projector) });
  }

  const send = (message) => state.socket && !state.socket.send(message) && page.error(t("error.offline"));
  $("#spotlight-play").addEventListener("click", () => send({ type: state.run.status === "running" ? "pause" : "play" }));
  $("#spotlight-step-button").addEventListener("click", () => send({ type: "step", steps: STEPS }));
  $("#spotlight-reset").addEventListener("click", () => send({ type: "reset" }));
  $("#spotlight-close").addEventListener("click", close);
  document.addEventListener("keydown", (event) => event.key === "Escape" && !root.hidden && close());
  new ResizeObserver(() => !root.hidden && render()).observe(root);
  page.on("language", render);
  page.on("projector", render);

  return { open, close, isOpen: () => !root.hidden };
}
