// The dashboard: start-up and the app object every panel shares (state, events, messages to the server,
// drawing). On load (openOnLoad): ?join=<code> joins a class; ?run=<id> opens that run (a watch link:
// read-only unless this browser owns it or teaches its class); a config in the URL (a setup link) makes a
// new run of this browser's own from it; a bare address reopens the last run this browser owned (or its
// newest, or a new one). The URL is then replaced with the run's id and full config. Frames from the
// WebSocket update the state, every change of the run made elsewhere (a `run` message) updates the
// controls and the URL (a setting changed by someone else is first announced as "setup-changed": the
// field being edited for it is left, and a student hears that the teacher changed it; panels/setup_notice.js),
// and each panel redraws at most once per animation frame.
import { api } from "./core/api.js";
import { describeError } from "./core/errors.js";
import { forgetRun, rememberRun } from "./core/identity.js";
import { lastOrNewRun } from "./core/last_run.js";
import { RunSocket } from "./core/socket.js";
import { changedSettings, createOwnChanges } from "./core/setup_changes.js";
import { startPage } from "./core/page.js";
import { MetricHistory } from "./history.js";
import { readUrl, writeUrl } from "./url_state.js";
import { isTyping } from "./dom.js";
import { language, t, translateTree } from "./i18n/index.js";
import { createLiveGrids } from "./live_grids.js";
import { columnNames } from "./names.js";
import { createStatus } from "./panels/status.js";
import { createControls } from "./panels/controls/index.js";
import { createData } from "./panels/data.js";
import { createNetwork } from "./panels/network/index.js";
import { createOutput } from "./panels/output/index.js";
import { createCurves } from "./panels/curves/index.js";
import { createDownloads } from "./panels/downloads.js";
import { createPanelMenu } from "./panels/panel_menu.js";
import { createAccess } from "./panels/access.js";
import { createMyRuns } from "./panels/my_runs.js";
import { createJoin } from "./panels/join.js";
import { createSetupNotice } from "./panels/setup_notice.js";
import { createPacer } from "./pacer.js";

const FPS = 30;
// Params of a big network are large frames: their rate drops so a frame stays about this many numbers/s.
const PARAM_NUMBERS_PER_S = 600_000;
// The dashboard draws the boundary and heatmaps itself (live_grids.js): the server computes no grids.
const VIEW = { type: "view", grid: false, neurons: false, params: true };

// Whether streamed params have the shape of a network of these layer sizes (inputs first).
const paramsFit = (params, sizes) =>
  Boolean(params) && params.layers.length === sizes.length - 1 && params.layers.every((layer, l) => layer.W.length === sizes[l] && layer.b.length === sizes[l + 1]);

const url = readUrl();
const ownChanges = createOwnChanges();
let configQueue = Promise.resolve();
const stats = { framesReceived: 0, draws: 0, historyPoints: 0, drawMsTotal: 0, drawMsMax: 0 };
const pendingDraws = new Set();

async function main() {
  const page = await startPage();
  const app = Object.assign(page, {
    state: { run: null, params: null, grid: null, points: null, history: new MetricHistory() },
    hidden: url.hidden,
    socket: null,
    connection: "connecting",

    send(message) {
      if (app.socket && app.socket.send(message)) return true;
      app.emit("error", t("error.offline"));
      return false;
    },

    // PATCH any part of the config; a rebuild also brings a fresh `state` over the socket. Changes go one
    // at a time, in order, so quick successive edits cannot overtake each other on the server. A refusal
    // is shown in words and the controls go back to the values in force. `patch` may be a function of the
    // run as it stands when the change's turn comes (for edits built on the previous one, such as added
    // points), or a File: a CSV the server makes the run's data.
    setConfig(patch) {
      const sendPatch = async () => {
        const id = app.state.run.id;
        const body = patch instanceof File || typeof patch !== "function" ? patch : patch(app.state.run);
        const done = ownChanges.sending(id, body);
        try {
          const run = await (body instanceof File ? api.uploadCsv(id, body) : api.patchRun(id, body));
          mergeRun(run);
          return run;
        } catch (error) {
          if (error.status === 403) app.emit("refused", { field: error.field, message: error.message });
          else app.emit("error", error.message);
          app.emit("run", app.state.run);
          throw error;
        } finally {
          done();
        }
      };
      const result = configQueue.then(sendPatch, sendPatch);
      configQueue = result.catch(() => null);
      return result;
    },

    translate: translateTree,
    togglePlay: () => pacer.toggle(),
    setSpeed: (steps) => pacer.setSpeed(steps),
    speedShown: () => pacer.shown(),

    requestDraw(draw) {
      if (!pendingDraws.size) requestAnimationFrame(drawFrame);
      pendingDraws.add(draw);
    },

    // The data's column, target and class names as the server keeps them with the run (names.js).
    columnNames: () => columnNames(app.state.run.resolved),
    hasClassNames: () => Boolean(app.state.run.resolved.class_names),
  });
  const pacer = createPacer(app);
  app.grids = createLiveGrids(app);

  function drawFrame() {
    const started = performance.now();
    const draws = [...pendingDraws];
    pendingDraws.clear();
    for (const draw of draws) {
      try {
        draw();
      } catch (error) {
        // One panel's failure must not stop the others (or the next frames) from drawing.
        console.error(error);
      }
    }
    const spent = performance.now() - started;
    stats.draws++;
    stats.drawMsTotal += spent;
    stats.drawMsMax = Math.max(stats.drawMsMax, spent);
  }

  // The settings of `run` that another page changed ({path, from, to, sibling}: by another tab of this
  // browser), not this page's own changes coming back over the socket.
  function changedElsewhere(config, run) {
    return changedSettings(config, run.config)
      .filter(({ path }) => !ownChanges.isPending(run.id, path))
      .map((change) => ({ ...change, sibling: ownChanges.bySibling(run.id, change.path, change.to) }));
  }

  // `fromState`: the server's own full picture (after a reset or rebuild the step may go back to 0).
  function mergeRun(run, fromState = false) {
    const current = app.state.run;
    // A REST answer can be older than the frames already shown: keep the newer progress.
    if (!fromState && current && current.id === run.id && current.step > run.step) {
      Object.assign(run, { step: current.step, epoch: current.epoch, status: current.status, latest: current.latest });
    }
    // Params of another run, or of this one before a layer, neuron or feature was added or removed, are not
    // the network now shown: the panels go without until this run's `state` brings its own.
    const stale = (current && current.id !== run.id) || !paramsFit(app.state.params, run.resolved.sizes);
    if (app.state.params && stale) app.state.params = null;
    const elsewhere = current && current.id === run.id ? changedElsewhere(current.config, run) : [];
    app.state.run = run;
    if (elsewhere.length) app.emit("setup-changed", { changes: elsewhere, run });
    app.emit("run", run);
    saveUrl();
  }

  function saveUrl() {
    const run = app.state.run;
    writeUrl({
      runId: run && run.id,
      lang: language() === "en" ? null : language(),
      hidden: app.hidden,
      projector: app.projector,
      config: run ? run.config : url.config,
    });
  }

  function frameRate(run) {
    const numbers = run.resolved.sizes.slice(1).reduce((sum, size, l) => sum + 2 * size * (run.resolved.sizes[l] + 1), 0);
    return Math.max(2, Math.min(FPS, Math.floor(PARAM_NUMBERS_PER_S / numbers)));
  }

  async function onState(message) {
    app.state.history.load(message.history);
    app.state.params = message.params;
    app.state.points = message.points;
    app.state.grid = null;
    mergeRun(message.run, true);
    app.socket.send({ type: "fps", fps: frameRate(message.run) });
    app.grids.schedule();
    if (!message.points) {
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
    if ("learning" in message) run.learning = message.learning;
    run.resolved.lr = message.lr;
    if (message.lr_next) run.resolved.lr_next = message.lr_next;
    app.state.history.append(message.metrics);
    stats.historyPoints = app.state.history.length;
    if (message.params) {
      app.state.params = message.params;
      app.grids.schedule();
    }
    app.emit("frame", message);
  }

  function onMessage(message) {
    if (message.type === "state") onState(message);
    else if (message.type === "frame") onFrame(message);
    else if (message.type === "run") mergeRun(message.run);
    else if (message.type === "error") {
      if (app.isRefusal(message)) app.emit("refused", { field: message.field, message: null });
      else app.emit("error", describeError(message));
    } else if (message.type === "ack") {
      if (message.of === "auth" && message.role === "owner") rememberRun(app.state.run.id);
      app.emit("ack", message);
    }
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
    app.role = null; // until this run's socket says otherwise (panels/access.js)
    app.state.run = run;
    saveUrl();
    app.socket = new RunSocket(run.id, {
      onMessage,
      onOpen: () => {
        app.socket.send(VIEW);
        app.socket.send({ type: "fps", fps: frameRate(app.state.run) });
      },
      onStatus: async (status) => {
        app.connection = status;
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

  // Another run in this page (My runs, a fork, joining a class): its socket, controls and URL.
  app.openRun = (run) => {
    mergeRun(run, true);
    connect(run);
  };
  // A run was deleted here; if it was the open one, go on with this browser's last (or newest, or a new) run.
  app.runDeleted = async (id) => {
    forgetRun(id);
    if (app.state.run.id === id) app.openRun(await lastOrNewRun());
  };

  async function openOnLoad() {
    if (url.join !== null) {
      const joined = await join.ask(url.join);
      if (joined) return joined;
    }
    if (url.runId) {
      try {
        return await api.getRun(url.runId);
      } catch (error) {
        app.emit("error", error.status === 404 ? t("error.run_missing", { id: url.runId }) : error.message);
      }
    }
    if (!Object.keys(url.config).length) return lastOrNewRun();
    try {
      return await api.createRun(url.config);
    } catch (error) {
      if (error.status === 429) {
        app.emit("error", error.message);
        return lastOrNewRun();
      }
      app.emit("error", t("error.bad_url_config", { reason: error.message }));
      return api.createRun({ seed: url.config.seed ?? 0 });
    }
  }

  function bindKeyboard() {
    document.addEventListener("keydown", (event) => {
      if (isTyping(event.target) || event.ctrlKey || event.metaKey || event.altKey || !app.mayControl()) return;
      if (event.key === " " && !(event.target instanceof HTMLButtonElement) && !app.hidden.includes("play")) {
        event.preventDefault();
        app.togglePlay();
      } else if ((event.key === "s" || event.key === "S") && !app.hidden.includes("step")) {
        app.send({ type: "step", steps: 1 });
      }
    });
  }

  createPanelMenu(app);
  createStatus(app);
  createControls(app);
  createData(app);
  const network = createNetwork(app);
  createOutput(app);
  createCurves(app);
  createDownloads(app);
  createAccess(app);
  createMyRuns(app);
  const join = createJoin(app);
  createSetupNotice(app);
  translateTree(document); // the panels' own rows and options
  bindKeyboard();
  app.on("language", saveUrl);
  app.on("projector", saveUrl);
  app.on("panels", saveUrl);
  // For the browser tests and the benchmark: frame counters, grid work and where the network draws things.
  window.backproplab = { stats, network, grids: app.grids.stats, app, charts: app.charts };
  const run = await openOnLoad();
  mergeRun(run);
  connect(run);
}

main().catch((error) => console.error(error));
