// Play speed. "Full speed" lets the server train flat out (play/pause on the server). A number N makes
// the browser ask for N steps per tick instead, 30 ticks a second, so a person can watch each update.
const TICK_MS = 1000 / 30;

export function createPacer(app) {
  let stepsPerTick = 0; // 0 = full speed on the server
  let playing = false; // the browser-paced loop is on
  let waiting = false; // a step request has not been acknowledged yet
  let timer = null;

  function tick() {
    timer = null;
    if (!playing) return;
    if (app.state.run.status === "diverged") return stop();
    if (!waiting) waiting = app.send({ type: "step", steps: stepsPerTick });
    timer = setTimeout(tick, TICK_MS);
  }

  function start() {
    playing = true;
    waiting = false;
    if (app.state.run.status === "running") app.send({ type: "pause" });
    tick();
    app.emit("pacer");
  }

  function stop() {
    playing = false;
    clearTimeout(timer);
    timer = null;
    app.emit("pacer");
  }

  app.on("ack", (ack) => {
    if (ack.of === "step") waiting = false;
  });
  app.on("error", () => (waiting = false));
  app.on("connection", (status) => status !== "open" && playing && stop());

  app.isPlaying = () => playing || (app.state.run && app.state.run.status === "running");

  return {
    toggle() {
      if (stepsPerTick === 0) {
        app.send({ type: app.state.run.status === "running" ? "pause" : "play" });
      } else if (playing) stop();
      else start();
    },
    setSpeed(steps) {
      const wasPlaying = app.isPlaying();
      if (playing) stop();
      else if (app.state.run.status === "running") app.send({ type: "pause" });
      stepsPerTick = steps;
      if (!wasPlaying) return;
      if (steps === 0) app.send({ type: "play" });
      else start();
    },
  };
}
