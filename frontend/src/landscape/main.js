// The landscape page: the optimizer race on test functions and, for ?run=<id>, that run's own loss
// landscape. The shared bootstrap (core/page.js) gives the bus, toasts, language and projector mode.
import { startPage } from "../core/page.js";
import { createRaceView } from "./race_view.js";
import { createNetworkView } from "./network_view.js";

async function start() {
  const page = await startPage();
  const race = createRaceView(document.getElementById("race-panel"), page.error);
  const network = createNetworkView(document.getElementById("net-panel"), page.error);
  page.on("language", () => {
    race.relabel();
    network.relabel();
  });
  race.start().catch((error) => page.error(error.message));
  network.start(page.params.get("run")).catch((error) => page.error(error.message));
}

start().catch((error) => console.error(error));
