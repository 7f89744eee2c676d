// Proof of work for anonymous reports (top-level README, "HTTP API"): the backend hands out
// a signed challenge (GET /api/v1/proof-of-work, an ALTCHA v2 challenge with algorithm
// "SHA-256"); the worker finds a counter whose derived key starts with the challenge's
// prefix and sends challenge and solution in the X-Wildflag-Proof header. A report with a
// proof counts against a higher per-address limit than one without. Solving is plain
// WebCrypto SHA-256: no library, no remote code, about 2**14 hashes at the default
// difficulty (a fraction of a second).

export const PROOF_HEADER = "X-Wildflag-Proof";
// Candidates hashed at once: WebCrypto digests are asynchronous, and a batch in flight
// keeps the engine busy instead of waiting on one promise at a time.
const BATCH = 64;
// Give up (and send without a proof) rather than keep a user waiting or a worker busy.
const DEFAULT_BUDGET_MS = 15_000;
const MAX_COUNTER = 0xffffffff;

function hexToBytes(hex) {
  if (typeof hex !== "string" || hex.length % 2 || /[^0-9a-f]/i.test(hex)) throw new TypeError("not hex");
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i += 1) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

function bytesToHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** ALTCHA v2 "SHA-256" key derivation: SHA-256 of salt ‖ nonce ‖ counter (uint32, big
 * endian), then `cost - 1` more rounds over the previous digest, cut to `keyLength`. */
async function deriveKey(base, counter, cost, keyLength) {
  const data = base.slice();
  new DataView(data.buffer).setUint32(data.length - 4, counter);
  let derived = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  for (let round = 1; round < cost; round += 1) {
    derived = new Uint8Array(await crypto.subtle.digest("SHA-256", derived));
  }
  return derived.slice(0, keyLength);
}

/**
 * Solves a challenge as the backend issued it. → {counter, derivedKey} or null when it is
 * not a kind this solver knows, or takes longer than `budgetMs`.
 */
export async function solveChallenge(challenge, { budgetMs = DEFAULT_BUDGET_MS } = {}) {
  const params = challenge && challenge.parameters;
  if (!params || params.algorithm !== "SHA-256") return null;
  const prefix = String(params.keyPrefix || "").toLowerCase();
  const cost = Math.max(1, Number(params.cost) || 1);
  const keyLength = Number(params.keyLength) || 32;
  if (!/^[0-9a-f]*$/.test(prefix) || cost > 64 || keyLength < 1 || keyLength > 32) return null;
  let salt;
  let nonce;
  try {
    salt = hexToBytes(params.salt);
    nonce = hexToBytes(params.nonce);
  } catch {
    return null;
  }
  const base = new Uint8Array(salt.length + nonce.length + 4);
  base.set(salt, 0);
  base.set(nonce, salt.length);
  const deadline = Date.now() + budgetMs;
  for (let start = 0; start <= MAX_COUNTER; start += BATCH) {
    if (Date.now() > deadline) return null;
    const counters = [];
    for (let c = start; c < start + BATCH && c <= MAX_COUNTER; c += 1) counters.push(c);
    const keys = await Promise.all(counters.map((c) => deriveKey(base, c, cost, keyLength)));
    for (let i = 0; i < keys.length; i += 1) {
      const hex = bytesToHex(keys[i]);
      if (hex.startsWith(prefix)) return { counter: counters[i], derivedKey: hex };
    }
  }
  return null;
}

/** The X-Wildflag-Proof value: base64 of the JSON {challenge, solution}. */
export function proofHeader(challenge, solution) {
  return btoa(JSON.stringify({ challenge, solution }));
}
