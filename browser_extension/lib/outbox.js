// "Never lose a report": a report is sent once, or kept in the queue in extension storage
// and retried with exponential backoff from the service worker (chrome.alarms wake it up,
// even after the browser restarts). Only the service worker drains the queue, one report
// at a time, so two senders never race on one report. Each report gets an Idempotency-Key
// (a random UUID) before its first attempt, kept in the queued envelope and sent on every
// attempt: if the backend stored a report but its answer was lost (a timeout), the retry
// gets that report's receipt back instead of storing it a second time.
//
// Every attempt at an anonymous report first solves a fresh proof of work when the backend
// offers one (lib/pow.js), for the higher per-address limit; a proof is good for one
// request, so a retry never reuses one. Without a challenge (an older backend, or none to
// be had) the report goes without, under the base limit, as before.
import { RETRY_BASE_SECONDS, RETRY_CAP_SECONDS } from "../config.js";
import { BackendError, fetchChallenge, submitReport } from "./api.js";
import { proofHeader, solveChallenge } from "./pow.js";
import { addHistory, getQueue, getSettings, setQueue } from "./store.js";

const api = globalThis.browser ?? globalThis.chrome;
export const ALARM = "wildflag-retry";

// Every change to the queue goes through this chain, so a report queued by the popup while
// the worker is updating the queue after a send is never overwritten.
let queueLock = Promise.resolve();

function changeQueue(change) {
  const run = queueLock.then(async () => {
    const queue = await getQueue();
    const result = await change(queue);
    await setQueue(queue);
    return result;
  });
  queueLock = run.catch(() => undefined);
  return run;
}

export function discard(id) {
  return changeQueue((queue) => {
    const index = queue.findIndex((q) => q.id === id);
    if (index >= 0) queue.splice(index, 1);
  }).then(schedule);
}

export function backoffSeconds(attempts, retryAfter = 0) {
  const exponential = Math.min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** Math.max(0, attempts - 1));
  return Math.max(exponential, retryAfter || 0);
}

/** A solved challenge for one request (the X-Wildflag-Proof value), or null. */
export async function proveWork(backendUrl) {
  const challenge = await fetchChallenge(backendUrl);
  if (!challenge) return null;
  try {
    const solution = await solveChallenge(challenge);
    return solution ? proofHeader(challenge, solution) : null;
  } catch {
    return null; // a challenge this version cannot solve: send without
  }
}

/**
 * One attempt at one report. A proof the backend refuses (`proof_*`: solved too late, or an
 * instance that signs with another key) costs the report nothing: it goes again at once
 * without a proof, with the same Idempotency-Key (a refused request stores nothing).
 */
async function send(backendUrl, envelope) {
  const proof = envelope.token ? null : await proveWork(backendUrl);
  try {
    return await submitReport(backendUrl, envelope, proof);
  } catch (error) {
    if (proof && error instanceof BackendError && error.code.startsWith("proof_")) {
      return submitReport(backendUrl, envelope, null);
    }
    throw error;
  }
}

function historyEntry(envelope, receipt, backendUrl) {
  return {
    reference: receipt.reference,
    receipt_token: receipt.receipt_token || "",
    status_url: receipt.status_url,
    backend: backendUrl,
    title: envelope.report.title || envelope.report.url || "",
    url: envelope.report.url || "",
    sent_at: new Date().toISOString(),
    status: "received",
    priority: receipt.priority,
    species: (receipt.species || []).map((s) => ({ taxon: s.taxon, appendix: s.appendix })),
    routed_to: receipt.routed_to || [],
    duplicate: receipt.duplicate,
  };
}

/** Sends one report now. → {sent: receipt} | {queued: item} | {refused: message}. */
export async function submitOrQueue(envelope) {
  const { backendUrl } = await getSettings();
  // Before the first attempt: that attempt may be the one stored whose answer is lost.
  if (!envelope.idempotency_key) envelope.idempotency_key = crypto.randomUUID();
  try {
    const receipt = await send(backendUrl, envelope);
    await addHistory(historyEntry(envelope, receipt, backendUrl));
    return { sent: receipt };
  } catch (error) {
    if (!(error instanceof BackendError) || !error.retry) {
      return { refused: error.message || String(error) };
    }
    const item = {
      id: envelope.id,
      envelope,
      attempts: 1,
      last_error: error.message,
      next_at: Date.now() + backoffSeconds(1, error.retryAfter) * 1000,
    };
    try {
      await changeQueue((queue) => {
        queue.push(item);
      });
    } catch (storageError) {
      // Extension storage is full (Chrome allows 10 MB): say so while the preview is still
      // open with everything in it, rather than drop the report silently.
      return { refused: `${error.message}; ${storageError.message || storageError}` };
    }
    await schedule();
    return { queued: item };
  }
}

/** Sets the alarm for the earliest due report (or clears it when the queue is empty). */
export async function schedule() {
  const queue = await getQueue();
  if (!queue.length) {
    await api.alarms.clear(ALARM);
    return;
  }
  const when = Math.max(Date.now() + 100, Math.min(...queue.map((q) => q.next_at)));
  await api.alarms.create(ALARM, { when });
}

let draining = null;

/** Tries every due report (all of them with `force`); one drain at a time. */
export function drain({ force = false } = {}) {
  if (!draining) {
    draining = drainOnce(force).finally(() => {
      draining = null;
    });
  }
  return draining;
}

async function drainOnce(force) {
  const { backendUrl } = await getSettings();
  const results = [];
  for (const item of await getQueue()) {
    if (!force && item.next_at > Date.now()) continue;
    let outcome;
    if (!item.envelope.idempotency_key) {
      // Queued by a version without keys: give it one now, kept from this attempt on.
      const key = crypto.randomUUID();
      item.envelope.idempotency_key = key;
      await changeQueue((queue) => {
        const queued = queue.find((q) => q.id === item.id);
        if (queued) queued.envelope.idempotency_key = key;
      });
    }
    try {
      const receipt = await send(backendUrl, item.envelope);
      await addHistory(historyEntry(item.envelope, receipt, backendUrl));
      outcome = { id: item.id, sent: receipt };
    } catch (error) {
      const retry = error instanceof BackendError && error.retry;
      outcome = retry
        ? { id: item.id, error: error.message, retryAfter: error.retryAfter }
        : { id: item.id, refused: error.message || String(error) };
    }
    await changeQueue((queue) => {
      const index = queue.findIndex((q) => q.id === item.id);
      if (index < 0) return; // discarded by the user meanwhile
      if (outcome.sent) {
        queue.splice(index, 1);
        return;
      }
      const q = queue[index];
      q.attempts += 1;
      q.last_error = outcome.error || outcome.refused;
      // A refusal (4xx) will not change by waiting; it stays visible for the user to see and
      // discard, retried rarely in case the backend was misconfigured.
      q.refused = Boolean(outcome.refused);
      const wait = q.refused ? RETRY_CAP_SECONDS : backoffSeconds(q.attempts, outcome.retryAfter);
      q.next_at = Date.now() + wait * 1000;
    });
    results.push(outcome);
  }
  await schedule();
  return results;
}
