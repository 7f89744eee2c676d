// User-visible strings. chrome.i18n follows the browser's language and cannot be switched
// at run time, so when the user picks a language in the options we read that locale's
// messages.json ourselves; otherwise chrome.i18n answers.
import { getSettings } from "./store.js";

const api = globalThis.browser ?? globalThis.chrome;
export const LANGUAGES = ["en", "fr", "es"];
let chosen = null; // messages of the chosen locale, or null for the browser's

export async function loadLanguage() {
  const { language } = await getSettings();
  chosen = null;
  if (LANGUAGES.includes(language)) {
    const response = await fetch(api.runtime.getURL(`_locales/${language}/messages.json`));
    chosen = await response.json();
  }
  return language;
}

export function t(key, ...substitutions) {
  const entry = chosen && chosen[key];
  if (!entry) return api.i18n.getMessage(key, substitutions.map(String)) || key;
  // The same placeholder rules as chrome.i18n: $NAME$ → its content, $1 → substitution.
  let message = entry.message.replace(/\$([A-Za-z0-9_@]+)\$/g, (whole, name) => {
    const holder = entry.placeholders && entry.placeholders[name.toLowerCase()];
    return holder ? holder.content : whole;
  });
  message = message.replace(/\$(\d)/g, (whole, n) => String(substitutions[Number(n) - 1] ?? ""));
  return message;
}

/** Fills every [data-i18n] element's text and [data-i18n-placeholder|title] attributes. */
export function localise(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
  const lang = chosen ? document.documentElement.lang : api.i18n.getUILanguage();
  if (!chosen && lang) document.documentElement.lang = lang;
}

export function setDocumentLanguage(language) {
  if (LANGUAGES.includes(language)) document.documentElement.lang = language;
}
