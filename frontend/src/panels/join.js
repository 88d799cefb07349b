// Joining a class from the dashboard: a join link (?join=<code>, what the teacher's class page shows as
// a QR code) or "Join a class…" in the Runs menu. The student types the code (filled in from the link) and
// the name the teacher will see; POST /api/classes/{code}/join answers with a run of their own from the
// class's setup (the same run again if they had joined already), which the page then opens, with the
// settings the teacher locked disabled (panels/access.js).
import { t } from "../i18n/index.js";
import { api } from "../core/api.js";

export function createJoin(app) {
  const dialog = document.getElementById("join-dialog");
  const form = document.getElementById("join-form");
  const code = document.getElementById("join-code");
  const name = document.getElementById("join-name");
  const problem = document.getElementById("join-error");
  const submit = document.getElementById("join-submit");
  let settle = null;

  function finish(run) {
    const resolve = settle;
    settle = null;
    if (dialog.open) dialog.close();
    if (resolve) resolve(run);
  }

  // Resolves with the joined run, or null when the person cancels.
  function ask(prefill = "") {
    if (settle) finish(null);
    return new Promise((resolve) => {
      settle = resolve;
      code.value = prefill;
      problem.hidden = true;
      dialog.showModal();
      (prefill ? name : code).focus();
    });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!name.value.trim()) {
      // The teacher tells students apart by name: only spaces (which the field's `required` lets through)
      // would join without one.
      problem.textContent = t("error.field_sentence", { field: t("join.name"), reason: t("error.reason.required") });
      problem.hidden = false;
      name.focus();
      return;
    }
    submit.disabled = true;
    try {
      const run = await api.joinClass(code.value.trim(), name.value.trim());
      app.emit("notice", t("join.joined", { class: run.class ? run.class.name || run.class.code : code.value }));
      finish(run);
    } catch (error) {
      problem.textContent = error.message;
      problem.hidden = false;
      if (error.status === 429) app.emit("my-runs");
    } finally {
      submit.disabled = false;
    }
  });
  document.getElementById("join-cancel").addEventListener("click", () => finish(null));
  dialog.addEventListener("close", () => finish(null));
  document.getElementById("join-class").addEventListener("click", async () => {
    const run = await ask();
    if (run) app.openRun(run);
  });

  return { ask };
}
