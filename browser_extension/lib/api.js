// The wildflag backend's HTTP API, as documented in the top-level README ("HTTP API").
// Extension pages and the service worker hold a host permission for the backend, so the
// browser lets them call it without CORS headers (the backend sends none).
import { PROOF_HEADER } from "./pow.js";

// A report with photos over a slow link can take a while; past this we call it unreachable.
const TIMEOUT_MS = 60_000;
// A challenge is a few hundred bytes: an answer this late is no help.
const CHALLENGE_TIMEOUT_MS = 10_000;

export class BackendError extends Error {
  constructor(message, { status = 0, code = "", retry = false, retryAfter = 0 } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.retry = retry; // worth trying again later (unreachable, 5xx, 429)
    this.retryAfter = retryAfter;
  }
}

function endpoint(backendUrl, path) {
  return String(backendUrl).replace(/\/+$/, "") + path;
}

async function call(url, init, timeoutMs = TIMEOUT_MS) {
  let response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), credentials: "omit" });
  } catch (error) {
    throw new BackendError(String(error && error.message ? error.message : error), { retry: true });
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (response.ok) return body;
  const detail = (body && body.error) || {};
  const retry = response.status >= 500 || response.status === 429 || response.status === 408;
  throw new BackendError(detail.message || `HTTP ${response.status}`, {
    status: response.status,
    code: detail.code || "",
    retry,
    retryAfter: Number(response.headers.get("Retry-After")) || 0,
  });
}

function authHeaders(token) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** POST /api/v1/analyze: what the service recognises in the listing; nothing is stored. */
export async function analyze(backendUrl, token, fields) {
  const body = { id: "precheck" };
  for (const key of ["url", "title", "text", "reporter_country"]) if (fields[key]) body[key] = fields[key];
  return call(endpoint(backendUrl, "/api/v1/analyze"), {
    method: "POST",
    headers: { "Content-Type": "application/json", ...authHeaders(token) },
    body: JSON.stringify(body),
  });
}

export function dataUrlToBlob(dataUrl) {
  const [head, data] = dataUrl.split(",", 2);
  const type = (head.match(/^data:([^;,]+)/) || [])[1] || "application/octet-stream";
  const binary = atob(data);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return new Blob([bytes], { type });
}

const EXTENSIONS = { "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif" };

/**
 * GET /api/v1/proof-of-work: a signed challenge (see lib/pow.js), or null when the backend
 * offers none (an older version, switched off) or cannot be asked right now.
 */
export async function fetchChallenge(backendUrl) {
  try {
    return await call(
      endpoint(backendUrl, "/api/v1/proof-of-work"),
      { method: "GET", headers: {}, cache: "no-store" },
      CHALLENGE_TIMEOUT_MS,
    );
  } catch {
    return null;
  }
}

/**
 * One multipart POST /api/v1/reports: a `report` JSON part, `images`, optional screenshot/snapshot.
 * `envelope.idempotency_key` goes out as Idempotency-Key: the same on every attempt at one
 * report, so a retry after a lost answer gets the first receipt back (200) instead of
 * storing the report twice. `proof`, when given, goes out as X-Wildflag-Proof (one request
 * only: a retry needs a new one).
 */
export async function submitReport(backendUrl, envelope, proof = null) {
  const form = new FormData();
  form.append("report", new Blob([JSON.stringify(envelope.report)], { type: "application/json" }), "report.json");
  envelope.images.forEach((image, i) => {
    const blob = dataUrlToBlob(image.dataUrl);
    form.append("images", blob, `image-${i + 1}.${EXTENSIONS[blob.type] || "bin"}`);
  });
  if (envelope.screenshot) {
    const shot = dataUrlToBlob(envelope.screenshot);
    form.append("screenshot", shot, `screenshot.${EXTENSIONS[shot.type] || "bin"}`);
  }
  if (envelope.snapshot) {
    form.append("snapshot", new Blob([envelope.snapshot], { type: "text/html" }), "page.html");
  }
  const headers = authHeaders(envelope.token);
  if (envelope.idempotency_key) headers["Idempotency-Key"] = envelope.idempotency_key;
  if (proof) headers[PROOF_HEADER] = proof;
  return call(endpoint(backendUrl, "/api/v1/reports"), { method: "POST", headers, body: form });
}

/** GET /api/v1/reports/{ref} with the receipt token (or the officer's bearer token). */
export async function reportStatus(backendUrl, entry, token) {
  const headers = entry.receipt_token ? { "X-Receipt-Token": entry.receipt_token } : authHeaders(token);
  return call(endpoint(backendUrl, `/api/v1/reports/${encodeURIComponent(entry.reference)}`), {
    method: "GET",
    headers,
    cache: "no-store",
  });
}
