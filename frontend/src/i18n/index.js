// Message catalogues and the one function that turns a key into text in the current language.
import en from "./en.js";
import zh from "./zh.js";
import landscapeEn from "./landscape_en.js";
import landscapeZh from "./landscape_zh.js";
import teachEn from "./teach_en.js";
import teachZh from "./teach_zh.js";
import classEn from "./class_en.js";
import classZh from "./class_zh.js";

const CATALOGUES = { en: { ...en, ...landscapeEn, ...teachEn, ...classEn }, zh: { ...zh, ...landscapeZh, ...teachZh, ...classZh } };
export const LANGUAGES = Object.keys(CATALOGUES);

let current = "en";

export function language() {
  return current;
}

export function setLanguage(lang) {
  const next = CATALOGUES[lang] ? lang : "en";
  if (next === current) return;
  current = next;
  document.documentElement.lang = next === "zh" ? "zh-CN" : "en";
  translateTree(document);
}

// t("curves.train_loss") or t("error.http", {status: 404}); falls back to English, then to the key.
export function t(key, vars) {
  return tOr(key, key, vars);
}

// As t, with `fallback` for a key no catalogue has (a choice the server added before its label).
export function tOr(key, fallback, vars) {
  const text = CATALOGUES[current][key] ?? CATALOGUES.en[key] ?? fallback;
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in vars ? String(vars[name]) : match));
}

// A text that depends on a count: the catalogues hold one key per CLDR plural category the language
// uses ("class.students.one", "class.students.other"; Chinese has only "other", but keeps the English keys
// so the twins match), and Intl.PluralRules picks one. tPlural("class.students", 1, {n: 1}).
export function tPlural(key, count, vars) {
  const category = new Intl.PluralRules(current === "zh" ? "zh-CN" : current).select(count);
  const chosen = `${key}.${category}`;
  return t((CATALOGUES[current][chosen] ?? CATALOGUES.en[chosen]) !== undefined ? chosen : `${key}.other`, vars);
}

// Elements say what they need: data-i18n (text; data-i18n-fallback when the key may be missing), data-i18n-title, data-i18n-aria, data-i18n-placeholder.
export function translateTree(root) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = tOr(node.dataset.i18n, node.dataset.i18nFallback ?? node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-title]")) node.title = t(node.dataset.i18nTitle);
  for (const node of root.querySelectorAll("[data-i18n-aria]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nAria));
  }
  for (const node of root.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  document.title = t("app.title");
}
