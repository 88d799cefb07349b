// The landscape page: the optimizer race on test functions and, for ?run=<id>, that run's own loss
// landscape. ?lang=zh picks the language, as on the dashboard.
import { LANGUAGES, language, onLanguageChange, setLanguage, translateTree } from "../i18n/index.js";
import { el } from "../dom.js";
import { createRaceView } from "./race_view.js";
import { createNetworkView } from "./network_view.js";

const NOTICE_MS = 6000;
const params = new URLSearchParams(location.search);

function notify(message) {
  const toast = el("div", { class: "toast error", role: "alert" }, el("span", {}, message));
  document.getElementById("toasts").append(toast);
  setTimeout(() => toast.remove(), NOTICE_MS);
}

const race = createRaceView(document.getElementById("race-panel"), notify);
const network = createNetworkView(document.getElementById("net-panel"), notify);

const select = document.getElementById("language");
translateTree(document);
setLanguage(LANGUAGES.includes(params.get("lang")) ? params.get("lang") : "en");
select.value = language();
select.addEventListener("change", () => setLanguage(select.value));
onLanguageChange(() => {
  const url = new URL(location.href);
  url.searchParams.set("lang", language());
  history.replaceState(null, "", url);
  race.relabel();
  network.relabel();
});

race.start().catch((error) => notify(error.message));
network.start(params.get("run")).catch((error) => notify(error.message));
