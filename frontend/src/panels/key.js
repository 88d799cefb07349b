// Carrying this browser's identity (its bearer token: "your key") to another browser by hand, so a teacher
// who started a class on a laptop can open it on the projector's computer. Two dialogs, shared by the
// dashboard (My runs) and the class page:
// - "Use on another computer": the key in a read-only field, hidden until "Show", with Copy, and the warning
//   that whoever has it can change this person's runs and classes. It is shown only there: never in a URL,
//   a link or a QR code, and never logged.
// - "I have a key": a pasted key is checked with GET /api/identities/me, sent with that key, before it is
//   kept. A key the server does not know (401) changes nothing. When this browser's current key owns runs
//   or classes, replacing it asks once more, says they stay with that key, and offers to show it first.
//   Then the page opens again as the new identity (`reopen`).
import { el } from "../dom.js";
import { t, tPlural } from "../i18n/index.js";
import { api } from "../core/api.js";
import { ensureToken, storedToken, switchIdentity } from "../core/identity.js";

const WELL_FORMED = /^[\x21-\x7e]{1,200}$/; // identities/tokens.py well_formed: printable ASCII, no spaces

const text = (tag, key, props = {}) => el(tag, { ...props, dataset: { ...props.dataset, i18n: key } }, t(key));
const relabel = (node, key) => {
  node.dataset.i18n = key;
  node.textContent = t(key);
};

function dialogFrame(id, titleKey, ...body) {
  const close = el("button", { type: "button", class: "round", "aria-label": t("action.close"), dataset: { i18nAria: "action.close" } }, "×");
  const dialog = el(
    "dialog",
    { id, class: "dialog key-dialog", "aria-labelledby": `${id}-title` },
    el("header", {}, text("h2", titleKey, { id: `${id}-title` }), close),
    ...body,
  );
  close.addEventListener("click", () => dialog.close());
  document.body.append(dialog);
  return dialog;
}

function createShowKey(page) {
  const field = el("input", { id: "my-key", type: "password", readOnly: true, autocomplete: "off", spellcheck: false });
  const reveal = text("button", "key.reveal", { id: "reveal-key", type: "button" });
  const copy = text("button", "key.copy", { id: "copy-key", type: "button", class: "primary" });
  const note = el("p", { id: "key-copy-note", class: "hint", role: "status", hidden: true });
  const dialog = dialogFrame(
    "key-dialog",
    "key.show_title",
    text("p", "key.show_hint", { class: "hint" }),
    text("label", "key.field", { htmlFor: "my-key" }),
    el("div", { class: "key-row" }, field, reveal, copy),
    note,
    text("p", "key.warning", { class: "key-warning" }),
  );
  const shown = (on) => {
    field.type = on ? "text" : "password";
    relabel(reveal, on ? "key.conceal" : "key.reveal");
  };
  const say = (key) => {
    relabel(note, key);
    note.hidden = false;
  };

  reveal.addEventListener("click", () => shown(field.type === "password"));
  // The clipboard API needs a secure context (https or localhost); a classroom server on plain http gets the
  // key selected for Ctrl+C instead (execCommand copies a selection, and only of visible text).
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(field.value);
      return say("key.copied");
    } catch {
      const hidden = field.type === "password";
      shown(true);
      field.select();
      const copied = document.execCommand("copy");
      if (copied && hidden) shown(false);
      say(copied ? "key.copied" : "key.copy_by_hand");
    }
  });
  dialog.addEventListener("close", () => {
    field.value = "";
    shown(false);
    note.hidden = true;
  });

  return async () => {
    try {
      field.value = await ensureToken();
      dialog.showModal();
      copy.focus();
    } catch (error) {
      page.error(error.message);
    }
  };
}

// What this browser's current key owns: null when nothing (or no key), else the warning's words for it
// (a function: they follow the language menu), "1 run and 2 classes" in the page's language.
async function holdings() {
  if (!storedToken()) return null;
  const [me, classes] = await Promise.all([api.me(), api.listClasses()]);
  const counts = [["key.runs", me.runs], ["key.classes", classes.length]].filter(([, n]) => n > 0);
  if (!counts.length) return null;
  return () => {
    const owned = new Intl.ListFormat(document.documentElement.lang || "en", { type: "conjunction" }).format(counts.map(([key, n]) => tPlural(key, n, { n })));
    return t("key.replace_warning", { owned });
  };
}

function createAskKey(page, showKey, reopen) {
  const field = el("input", { id: "key-input", type: "password", autocomplete: "off", spellcheck: false, required: true });
  const problem = el("p", { id: "key-error", class: "field-error", role: "alert", hidden: true });
  const warning = el("p", { id: "key-replace-text" });
  const replace = el("div", { id: "key-replace", class: "key-replace", hidden: true }, warning, text("button", "key.show_old", { id: "show-old-key", type: "button", onclick: showKey }));
  const submit = text("button", "key.submit", { id: "key-submit", type: "submit", class: "primary" });
  const cancel = text("button", "key.cancel", { id: "key-cancel", type: "button" });
  const form = el(
    "form",
    { id: "use-key-form" },
    text("p", "key.use_hint", { class: "hint" }),
    text("label", "key.input", { htmlFor: "key-input" }),
    field,
    problem,
    replace,
    el("div", { class: "button-row" }, submit, cancel),
  );
  const dialog = dialogFrame("use-key-dialog", "key.use_title", form);
  let confirming = null; // the key whose replacing of the current one was asked about, and the words used

  function reset() {
    confirming = null;
    problem.hidden = true;
    replace.hidden = true;
    relabel(submit, "key.submit");
  }
  // The page's own words follow the language menu (data-i18n); the server's stay as they came.
  const fail = (key, message) => {
    if (key) relabel(problem, key);
    else {
      delete problem.dataset.i18n;
      problem.textContent = message;
    }
    problem.hidden = false;
  };

  field.addEventListener("input", reset);
  cancel.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    field.value = "";
    reset();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = field.value.replace(/\s+/g, ""); // a key has no spaces; a paste may bring a line break
    if (key === storedToken()) return fail("key.same");
    if (!WELL_FORMED.test(key)) return fail("key.unknown");
    submit.disabled = true;
    try {
      await api.identityOf(key);
      if (confirming?.key !== key) {
        const words = await holdings();
        if (words) {
          confirming = { key, words };
          warning.textContent = words();
          replace.hidden = false;
          relabel(submit, "key.replace");
          return;
        }
      }
      switchIdentity(key);
      reopen();
    } catch (error) {
      if (error.status === 401) fail("key.unknown");
      else fail(null, error.message);
    } finally {
      submit.disabled = false;
    }
  });
  page.on("language", () => confirming && (warning.textContent = confirming.words()));

  return () => {
    reset();
    dialog.showModal();
    field.focus();
  };
}

// { showKey(), askKey() }: open "Use on another computer" and "I have a key". reopen(): show the page again
// as the identity just adopted.
export function createKeyDialogs(page, reopen) {
  const showKey = createShowKey(page);
  return { showKey, askKey: createAskKey(page, showKey, reopen) };
}
