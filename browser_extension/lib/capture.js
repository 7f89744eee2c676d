// Reads the listing in one tab: injects content/extract.js (activeTab, or the host
// permission when the page is on the backend's host) and takes a screenshot of the visible
// tab. Nothing captured here leaves the browser unless the user sends it from the preview.
const api = globalThis.browser ?? globalThis.chrome;

let sitesCache = null;

async function sites() {
  if (!sitesCache) {
    const response = await fetch(api.runtime.getURL("sites/sites.json"));
    sitesCache = await response.json();
  }
  return sitesCache;
}

/** {fields, images, snapshot, sources, screenshot, error?} for the tab; fields at least url/title. */
export async function captureTab(tabId, hints = {}) {
  const tab = await api.tabs.get(tabId);
  let capture;
  try {
    await api.scripting.executeScript({ target: { tabId }, files: ["content/extract.js"] });
    const [result] = await api.scripting.executeScript({
      target: { tabId },
      func: (options) => globalThis.wildflagExtract.extractPage(options),
      args: [{ sites: await sites(), selectionText: hints.selectionText || "", srcUrl: hints.srcUrl || "" }],
    });
    capture = result.result;
    if (!capture) throw new Error("no result from the page");
  } catch (error) {
    // Browser pages, extension stores and PDFs cannot be scripted: the user fills the form.
    capture = {
      fields: { url: /^https?:/.test(tab.url || "") ? tab.url : "", title: tab.title || "" },
      images: [],
      snapshot: "",
      sources: {},
      error: String(error && error.message ? error.message : error),
    };
  }
  capture.screenshot = "";
  if (tab.active) {
    try {
      // JPEG at high quality: text stays legible at a fraction of a PNG's size, which
      // matters when the report has to wait in the (10 MB) queue.
      capture.screenshot = await api.tabs.captureVisibleTab(tab.windowId, { format: "jpeg", quality: 90 });
    } catch {
      // Not allowed on this page or window: the preview says no screenshot is available.
    }
  }
  return capture;
}
