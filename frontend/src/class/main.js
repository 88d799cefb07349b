// The teacher's class page (class.html). Without ?class=<id>: start a class (a name, the setup students
// start from, which controls they may change; the setup comes filled in from the link the dashboard's
// "Teach a class" opens) or reopen one of this teacher's classes. With ?class=<id> (the teacher's handle;
// it grants nothing without the teacher's token, and any other browser is told so): the join code large
// with a QR code of the join link, the live gallery of every student's run, the leaderboard, the
// spotlight, pushing a new setup or new locks to the whole class, the CSV export, "Use on another
// computer" (the teacher's key, to open the class on the projector's computer) and ending the class. In
// another browser the page says it cannot open the class there and offers "I have a key" (panels/key.js):
// with the teacher's key the page opens again, as the teacher. The class is re-read every POLL_MS (GET
// /api/classes/{id}: new students, names, numbers); pictures stream over each run's socket. While that
// poll cannot reach the server, a strip under the top bar says so and the cards and leaderboard show as
// stale (a toast over the page, with every card still marked ▶ playing, looked live); a poll that gets
// through clears it.
import { api } from "../core/api.js";
import { setUrlParams, startPage } from "../core/page.js";
import { el, saveBlob } from "../dom.js";
import { t, tPlural } from "../i18n/index.js";
import { joinUrl, readUrl } from "../url_state.js";
import { twoStep } from "../panels/my_runs.js";
import { createKeyDialogs } from "../panels/key.js";
import { DEFAULT_ALLOWED, createLocksForm, createSetupForm } from "./setup_form.js";
import { drawQr } from "./qr.js";
import { createGallery } from "./gallery.js";
import { createLeaderboard } from "./leaderboard.js";
import { createSpotlight } from "./spotlight.js";

const POLL_MS = 2500;
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
const $ = (id) => document.getElementById(id);

// A URL in pieces cut after each path slash and before the query, each piece kept whole on its line
// (class.css .url-part), so a narrow card wraps it as "http://host:8000/" "index.html" "?join=CODE".
function breakableUrl(url) {
  return url.split(/(?<=[^/]\/)(?!\/)|(?=\?)/).map((part) => el("span", { class: "url-part" }, part));
}

function showView(name) {
  for (const view of ["create", "unavailable", "live"]) $(`class-${view}`).hidden = name !== view;
}

async function start() {
  const page = await startPage();
  window.backproplabClass = page;
  const keys = createKeyDialogs(page, () => location.reload());
  $("show-key").addEventListener("click", keys.showKey);
  $("unavailable-key").addEventListener("click", keys.askKey);
  const classId = page.params.get("class");
  if (!classId) return creating(page);
  try {
    return live(page, await api.getClass(classId));
  } catch (error) {
    return unavailable(error);
  }
}

// The class of this link cannot be shown here: this browser is not its teacher's (403: "I have a key" makes
// it the teacher's), there is no such class (404), or the server cannot be reached. The page says so, with
// the ways on, instead of offering to start a class under the link.
function unavailable(error) {
  showView("unavailable");
  const text = $("unavailable-text");
  const notTeacher = error.status === 403 && error.field === "token";
  if (notTeacher) text.dataset.i18n = "access.not_teacher"; // follows the language menu
  text.textContent = error.message;
  $("unavailable-key").hidden = !notTeacher;
}

// Starting a class, or reopening one this teacher has.
async function creating(page) {
  showView("create");
  const base = readUrl().config;
  const setup = createSetupForm($("create-setup"), "create");
  const locks = createLocksForm($("create-allowed"), "create");
  setup.set(base);
  locks.set(DEFAULT_ALLOWED);
  $("create-from-link").hidden = !Object.keys(base).length;
  $("create-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!setup.check()) return; // each refused field says why beside it
    const submit = $("create-submit");
    submit.disabled = true;
    try {
      const group = await api.createClass({ name: $("create-name").value.trim() || null, config: setup.read(base), allowed: locks.read() });
      history.replaceState(null, "", `${location.pathname}?class=${encodeURIComponent(group.id)}`);
      setUrlParams({ lang: page.params.get("lang"), projector: page.projector ? "1" : null });
      live(page, group);
    } catch (error) {
      page.error(error.message);
    } finally {
      submit.disabled = false;
    }
  });
  try {
    const classes = await api.listClasses();
    $("my-classes").hidden = !classes.length;
    $("my-classes-list").replaceChildren(
      ...classes.reverse().map((group) =>
        el("li", {}, el("a", { href: `class.html?class=${encodeURIComponent(group.id)}` }, group.name || group.code), ` · ${group.code} · ${new Date(group.created * 1000).toLocaleString()}`),
      ),
    );
  } catch (error) {
    page.error(error.message);
  }
}

function live(page, group) {
  showView("live");
  const link = joinUrl(group.code);
  const gallery = createGallery($("gallery"), { onSelect: (entry) => spotlight.open(entry, gallery.entries().indexOf(entry)) });
  const leaderboard = createLeaderboard($("leaderboard"), { onSelect: (entry) => spotlight.open(entry, gallery.entries().indexOf(entry)) });
  const spotlight = createSpotlight(page, $("spotlight"));
  const setup = createSetupForm($("push-setup"), "push");
  const locks = createLocksForm($("push-allowed"), "push");
  let polling = null;
  let offlineSince = null; // when the poll last failed to reach the server, or null

  function renderOffline() {
    if (offlineSince) $("offline-text").textContent = t("class.offline", { time: offlineSince.toLocaleTimeString(document.documentElement.lang || "en") });
  }

  function setOffline(offline) {
    if (offline === (offlineSince !== null)) return;
    offlineSince = offline ? new Date() : null;
    $("offline-banner").hidden = !offline;
    $("class-live").dataset.offline = String(offline);
    gallery.setStale(offline);
    renderOffline();
  }

  function renderHeader() {
    $("class-name").textContent = group.name || "";
    $("class-code").textContent = group.code;
    $("join-link").replaceChildren(...breakableUrl(link));
    $("join-link").href = link;
    $("local-warning").hidden = !LOCAL_HOSTS.has(location.hostname);
    const box = $("qr-box");
    drawQr($("join-qr"), link, Math.min(box.clientWidth, box.clientHeight || box.clientWidth));
  }

  function renderStudents() {
    const students = group.students || [];
    gallery.update(students);
    leaderboard.update(gallery.entries());
    $("student-count").textContent = tPlural("class.students", students.length, { n: students.length });
    $("gallery-empty").hidden = students.length > 0;
  }

  async function refresh() {
    try {
      group = await api.getClass(group.id);
      setOffline(false);
      renderStudents();
    } catch (error) {
      if (error.status === 0) return setOffline(true); // the strip says so, not a toast every poll
      page.error(error.message);
      if (error.status === 404) stop();
    }
  }
  const stop = () => clearInterval(polling);
  setInterval(() => leaderboard.render(), 1000); // the live numbers the cards' sockets bring
  const poll = () => {
    stop();
    if (!document.hidden) polling = setInterval(refresh, POLL_MS);
  };

  $("push-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!setup.check()) return; // each refused field says why beside it; nothing is sent
    const config = setup.changes(group.config);
    if (!Object.keys(config).length) return page.notice(t("class.nothing_to_push"));
    try {
      group = await api.patchClass(group.id, { config });
      const { runs, failed } = group.pushed;
      page.notice(tPlural("class.pushed", runs, { n: runs }));
      if (failed.length) page.error(t("class.push_failed", { n: failed.length, reason: failed[0].reason }));
      setup.set(group.config);
      renderStudents();
    } catch (error) {
      page.error(error.message);
    }
  });
  $("locks-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      group = await api.patchClass(group.id, { allowed: locks.read() });
      locks.set(group.allowed);
      page.notice(t("class.locks_saved"));
      renderStudents();
    } catch (error) {
      page.error(error.message);
    }
  });
  $("export-csv").addEventListener("click", async () => {
    try {
      saveBlob(await api.exportClass(group.id), `class-${group.code}.csv`);
    } catch (error) {
      page.error(error.message);
    }
  });
  $("class-actions").append(
    twoStep("class.end", "class.end_confirm", async () => {
      try {
        await api.deleteClass(group.id);
        stop();
        gallery.close();
        location.href = new URL("class.html", location.href).href;
      } catch (error) {
        page.error(error.message);
      }
    }, { id: "end-class", class: "danger" }),
  );

  setup.set(group.config);
  locks.set(group.allowed);
  renderHeader();
  renderStudents();
  poll();
  document.addEventListener("visibilitychange", () => (document.hidden ? stop() : (refresh(), poll())));
  new ResizeObserver(renderHeader).observe($("qr-box"));
  page.on("language", () => {
    renderOffline();
    renderHeader();
    renderStudents();
    leaderboard.relabel();
    gallery.redraw();
  });
}

start().catch((error) => console.error(error));
