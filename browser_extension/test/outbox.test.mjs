// The outbox keeps one Idempotency-Key per report across retries, with Node's own test
// runner (`node --test browser_extension/test/`): extension storage, alarms and fetch are
// stubbed, so the real lib/outbox.js and lib/api.js run unchanged.
import test from "node:test";
import assert from "node:assert/strict";

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
let answer = null;
globalThis.fetch = async (url, init) => {
  sent.push(init.headers["Idempotency-Key"]);
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
