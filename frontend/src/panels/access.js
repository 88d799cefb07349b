// Who may change the open run, and what the page shows for it. The run socket's auth ack gives this
// browser's role on the run (core/socket.js): `owner`, `teacher` (of its class), `admin` or `watcher`.
//   watcher: watch mode. Every control is disabled, a banner says whose run this is, and Fork makes a
//            copy of one's own (POST /api/runs/{id}/fork) that the page then opens.
//   owner of a class run: the settings its teacher did not leave open (`run.class.allowed`, dotted
//            RunConfig paths, a path allowing everything below it) are disabled and marked with a padlock.
//   teacher, admin, owner of any other run: everything may change.
// Controls name the setting they change with data-setting (form.js, index.html); an empty data-setting
// means "any change" (a one-click fix). A change the server refuses anyway (403: the locks moved on while
// the page was open) is marked "locked by your teacher" beside that control, or explained as watch mode.
import { el } from "../dom.js";
import { t } from "../i18n/index.js";
import { api } from "../core/api.js";
import { fieldInWords } from "../core/errors.js";

const NOTE_MS = 6000;

// The server's rule (classes/locks.py is_allowed): null allows everything, a path allows what is below it.
export function isAllowed(path, allowed) {
  return allowed === null || allowed === undefined || allowed.some((entry) => path === entry || path.startsWith(`${entry}.`));
}

export function createAccess(app) {
  const banner = document.getElementById("access-banner");
  const text = document.getElementById("access-text");
  const fork = document.getElementById("fork");
  const chip = document.getElementById("class-chip");
  app.role = null;

  const classOf = () => (app.state.run && app.state.run.class) || null;
  app.mayControl = () => app.role !== null && app.role !== "watcher";
  app.may = (path) => {
    if (!app.mayControl()) return false;
    if (app.role !== "owner") return true;
    const group = classOf();
    return !group || isAllowed(path, group.allowed);
  };
  const lockedByClass = (path) => app.role === "owner" && !app.may(path);

  function apply() {
    document.body.dataset.role = app.role || "unknown";
    for (const node of document.querySelectorAll("[data-setting]")) {
      const setting = node.dataset.setting;
      const off = setting ? !app.may(setting) : !app.mayControl();
      const inputs = node.matches("input, select, button") ? [node] : node.querySelectorAll("input, select, button");
      for (const input of inputs) input.disabled = off;
      node.classList.toggle("disabled", off);
      const locked = Boolean(setting) && lockedByClass(setting);
      node.classList.toggle("locked", locked); // app.css draws the padlock
      if (locked) node.title = t("access.locked");
      else if (node.title === t("access.locked")) node.removeAttribute("title");
    }
    renderBanner();
  }

  function renderBanner() {
    const run = app.state.run;
    const group = classOf();
    const name = (run && run.name) || t(group ? "access.a_student" : "access.someone");
    let kind = null;
    if (app.role === "watcher") kind = "watch";
    else if (app.role === "teacher") kind = "teacher";
    banner.hidden = kind === null;
    banner.dataset.kind = kind || "";
    fork.hidden = kind !== "watch";
    if (kind === "watch") text.textContent = t("access.watching", { name });
    else if (kind === "teacher") text.textContent = t("access.teacher", { name, class: group.name || group.code });
    // A student's own run in a class: a chip in the training panel's header (a banner would take a row
    // from every panel for the whole lesson); its title says what the padlocks mean.
    const student = app.role === "owner" && group !== null;
    chip.hidden = !student;
    if (student) {
      chip.textContent = t("access.class_chip", { class: group.name || group.code });
      chip.title = t(group.allowed === null ? "access.student_open" : "access.student", { class: group.name || group.code });
      chip.dataset.locks = String(group.allowed !== null);
    }
  }

  // A refusal: 403 from a REST change, or a WebSocket error frame (`field` names what was refused).
  function refused({ field, message }) {
    if (field === "token") {
      app.emit("error", t("access.not_yours"));
      banner.hidden = false;
      return;
    }
    const row = rowOf(field);
    if (row) {
      let note = row.querySelector(":scope > .lock-note");
      if (!note) {
        note = el("div", { class: "lock-note", role: "alert" });
        row.append(note);
      }
      note.textContent = t("access.locked");
      note.hidden = false;
      clearTimeout(note.timer);
      note.timer = setTimeout(() => (note.hidden = true), NOTE_MS);
    }
    app.emit("error", message || t("access.locked_field", { field: fieldInWords(field) }));
  }

  // The control of `field`, or of the closest setting above or below it (optimizer.betas for optimizer.betas.0).
  function rowOf(field) {
    if (!field) return null;
    const rows = [...document.querySelectorAll("[data-setting]")].filter((node) => node.dataset.setting && node.offsetParent !== null);
    return rows.find((node) => node.dataset.setting === field) || rows.find((node) => field.startsWith(`${node.dataset.setting}.`)) || rows.find((node) => node.dataset.setting.startsWith(`${field}.`)) || null;
  }

  fork.addEventListener("click", async () => {
    fork.disabled = true;
    try {
      const copy = await api.forkRun(app.state.run.id);
      app.openRun(copy);
      app.emit("notice", t("access.forked"));
    } catch (error) {
      app.emit("error", error.message);
      if (error.status === 429) app.emit("my-runs");
    } finally {
      fork.disabled = false;
    }
  });

  // Is this WebSocket error a refusal (rather than a bad value)? Token refusals, and a setting the run's
  // class keeps locked.
  app.isRefusal = (message) => message.field === "token" || (Boolean(message.field) && classOf() !== null && !isAllowed(message.field, classOf().allowed) && app.role === "owner");

  app.on("ack", (ack) => {
    if (ack.of !== "auth") return;
    app.role = ack.role;
    app.emit("access", app.role);
  });
  app.on("refused", refused);
  app.on("access", apply);
  app.on("run", apply);
  app.on("language", apply);
  app.on("connection", (status) => {
    if (status === "open") return;
    app.role = null; // a new connection authenticates again
  });
  apply();
}
