// Start-up and the app object every panel shares: state, events, messages to the server, drawing.
//   On load: ?run=<id> reopens that run; otherwise a new run is created from the URL's config and the
//   URL is replaced with its id and full config. Frames from the WebSocket update the state, and each
//   panel redraws at most once per animation frame.
import { api } from "./api.js";
import { RunSocket } from "./socket.js";
import { MetricHistory } from "./history.js";
import { readUrl, writeUrl } from "./url_state.js";
import { isTyping } from "./dom.js";
import { LANGUAGES, language, onLanguageChange, setLanguage, t, translateTree } from "./i18n/index.js";
import { createStatus } from "./panels/status.js";
import { createControls } from "./panels/controls.js";
import { createData } from "./panels/data.js";
import { createNetwork } from "./panels/network.js";
import { createOutput } from "./panels/output.js";
import { createCurves } from "./panels/curves.js";
import { createHelp } from "./panels/help.js";
import { createDownloads } from "./panels/downloads.js";
import { createPacer } from "./pacer.js";

const FPS = 30;
const GRID_RESOLUTION = 40;
const COARSE_GRID_RESOLUTION = 28;
const MANY_NEURONS = 48;
const MAX_NEURON_HEATMAPS = 160;

const url = readUrl();
const listeners = new Map();
const pendingDraws = new Set();
let configQueue = Promise.resolve();
let sentView = ""; // the view message this connection last sent, as JSON
const stats = { framesReceived: 0, draws: 0, historyPoints: 0, drawMsTotal: 0, drawMsMax: 0 };

const app = {
  state: { run: null, params: null, grid: null, points: null, history: new MetricHistory() },
  hidden: url.hidden,
  socket: null,

  on(event, listener) {
    if (!listeners.has(event)) listeners.set(event, []);
    listeners.get(event).push(listener);
  },

  emit(event, payload) {
    for (const listener of listeners.get(event) || []) listener(payload);
  },

  send(message) {
    if (app.socket && app.socket.send(message)) return true;
    app.emit("error", t("error.offline"));
    return false;
  },

  // PATCH any part of the config; a rebuild also brings a fresh `state` over the socket. Changes go one
  // at a time, in order, so quick successive edits cannot overtake each other on the server.
  setConfig(patch) {
    const send = async () => {
      try {
        const run = await api.patchRun(app.state.run.id, patch);
        mergeRun(run);
        return run;
      } catch (error) {
        app.emit("error", error.message);
        throw error;
      }
    };
    const result = configQueue.then(send, send);
    configQueue = result.catch(() => null);
    return result;
  },

  togglePlay() {
    pacer.toggle();
  },

  setSpeed(stepsPerFrame) {
    pacer.setSpeed(stepsPerFrame);
  },

  requestDraw(draw) {
    if (!pendingDraws.size) requestAnimationFrame(drawFrame);
    pendingDraws.add(draw);
  },

  translate(root) {
    translateTree(root);
  },
};

const pacer = createPacer(app);

function drawFrame() {
  const started = performance.now();
  const draws = [...pendingDraws];
  pendingDraws.clear();
  for (const draw of draws) draw();
  const spent = performance.now() - started;
  stats.draws++;
  stats.drawMsTotal += spent;
  stats.drawMsMax = Math.max(stats.drawMsMax, spent);
}

// `fromState`: the server's own full picture (after a reset or rebuild the step may go back to 0).
function mergeRun(run, fromState = false) {
  const current = app.state.run;
  // A REST answer can be older than the frames already shown: keep the newer progress.
  if (!fromState && current && current.id === run.id && current.step > run.step) {
    Object.assign(run, { step: current.step, epoch: current.epoch, status: current.status, latest: current.latest });
  }
  app.state.run = run;
  app.emit("run", run);
  saveUrl();
}

function saveUrl() {
  const run = app.state.run;
  writeUrl({ runId: run && run.id, lang: language(), hidden: app.hidden, config: run ? run.config : url.config });
}

// Neuron heatmaps multiply a frame's size by the neuron count: big networks get coarser grids, and past
// MAX_NEURON_HEATMAPS none (their nodes are drawn plain).
function wantedView(run) {
  const neurons = run.resolved.sizes.slice(1).reduce((sum, size) => sum + size, 0);
  const resolution = neurons <= MANY_NEURONS ? GRID_RESOLUTION : COARSE_GRID_RESOLUTION;
  return { type: "view", grid: true, neurons: neurons <= MAX_NEURON_HEATMAPS, params: true, resolution };
}

async function onState(message) {
  app.state.history.load(message.history);
  app.state.params = message.params;
  app.state.grid = message.grid;
  app.state.points = message.points;
  app.emit("grid", message.grid);
  mergeRun(message.run, true);
  const view = JSON.stringify(wantedView(message.run));
  if (view !== sentView && app.socket.send(JSON.parse(view))) sentView = view;
  if (!message.points && message.run.resolved.task === "classification") {
    try {
      app.state.points = await api.points(message.run.id);
      app.emit("points");
    } catch (error) {
      app.emit("error", error.message);
    }
  }
}

function onFrame(message) {
  stats.framesReceived++;
  const run = app.state.run;
  Object.assign(run, { step: message.step, epoch: message.epoch, status: message.status, message: message.message, latest: message.latest });
  run.resolved.lr = message.lr;
  app.state.history.append(message.metrics);
  stats.historyPoints = app.state.history.length;
  if (message.params) app.state.params = message.params;
  if (message.grid) {
    app.state.grid = message.grid;
    app.emit("grid", message.grid);
  }
  app.emit("frame", message);
}

function onMessage(message) {
  if (message.type === "state") onState(message);
  else if (message.type === "frame") onFrame(message);
  else if (message.type === "error") app.emit("error", message.message);
  else if (message.type === "ack") app.emit("ack", message);
}

// The server restarted without this run (or it was deleted): start a new one with the same setup.
let replacing = false;
async function replaceLostRun(lostId) {
  if (replacing || app.state.run.id !== lostId) return;
  replacing = true;
  const config = app.state.run ? app.state.run.config : url.config;
  if (config.dataset && config.dataset.kind === "custom") delete config.dataset;
  app.emit("error", t("error.run_lost"));
  try {
    connect(await api.createRun(config));
  } finally {
    replacing = false;
  }
}

function connect(run) {
  if (app.socket) app.socket.close();
  app.state.run = run;
  saveUrl();
  app.socket = new RunSocket(run.id, {
    onMessage,
    onOpen: () => {
      sentView = ""; // a new connection starts from the server's default view
      app.socket.send({ type: "fps", fps: FPS });
    },
    onStatus: async (status) => {
      app.emit("connection", status);
      if (status !== "reconnecting") return;
      try {
        await api.getRun(run.id);
      } catch (error) {
        if (error.status === 404) replaceLostRun(run.id);
      }
    },
  });
}

async function openRun() {
  if (url.runId) {
    try {
      return await api.getRun(url.runId);
    } catch (error) {
      app.emit("error", error.status === 404 ? t("error.run_missing", { id: url.runId }) : error.message);
    }
  }
  try {
    return await api.createRun(url.config);
  } catch (error) {
    app.emit("error", t("error.bad_url_config", { reason: error.message }));
    return api.createRun({ seed: url.config.seed ?? 0 });
  }
}

function hideClassroomControls() {
  if (!app.hidden.length) return;
  const style = document.createElement("style");
  style.textContent = app.hidden.map((name) => `[data-control="${CSS.escape(name)}"]`).join(",") + "{display:none !important}";
  document.head.append(style);
}

function bindKeyboard() {
  document.addEventListener("keydown", (event) => {
    if (isTyping(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === " " && !(event.target instanceof HTMLButtonElement) && !app.hidden.includes("play")) {
      event.preventDefault();
      app.togglePlay();
    } else if ((event.key === "s" || event.key === "S") && !app.hidden.includes("step")) {
      app.send({ type: "step", steps: 1 });
    }
  });
}

function bindLanguage() {
  const select = document.getElementById("language");
  select.value = language();
  select.addEventListener("change", () => setLanguage(select.value));
  onLanguageChange(() => {
    select.value = language();
    app.emit("language");
    saveUrl();
  });
}

async function main() {
  setLanguage(LANGUAGES.includes(url.lang) ? url.lang : "en");
  hideClassroomControls();
  createStatus(app);
  createControls(app);
  createData(app);
  const network = createNetwork(app);
  createOutput(app);
  createCurves(app);
  createHelp(app);
  createDownloads(app);
  translateTree(document);
  bindKeyboard();
  bindLanguage();
  // For the browser tests and the benchmark: frame counters and where the network draws things.
  window.backproplab = { stats, network };
  const run = await openRun();
  mergeRun(run);
  connect(run);
}

main().catch((error) => app.emit("error", error.message));
