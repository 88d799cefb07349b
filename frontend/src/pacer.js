// Play speed. "Full speed" plays the run flat out; "N steps / frame" plays it at a pace a person can
// follow, 30·N steps a second. Either way the server plays the run (`play`, with `steps_per_second` for a
// pace), so every watcher (another tab, a watch link, the class page) sees it running, at that pace, and
// the speed shown follows the pace the run plays at, whoever set it.
const FRAMES_PER_SECOND = 30;

export function createPacer(app) {
  let stepsPerFrame = 0; // 0: full speed

  const play = () =>
    app.send(stepsPerFrame ? { type: "play", steps_per_second: stepsPerFrame * FRAMES_PER_SECOND } : { type: "play" });

  app.isPlaying = () => Boolean(app.state.run && app.state.run.status === "running");

  app.on("run", (run) => {
    if (run.status === "running") stepsPerFrame = (run.steps_per_second || 0) / FRAMES_PER_SECOND;
  });

  return {
    toggle() {
      if (app.isPlaying()) app.send({ type: "pause" });
      else play();
    },
    setSpeed(steps) {
      stepsPerFrame = steps;
      if (app.isPlaying()) play();
    },
    // The speed select's value for the pace the run plays at (its own choice while paused).
    shown: () => String(stepsPerFrame),
  };
}
