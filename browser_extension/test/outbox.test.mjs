// The outbox keeps one Idempotency-Key per report across retries, and attaches a fresh proof
// of work to each attempt at an anonymous report, with Node's own test runner (`node --test
// browser_extension/test/`): extension storage, alarms and fetch are stubbed, so the real
// lib/outbox.js, lib/api.js and lib/pow.js run unchanged (WebCrypto is Node's own).
import test from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";

const stored = {};
globalThis.chrome = {
  storage: {
    local: {
      async get(key) {
        return { [key]: structuredClone(stored[key]) };
      },
      async set(values) {
        Object.assign(stored, structuredClone(values));
      },
    },
  },
  alarms: { async create() {}, async clear() {} },
};

const sent = [];
const proofs = [];
let answer = null;
// The proof-of-work challenge endpoint: absent (an older backend) unless a test serves one.
let challengeAnswer = async () => new Response("{}", { status: 404 });
globalThis.fetch = async (url, init) => {
  if (String(url).endsWith("/api/v1/proof-of-work")) return challengeAnswer(url, init);
  sent.push(init.headers["Idempotency-Key"]);
  proofs.push(init.headers["X-Wildflag-Proof"]);
  return answer(url, init);
};

const { submitOrQueue, drain } = await import("../lib/outbox.js");

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("a report whose answer was lost is retried with the same Idempotency-Key", async () => {
  const envelope = { id: "r1", report: { url: "https://example.test/item/1" }, images: [] };
  // The backend stores the report, but the connection drops before the answer arrives.
  answer = async () => {
    throw new TypeError("network connection was lost");
  };
  const first = await submitOrQueue(envelope);
  assert.ok(first.queued, JSON.stringify(first));
  assert.match(sent[0], UUID);
  assert.equal(stored.queue[0].envelope.idempotency_key, sent[0]); // kept with the report

  answer = async () =>
    new Response(JSON.stringify({ reference: "WF-AAAA-BBBB", receipt_token: "t", species: [] }), {
      status: 200,
      headers: { "Content-Type": "application/json", "Idempotent-Replayed": "true" },
    });
  const [outcome] = await drain({ force: true });
  assert.equal(outcome.sent.reference, "WF-AAAA-BBBB");
  assert.deepEqual(sent, [sent[0], sent[0]]);
  assert.deepEqual(stored.queue, []);
  assert.equal(stored.history[0].reference, "WF-AAAA-BBBB");
});

test("each report gets its own key", async () => {
  sent.length = 0;
  answer = async () =>
    new Response(JSON.stringify({ reference: "WF-CCCC-DDDD", species: [] }), { status: 201 });
  await submitOrQueue({ id: "r2", report: { text: "ivory" }, images: [] });
  await submitOrQueue({ id: "r3", report: { text: "ivory" }, images: [] });
  assert.equal(sent.length, 2);
  assert.notEqual(sent[0], sent[1]);
});

test("a report queued before keys existed gets one key, kept across its retries", async () => {
  sent.length = 0;
  stored.queue = [{ id: "old", envelope: { report: { text: "pangolin scales" }, images: [] }, attempts: 1, next_at: 0 }];
  answer = async () => new Response("{}", { status: 503 });
  await drain({ force: true });
  assert.match(stored.queue[0].envelope.idempotency_key, UUID);
  await drain({ force: true });
  assert.equal(sent.length, 2);
  assert.equal(sent[0], sent[1]);
  assert.equal(stored.queue[0].envelope.idempotency_key, sent[0]);
});

// Proof of work: what the backend's challenge endpoint hands out (an ALTCHA v2 challenge);
// the signature is the backend's business, the solver only echoes it.
let served = 0;
function serveChallenges() {
  served = 0;
  challengeAnswer = async () => {
    served += 1;
    const challenge = {
      parameters: {
        algorithm: "SHA-256",
        cost: 2,
        keyLength: 32,
        keyPrefix: "00",
        nonce: randomBytes(16).toString("hex"),
        salt: randomBytes(16).toString("hex"),
        expiresAt: Math.floor(Date.now() / 1000) + 300,
      },
      signature: "ab".repeat(32),
    };
    return new Response(JSON.stringify(challenge), { status: 200 });
  };
}

/** Checks a proof as the backend does, with Node's own SHA-256 rather than WebCrypto. */
function checkProof(header) {
  const { challenge, solution } = JSON.parse(Buffer.from(header, "base64").toString("utf8"));
  const { salt, nonce, cost, keyPrefix } = challenge.parameters;
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(solution.counter);
  let key = createHash("sha256").update(Buffer.concat([Buffer.from(salt, "hex"), Buffer.from(nonce, "hex"), counter])).digest();
  for (let round = 1; round < cost; round += 1) key = createHash("sha256").update(key).digest();
  assert.equal(solution.derivedKey, key.toString("hex"));
  assert.ok(solution.derivedKey.startsWith(keyPrefix), solution.derivedKey);
  return challenge;
}

test("an anonymous report carries a solved proof, a fresh one on every attempt", async () => {
  sent.length = 0;
  proofs.length = 0;
  stored.queue = [];
  serveChallenges();
  answer = async () => new Response("{}", { status: 503 });
  const first = await submitOrQueue({ id: "p1", report: { text: "pangolin scales" }, images: [] });
  assert.ok(first.queued, JSON.stringify(first));
  answer = async () => new Response(JSON.stringify({ reference: "WF-PROO-F001", species: [] }), { status: 201 });
  const [outcome] = await drain({ force: true });
  assert.equal(outcome.sent.reference, "WF-PROO-F001");
  assert.equal(served, 2);
  const [a, b] = proofs.map(checkProof);
  assert.notEqual(a.parameters.nonce, b.parameters.nonce); // a proof is good for one request
  assert.equal(a.signature, "ab".repeat(32)); // echoed as issued
  assert.equal(sent[0], sent[1]); // and the report keeps its Idempotency-Key
});

test("a refused proof costs nothing: the report goes again at once without one", async () => {
  sent.length = 0;
  proofs.length = 0;
  serveChallenges();
  answer = async (url, init) =>
    init.headers["X-Wildflag-Proof"]
      ? new Response(JSON.stringify({ error: { code: "proof_invalid", message: "not issued here" } }), { status: 403 })
      : new Response(JSON.stringify({ reference: "WF-PLAI-N001", species: [] }), { status: 201 });
  const result = await submitOrQueue({ id: "p2", report: { text: "ivory" }, images: [] });
  assert.equal(result.sent.reference, "WF-PLAI-N001");
  assert.equal(proofs.length, 2);
  checkProof(proofs[0]);
  assert.equal(proofs[1], undefined);
  assert.equal(sent[0], sent[1]);
});

test("an officer's report solves nothing; a backend without challenges gets none", async () => {
  sent.length = 0;
  proofs.length = 0;
  serveChallenges();
  answer = async () => new Response(JSON.stringify({ reference: "WF-OFFI-CER1", species: [] }), { status: 201 });
  await submitOrQueue({ id: "p3", token: "wf_officer", report: { text: "ivory" }, images: [] });
  assert.equal(served, 0);
  challengeAnswer = async () => new Response("{}", { status: 404 });
  await submitOrQueue({ id: "p4", report: { text: "ivory" }, images: [] });
  assert.deepEqual(proofs, [undefined, undefined]);
});
