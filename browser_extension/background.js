// The service worker: only wiring. Context menus open the report preview for the clicked
// tab; alarms and startup drain the queue of reports the backend did not take yet.
import { t, loadLanguage } from "./lib/i18n.js";
import { ALARM, discard, drain, proveWork, schedule, submitOrQueue } from "./lib/outbox.js";

const api = globalThis.browser ?? globalThis.chrome;
const MENU_LISTING = "wildflag-report-listing";
const MENU_IMAGE = "wildflag-report-image";

async function createMenus() {
  await loadLanguage();
  await api.contextMenus.removeAll();
  api.contextMenus.create({ id: MENU_LISTING, title: t("menuReportListing"), contexts: ["page", "selection"] });
  api.contextMenus.create({ id: MENU_IMAGE, title: t("menuReportImage"), contexts: ["image"] });
}

/**
 * Opens the preview for the clicked tab in a small window (the toolbar popup cannot be
 * opened from a menu in every browser). The click granted activeTab, which the preview
 * window uses to read the page.
 */
async function onMenuClick(info, tab) {
  if (!tab || tab.id === undefined) return null;
  const params = new URLSearchParams({ tab: String(tab.id) });
  if (info.menuItemId === MENU_IMAGE && info.srcUrl && !info.srcUrl.startsWith("data:")) {
    params.set("src", info.srcUrl);
  }
  if (info.selectionText) params.set("selection", info.selectionText.slice(0, 2000));
  return api.windows.create({
    url: api.runtime.getURL(`popup.html?${params}`),
    type: "popup",
    width: 460,
    height: 760,
  });
}

async function onMessage(message) {
  switch (message && message.type) {
    case "submit":
      return submitOrQueue(message.envelope);
    case "retry-now":
      return drain({ force: true });
    case "discard":
      await discard(message.id);
      return { ok: true };
    case "language-changed":
      await createMenus();
      return { ok: true };
    default:
      return undefined;
  }
}

api.runtime.onInstalled.addListener(() => {
  createMenus();
  schedule();
});
api.runtime.onStartup.addListener(() => {
  drain();
});
api.contextMenus.onClicked.addListener((info, tab) => {
  onMenuClick(info, tab);
});
api.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === ALARM) drain();
});
api.runtime.onMessage.addListener((message, sender, sendResponse) => {
  // Only our own pages talk to the worker (no externally_connectable, no content script).
  if (sender.id !== api.runtime.id) return false;
  onMessage(message).then(sendResponse, (error) => sendResponse({ refused: String(error) }));
  return true; // the answer is asynchronous
});

// For tests and debugging from the worker console: native menus cannot be clicked by a driver.
globalThis.wildflag = { onMenuClick, drain, createMenus, submitOrQueue, proveWork, MENU_LISTING, MENU_IMAGE };
