// Options: the backend's address (default from config.js), an optional officer token and
// the language. A backend outside the manifest's loopback host permissions is asked for
// with permissions.request (optional_host_permissions), from the Save click's user gesture.
import { loadLanguage, localise, setDocumentLanguage, t } from "./lib/i18n.js";
import { getSettings, saveSettings } from "./lib/store.js";

const api = globalThis.browser ?? globalThis.chrome;
const $ = (id) => document.getElementById(id);
// Hosts the manifest's host_permissions cover on every port.
const LOOPBACK = ["127.0.0.1", "localhost"];

function originPattern(url) {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.hostname}/*`;
}

async function save(event) {
  event.preventDefault();
  const status = $("options-status");
  const backendUrl = $("backend-url").value.trim();
  let pattern;
  try {
    if (!/^https?:\/\//i.test(backendUrl)) throw new Error("scheme");
    pattern = originPattern(backendUrl);
  } catch {
    status.textContent = t("invalidUrl");
    status.className = "error";
    return;
  }
  // The manifest already grants loopback; anything else is asked for here, before any other
  // await, while the Save click still counts as a user gesture (Firefox insists on it).
  const host = new URL(backendUrl).hostname;
  const granted = LOOPBACK.includes(host) ||
    (await api.permissions.request({ origins: [pattern] }).catch(() => false));
  if (!granted) {
    status.textContent = t("permissionDenied");
    status.className = "error";
    return;
  }
  const previous = await getSettings();
  const settings = await saveSettings({
    backendUrl,
    token: $("token").value.trim(),
    language: $("language").value,
  });
  if (settings.language !== previous.language) {
    await loadLanguage();
    setDocumentLanguage(settings.language);
    localise();
    await api.runtime.sendMessage({ type: "language-changed" });
  }
  status.textContent = t("saved");
  status.className = "";
}

async function main() {
  const language = await loadLanguage();
  setDocumentLanguage(language);
  localise();
  const settings = await getSettings();
  $("backend-url").value = settings.backendUrl;
  $("token").value = settings.token;
  $("language").value = settings.language;
  $("options-form").addEventListener("submit", save);
  document.body.dataset.ready = "true";
}

main();
