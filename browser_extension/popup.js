// The report preview. Opened as the toolbar popup (the active tab), from a context menu in
// a small window (`?tab=ID`, plus `src` for "Report this image" and `selection`), or by a
// test as a page with `?tab=ID`. It shows exactly what will be sent, lets the user edit or
// remove every field and image, and hands the report to the service worker to send or queue.
import { analyze, reportStatus } from "./lib/api.js";
import { captureTab } from "./lib/capture.js";
import { loadLanguage, localise, setDocumentLanguage, t } from "./lib/i18n.js";
import { getHistory, getQueue, getSettings, updateHistory } from "./lib/store.js";

const api = globalThis.browser ?? globalThis.chrome;
const FIELDS = ["url", "title", "text", "price", "currency", "seller", "seller_location", "ships_to"];
const $ = (id) => document.getElementById(id);

const state = { capture: null, settings: null };

function element(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el) el[key] = value;
    else el.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) el.append(child);
  return el;
}

async function targetTab(params) {
  if (params.has("tab")) return Number(params.get("tab"));
  const [tab] = await api.tabs.query({ active: true, currentWindow: true });
  return tab ? tab.id : null;
}

function fillForm(capture) {
  for (const name of FIELDS) $(`f-${name}`).value = capture.fields[name] || "";
  const list = $("image-list");
  list.replaceChildren();
  capture.images.forEach((image, index) => {
    const readable = Boolean(image.dataUrl);
    const box = element("input", {
      type: "checkbox",
      checked: readable && image.preselect,
      disabled: !readable,
      dataset: { index: String(index) },
    });
    const caption = readable ? `${image.width || "?"}×${image.height || "?"}` : t("imageUnreadable");
    list.append(
      element(
        "li",
        { className: readable ? "" : "unreadable", dataset: { src: image.src } },
        element("label", {}, element("img", { src: readable ? image.dataUrl : "", alt: "" }), box, ` ${caption}`),
      ),
    );
  });
  $("images-none").hidden = capture.images.length > 0;
  $("screenshot-preview").hidden = !capture.screenshot;
  if (capture.screenshot) $("screenshot-preview").src = capture.screenshot;
  $("screenshot-none").hidden = Boolean(capture.screenshot);
  $("f-screenshot").disabled = !capture.screenshot;
  $("snapshot-row").hidden = !capture.snapshot;
}

/** The report exactly as the form shows it: empty fields and unticked images are left out. */
function collectEnvelope() {
  const report = { channel: "extension" };
  for (const name of [...FIELDS, "reporter_country", "notes"]) {
    let value = $(`f-${name}`).value.trim();
    if (name === "currency" || name === "reporter_country") value = value.toUpperCase();
    if (value) report[name] = value;
  }
  const images = [];
  for (const box of document.querySelectorAll("#image-list input:checked")) {
    const image = state.capture.images[Number(box.dataset.index)];
    images.push({ dataUrl: image.dataUrl, src: image.src });
  }
  return {
    id: crypto.randomUUID(),
    created_at: new Date().toISOString(),
    report,
    images: images.map((i) => ({ dataUrl: i.dataUrl })),
    screenshot: $("f-screenshot").checked ? state.capture.screenshot : "",
    snapshot: $("f-snapshot").checked ? state.capture.snapshot : "",
    // Anonymous unless the user configured an officer token; fixed when the user sends.
    token: state.settings.token || "",
  };
}

function speciesList(species) {
  // One line per taxon: a listing that names the species three times is one species.
  const seen = new Set();
  const unique = species.filter((s) => !seen.has(s.taxon) && seen.add(s.taxon));
  return element(
    "ul",
    {},
    ...unique.map((s) =>
      element(
        "li",
        {},
        element("em", {}, s.taxon),
        " — ",
        element("span", { className: `appendix-${s.appendix}` }, `${t("appendixLabel")} ${s.appendix}`),
      ),
    ),
  );
}

function priorityText(priority) {
  return `${t("priorityLabel")}: ${translated(`priority_${priority}`, priority)}`;
}

/** The backend's own word when it has a status or priority this version does not know. */
function translated(key, fallback) {
  const text = t(key);
  return text && text !== key ? text : fallback;
}

function statusText(status) {
  return translated(`status_${status}`, status);
}

async function precheck() {
  const out = $("precheck-result");
  out.replaceChildren(t("precheckRunning"));
  const { report } = collectEnvelope();
  try {
    const result = await analyze(state.settings.backendUrl, state.settings.token, report);
    const parts = [];
    if (result.species && result.species.length) parts.push(speciesList(result.species));
    else parts.push(element("p", {}, t("precheckNone")));
    parts.push(element("p", {}, priorityText(result.priority)));
    // Only an officer's call can learn that a listing is known; the backend never says so
    // to anonymous callers, and the extension never asks for them.
    if (state.settings.token && result.duplicate) {
      parts.push(element("p", {}, element("span", { className: "flag" }, t("alreadyReported"))));
    }
    out.replaceChildren(...parts);
  } catch (error) {
    out.replaceChildren(element("p", { className: "error" }, error.status ? error.message : t("errorNetwork")));
  }
}

function showReceipt(receipt) {
  $("report-form").hidden = true;
  $("receipt").hidden = false;
  $("receipt-reference").textContent = receipt.reference;
  $("receipt-link").href = receipt.status_url;
  const summary = $("receipt-summary");
  summary.replaceChildren();
  if (receipt.species && receipt.species.length) summary.append(speciesList(receipt.species));
  summary.append(element("span", {}, priorityText(receipt.priority)));
  if (receipt.routed_to && receipt.routed_to.length) {
    summary.append(element("br"), `${t("routedLabel")}: ${receipt.routed_to.join(", ")}`);
  }
  if (receipt.duplicate) summary.append(element("br"), element("span", { className: "flag" }, t("alreadyReported")));
}

async function send(event) {
  event.preventDefault();
  const envelope = collectEnvelope();
  const error = $("form-error");
  error.hidden = true;
  if (!envelope.report.url && !envelope.report.text && !envelope.images.length) {
    error.textContent = t("nothingToSend");
    error.hidden = false;
    return;
  }
  const button = $("send-button");
  button.disabled = true;
  button.textContent = t("sending");
  let answer;
  try {
    answer = await api.runtime.sendMessage({ type: "submit", envelope });
  } catch (failure) {
    answer = { refused: String(failure && failure.message ? failure.message : failure) };
  }
  button.disabled = false;
  button.textContent = t("sendButton");
  if (answer && answer.sent) {
    showReceipt(answer.sent);
  } else if (answer && answer.queued) {
    $("report-form").hidden = true;
    $("queued-notice").hidden = false;
  } else {
    error.textContent = `${t("sendFailed")} ${(answer && answer.refused) || "?"}`;
    error.hidden = false;
  }
  await renderQueue();
  await refreshHistory(); // the receipt carries no status: ask for it right away
}

async function renderQueue() {
  const queue = await getQueue();
  $("queue").hidden = queue.length === 0;
  $("queue-list").replaceChildren(
    ...queue.map((item) => {
      const discard = element("button", { type: "button", className: "remove" }, t("removeField"));
      discard.addEventListener("click", async () => {
        await api.runtime.sendMessage({ type: "discard", id: item.id });
        await renderQueue();
      });
      const title = item.envelope.report.title || item.envelope.report.url || t("untitled");
      return element(
        "li",
        { dataset: { id: item.id } },
        title,
        element("br"),
        element("span", { className: "hint" }, `${t("queueAttempts", item.attempts)} · ${item.last_error || ""}`),
        " ",
        discard,
      );
    }),
  );
}

async function renderHistory() {
  const history = await getHistory();
  $("history-empty").hidden = history.length > 0;
  $("history-list").replaceChildren(
    ...history.map((entry) =>
      element(
        "li",
        { dataset: { reference: entry.reference } },
        element("a", { href: entry.status_url, target: "_blank", rel: "noopener" }, entry.reference),
        ` ${entry.title || t("untitled")}`,
        element("br"),
        element("span", { className: "hint" }, `${statusText(entry.status)} · ${priorityText(entry.priority)}`),
      ),
    ),
  );
}

/** Asks the backend for each report's current status; an unreachable backend changes nothing. */
async function refreshHistory() {
  const history = await getHistory();
  await Promise.all(
    history.slice(0, 20).map(async (entry) => {
      try {
        const status = await reportStatus(entry.backend || state.settings.backendUrl, entry, state.settings.token);
        await updateHistory(entry.reference, { status: status.status, priority: status.priority, routed_to: status.routed_to });
      } catch {
        // Keep the last known status.
      }
    }),
  );
  await renderHistory();
}

async function main() {
  const language = await loadLanguage();
  setDocumentLanguage(language);
  localise();
  state.settings = await getSettings();
  $("identity").textContent = state.settings.token ? t("officerNote") : t("anonymousNote");
  $("options-link").addEventListener("click", (event) => {
    event.preventDefault();
    api.runtime.openOptionsPage();
  });
  $("precheck-button").addEventListener("click", precheck);
  for (const button of document.querySelectorAll(".field .remove")) {
    button.addEventListener("click", () => {
      const input = button.closest(".field").querySelector("input, textarea");
      input.value = "";
      input.focus();
    });
  }
  $("report-form").addEventListener("submit", send);
  $("retry-button").addEventListener("click", async () => {
    await api.runtime.sendMessage({ type: "retry-now" });
    await Promise.all([renderQueue(), renderHistory()]);
  });
  api.storage.onChanged.addListener((changes, area) => {
    if (area !== "local") return;
    if (changes.queue) renderQueue();
    if (changes.history) renderHistory();
  });
  renderQueue();
  renderHistory().then(refreshHistory);

  const params = new URLSearchParams(location.search);
  const tabId = await targetTab(params);
  const status = $("capture-status");
  if (tabId === null) {
    status.hidden = true;
    return;
  }
  state.capture = await captureTab(tabId, { srcUrl: params.get("src") || "", selectionText: params.get("selection") || "" });
  fillForm(state.capture);
  if (state.capture.error) status.textContent = t("captureFailed");
  else status.hidden = true;
  $("report-form").hidden = false;
  document.body.dataset.ready = "true"; // tests wait for this
}

main();
