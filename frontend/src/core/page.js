// The one bootstrap of every page (dashboard, Learn, landscape): an event bus, the toast surface, the
// language (?lang=, the #language menu, en/zh catalogues), projector mode (?projector=1, the #projector
// toggle: larger type for a room), the "?" help popovers, and the server's choices.
//   const page = await startPage();  page.on/emit, page.error(message), page.params (the URL's query).
import { LANGUAGES, language, setLanguage, translateTree } from "../i18n/index.js";
import { createBus } from "./bus.js";
import { createToasts } from "./toasts.js";
import { createHelp } from "./help.js";
import { loadChoices } from "./choices.js";

// Sets (or, for null, removes) query parameters of the address bar without reloading.
export function setUrlParams(values) {
  const url = new URL(location.href);
  for (const [key, value] of Object.entries(values)) {
    if (value === null || value === undefined || value === "") url.searchParams.delete(key);
    else url.searchParams.set(key, value);
  }
  history.replaceState(null, "", `${url.pathname}?${url.searchParams.toString().replace(/%2C/g, ",")}`);
}

function bindLanguage(page) {
  const select = document.getElementById("language");
  const requested = page.params.get("lang");
  setLanguage(LANGUAGES.includes(requested) ? requested : "en");
  translateTree(document);
  select.value = language();
  select.addEventListener("change", () => {
    setLanguage(select.value);
    setUrlParams({ lang: language() === "en" ? null : language() });
    page.emit("language", language());
  });
}

function bindProjector(page) {
  const toggle = document.getElementById("projector");
  const apply = (on) => {
    document.body.classList.toggle("projector", on);
    toggle.setAttribute("aria-pressed", String(on));
    page.projector = on;
  };
  apply(page.params.get("projector") === "1");
  toggle.addEventListener("click", () => {
    apply(!page.projector);
    setUrlParams({ projector: page.projector ? "1" : null });
    page.emit("projector", page.projector);
  });
}

// The type size of the numbers and names on canvas charts' axes, which the page's CSS cannot reach: 12 px,
// and 17 px in projector mode (read from the back of a room).
export const chartFontPx = (projector) => (projector ? 17 : 12);

export async function startPage() {
  const bus = createBus();
  const page = {
    ...bus,
    params: new URLSearchParams(location.search),
    projector: false,
    error: (message) => bus.emit("error", message),
    notice: (message) => bus.emit("notice", message),
  };
  createToasts(page, document.getElementById("toasts"));
  bindLanguage(page);
  bindProjector(page);
  if (document.getElementById("help-popover")) createHelp(page);
  try {
    await loadChoices();
  } catch (error) {
    page.error(error.message);
    throw error;
  }
  return page;
}
