// The transport in the top bar: play/pause, step, step an epoch, reset and speed (the pace the run plays
// at, pacer.js). Play shows ❚❚ only while the run is really playing and the server is reachable; while the connection is down, or when
// this browser only watches the run (panels/access.js), the transport is disabled.
import { t } from "../../i18n/index.js";
import { formatCount } from "../../dom.js";

export function createToolbar(app) {
  const play = document.getElementById("play");
  const transport = [...document.querySelectorAll(".transport button")];
  const stepsPerEpoch = () => {
    const { resolved, config } = app.state.run;
    return Math.max(1, Math.ceil(resolved.train_size / config.batch_size));
  };
  play.addEventListener("click", () => app.togglePlay());
  document.getElementById("step").addEventListener("click", () => app.send({ type: "step", steps: 1 }));
  document.getElementById("step-epoch").addEventListener("click", () => app.send({ type: "step", steps: stepsPerEpoch() }));
  document.getElementById("reset").addEventListener("click", () => app.send({ type: "reset" }));
  const speed = document.getElementById("speed");
  speed.addEventListener("change", () => app.setSpeed(Number(speed.value)));

  const stepCounter = document.getElementById("step-counter");
  const epochCounter = document.getElementById("epoch-counter");
  let shown = "";
  const render = () => {
    const run = app.state.run;
    if (!run) return;
    const online = app.connection === "open";
    const running = online && app.isPlaying();
    const label = t(running ? "action.pause" : "action.play");
    const control = online && app.mayControl();
    const pace = app.speedShown();
    const key = `${running}/${control}/${label}/${run.step}/${run.epoch}/${pace}`;
    if (key === shown) return;
    shown = key;
    for (const button of transport) button.disabled = !control;
    speed.disabled = !control;
    speed.value = pace;
    play.dataset.running = String(running);
    play.dataset.i18nAria = running ? "action.pause" : "action.play";
    play.setAttribute("aria-label", label);
    play.title = label;
    for (const [counter, count] of [[stepCounter, run.step], [epochCounter, run.epoch]]) {
      counter.textContent = formatCount(count);
      counter.dataset.count = String(count); // the exact figure (tests, and the tooltip)
      counter.title = count.toLocaleString(document.documentElement.lang || "en");
    }
  };
  for (const event of ["run", "frame", "language", "connection", "access"]) app.on(event, render);
}
