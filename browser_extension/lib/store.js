// Everything the extension keeps, in extension storage (never in a page's storage):
// settings, the history of sent reports with their receipt tokens, and the send queue.
import { DEFAULT_BACKEND_URL } from "../config.js";

const api = globalThis.browser ?? globalThis.chrome;

export const DEFAULT_SETTINGS = Object.freeze({
  backendUrl: DEFAULT_BACKEND_URL,
  token: "",
  language: "auto",
});

// History is for the user's own follow-up; past this many, the oldest drop off.
const MAX_HISTORY = 200;

export async function getSettings() {
  const { settings } = await api.storage.local.get("settings");
  return { ...DEFAULT_SETTINGS, ...(settings || {}) };
}

export async function saveSettings(changes) {
  const current = await getSettings();
  const next = { ...current, ...changes };
  next.backendUrl = String(next.backendUrl || DEFAULT_BACKEND_URL).replace(/\/+$/, "");
  await api.storage.local.set({ settings: next });
  return next;
}

export async function getHistory() {
  const { history } = await api.storage.local.get("history");
  return history || [];
}

export async function addHistory(entry) {
  const history = await getHistory();
  history.unshift(entry);
  await api.storage.local.set({ history: history.slice(0, MAX_HISTORY) });
}

export async function updateHistory(reference, changes) {
  const history = await getHistory();
  const item = history.find((h) => h.reference === reference);
  if (item) Object.assign(item, changes);
  await api.storage.local.set({ history });
}

export async function getQueue() {
  const { queue } = await api.storage.local.get("queue");
  return queue || [];
}

export async function setQueue(queue) {
  await api.storage.local.set({ queue });
}
