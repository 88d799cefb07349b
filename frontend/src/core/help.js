// "?" buttons: each opens a short explanation, written for a student, next to the panel it explains.
import { t } from "../i18n/index.js";

export function createHelp(app) {
  const popover = document.getElementById("help-popover");
  const title = document.getElementById("help-title");
  const text = document.getElementById("help-text");
  let openFor = null;

  function close() {
    popover.hidden = true;
    if (openFor) openFor.setAttribute("aria-expanded", "false");
    openFor = null;
  }

  function render() {
    if (!openFor) return;
    const topic = openFor.dataset.help;
    title.textContent = t(`help.${topic}.title`);
    text.replaceChildren(...t(`help.${topic}.body`).split("\n\n").map((paragraph) => Object.assign(document.createElement("p"), { textContent: paragraph })));
  }

  for (const button of document.querySelectorAll("[data-help]")) {
    button.setAttribute("aria-expanded", "false");
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      if (openFor === button) return close();
      close();
      openFor = button;
      button.setAttribute("aria-expanded", "true");
      render();
      popover.hidden = false;
      const rect = button.getBoundingClientRect();
      const left = Math.min(rect.left, window.innerWidth - popover.offsetWidth - 8);
      const top = rect.bottom + popover.offsetHeight + 8 > window.innerHeight ? Math.max(8, rect.top - popover.offsetHeight - 6) : rect.bottom + 6;
      popover.style.left = `${Math.max(8, left)}px`;
      popover.style.top = `${top}px`;
    });
  }
  document.getElementById("help-close").addEventListener("click", close);
  document.addEventListener("keydown", (event) => event.key === "Escape" && close());
  document.addEventListener("click", (event) => !popover.contains(event.target) && close());
  app.on("language", render);
}
