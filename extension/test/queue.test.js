import { test } from "node:test";
import assert from "node:assert/strict";
import { CONFIG_REFRESH_MS, MAX_QUEUE, UNAUTHORIZED_RETRY_MS } from "../src/lib/agent.js";
import { BACKOFF_CAP_MS, BATCH_SIZE, backoffDelay, interpret, parseRetryAfter } from "../src/lib/sender.js";
import { CONFIG, queue, setup, spend } from "../testlib/setup.js";

const CRM = "https://crm.example.com/a";

/** Queues n one-second CRM events directly. */
async function fill(agent, n) {
  const events = Array.from({ length: n }, (_, i) => ({
    id: `q-${i}`,
    type: "usage",
    application: 1,
    start: new Date(Date.UTC(2026, 10, 23, 8, 0, i)).toISOString(),
    duration_ms: 1000,
  }));
  await agent.run(() => agent.enqueue(events));
}

const eventsRequests = (b) => b.requests.filter((r) => r.url.endsWith("/api/v1/events"));
const status = (b) => b.local.data.status;

test("a batch carries device, user, browser and the token; the ack empties the queue", async () => {
  const { b, agent } = setup();
  b.go(CRM);
  await agent.handle("tab");
  await spend(b, agent, 5_000);
  await agent.flush();
  const [req] = eventsRequests(b);
  assert.equal(req.url, "https://webusage.test/api/v1/events");
  assert.equal(req.method, "POST");
  assert.equal(req.headers.Authorization, "Bearer enroll-secret");
  assert.equal(req.headers["Content-Type"], "application/json");
  assert.equal(req.body.device.name, "LAP-042");
  assert.match(req.body.device.id, /^ev-\d+$/);
  assert.deepEqual(req.body.user, { name: "jdoe" });
  assert.deepEqual(req.body.browser, { name: "chrome", version: "140.0" });
  assert.deepEqual(req.body.events.map((e) => [e.application, e.duration_ms, e.url]), [[1, 5_000, undefined]]);
  assert.deepEqual(queue(b), []);
  assert.equal(status(b).lastSendAt, b.now());
  assert.equal(status(b).sent, 1);
  // The device id is stable across sends.
  await spend(b, agent, 5_000);
  await agent.flush();
  assert.equal(eventsRequests(b)[1].body.device.id, req.body.device.id);
});

test("device tags from policy are sent; policy wins over the options page", async () => {
  const { b, agent } = setup();
  b.managedData = { serverUrl: "https://policy.test", deviceTags: ["kiosk", "lausanne"], userName: "" };
  await fill(agent, 1);
  await agent.flush();
  const [req] = eventsRequests(b);
  assert.equal(req.url, "https://policy.test/api/v1/events");
  assert.deepEqual(req.body.device.tags, ["kiosk", "lausanne"]);
  assert.deepEqual(req.body.user, { name: "jdoe" }, "an empty policy value does not hide the local one");
});

test("nothing is sent without a server URL and token", async () => {
  const { b, agent } = setup({ settings: { serverUrl: "https://webusage.test" } });
  await fill(agent, 3);
  await agent.flush();
  assert.equal(b.requests.length, 0);
  assert.equal(queue(b).length, 3);
});

test("the config is fetched first and refreshed periodically", async () => {
  const { b, agent } = setup({ fetchedAgo: CONFIG_REFRESH_MS });
  const newer = { ...CONFIG, idle_seconds: 120, flush_seconds: 300 };
  b.responder = (req) => (req.url.endsWith("/config") ? { status: 200, body: newer } : { status: 200, body: { accepted: 1 } });
  await fill(agent, 1);
  await agent.flush();
  assert.deepEqual(b.requests.map((r) => [r.method, r.url]), [
    ["GET", "https://webusage.test/api/v1/extension/config"],
    ["POST", "https://webusage.test/api/v1/events"],
  ]);
  assert.equal(b.requests[0].headers.Authorization, "Bearer enroll-secret");
  assert.equal(b.local.data.config.idle_seconds, 120);
  assert.equal(b.idleInterval, 120);
  assert.equal(b.alarms.get("flush").periodInMinutes, 5);
  assert.equal(b.pendingTimer().at - b.now(), 300_000, "next send after flush_seconds");
  b.advance(60_000);
  await agent.flush();
  assert.equal(b.requests.filter((r) => r.method === "GET").length, 1, "fresh config is not refetched");
});

test("network errors back off exponentially with jitter and keep the events", async () => {
  const { b, agent } = setup();
  b.responder = () => ({ throw: new TypeError("Failed to fetch") });
  await fill(agent, 2);
  const waits = [];
  for (let i = 0; i < 4; i++) {
    await agent.flush();
    waits.push(status(b).nextAttemptAt - b.now());
    assert.equal(b.pendingTimer().at, status(b).nextAttemptAt, "the retry is scheduled");
    const before = b.requests.length;
    await agent.flush();
    assert.equal(b.requests.length, before, "no request before the backoff ends");
    b.advance(waits.at(-1));
  }
  assert.deepEqual(waits, [750, 1500, 3000, 6000]);
  assert.equal(queue(b).length, 2);
  assert.match(status(b).lastError.message, /unreachable/);
  b.responder = () => ({ status: 200, body: { accepted: 2 } });
  await agent.flush();
  assert.deepEqual(queue(b), []);
  assert.equal(status(b).attempts, 0);
  assert.equal(status(b).lastError, null);
});

test("503 Retry-After is honored", async () => {
  const { b, agent } = setup();
  b.responder = () => ({ status: 503, headers: { "Retry-After": "120" } });
  await fill(agent, 1);
  await agent.flush();
  assert.equal(status(b).nextAttemptAt - b.now(), 120_000);
  b.advance(119_000);
  await agent.flush();
  assert.equal(eventsRequests(b).length, 1);
  b.advance(1_000);
  await agent.flush();
  assert.equal(eventsRequests(b).length, 2);
  assert.equal(queue(b).length, 1);
});

test("a 200 without a readable body is resent with the same ids", async () => {
  const { b, agent } = setup();
  b.responder = () => ({ status: 200 });
  await fill(agent, 2);
  await agent.flush();
  b.advance(status(b).nextAttemptAt - b.now());
  b.responder = () => ({ status: 200, body: { accepted: 0, duplicates: 2 } });
  await agent.flush();
  const [first, second] = eventsRequests(b);
  assert.deepEqual(second.body.events.map((e) => e.id), first.body.events.map((e) => e.id));
  assert.deepEqual(queue(b), []);
  assert.equal(status(b).duplicates, 2);
});

test("events rejected by index are dropped and counted; server drops are counted", async () => {
  const { b, agent } = setup();
  b.responder = () => ({
    status: 200,
    body: { accepted: 1, duplicates: 0, dropped: { no_application: 1 }, errors: [{ index: 1, field: "events[1].start", message: "bad" }] },
  });
  await fill(agent, 3);
  await agent.flush();
  assert.deepEqual(queue(b), []);
  assert.equal(status(b).rejected, 1);
  assert.equal(status(b).sent, 1);
  assert.deepEqual(status(b).serverDropped, { no_application: 1 });
  assert.match(status(b).lastError.message, /rejected 1/);
});

test("a batch refused as a whole is split until the bad event is alone, then dropped", async () => {
  const { b, agent } = setup();
  b.responder = (req) => (req.body.events.some((e) => e.id === "q-2") ? { status: 400, body: { error: {} } } : { status: 200, body: { accepted: req.body.events.length } });
  await fill(agent, 4);
  await agent.flush();
  assert.deepEqual(
    eventsRequests(b).map((r) => r.body.events.map((e) => e.id).join(",")),
    ["q-0,q-1,q-2,q-3", "q-0,q-1", "q-2,q-3", "q-2", "q-3"],
  );
  assert.deepEqual(queue(b), []);
  assert.equal(status(b).rejected, 1);
  assert.equal(status(b).sent, 3);
});

test("413 on one event drops it, counted", async () => {
  const { b, agent } = setup();
  b.responder = () => ({ status: 413 });
  await fill(agent, 1);
  await agent.flush();
  assert.deepEqual(queue(b), []);
  assert.equal(status(b).rejected, 1);
});

test("401 stops sending until the settings change", async () => {
  const { b, agent } = setup();
  b.responder = () => ({ status: 401 });
  await fill(agent, 2);
  await agent.flush();
  assert.ok(status(b).unauthorizedAt > 0);
  assert.match(status(b).lastError.message, /401/);
  b.advance(UNAUTHORIZED_RETRY_MS - 1);
  await agent.flush();
  assert.equal(b.requests.length, 1, "stopped");
  b.responder = (req) => (req.url.endsWith("/config") ? { status: 200, body: CONFIG } : { status: 200, body: { accepted: 2 } });
  await b.local.set({ settings: { serverUrl: "https://webusage.test", enrollmentToken: "new-token" } });
  await agent.onStorageChanged({ settings: {} }, "local");
  await agent.flush();
  assert.equal(b.requests.at(-1).headers.Authorization, "Bearer new-token");
  assert.deepEqual(queue(b), []);
  assert.equal(status(b).unauthorizedAt, 0);
});

test("the queue is capped: oldest events are dropped first and counted", async () => {
  const { b, agent } = setup({ settings: {} });
  await fill(agent, MAX_QUEUE + 5);
  const q = queue(b);
  assert.equal(q.length, MAX_QUEUE);
  assert.equal(q[0].id, "q-5");
  assert.equal(q.at(-1).id, `q-${MAX_QUEUE + 4}`);
  assert.equal(status(b).droppedOverflow, 5);
});

test("a full batch is sent at once, in batches of BATCH_SIZE", async () => {
  const { b, agent } = setup();
  b.responder = (req) => ({ status: 200, body: { accepted: req.body.events.length } });
  await fill(agent, BATCH_SIZE + 1);
  assert.equal(b.pendingTimer().at, b.now(), "a send is due now");
  await agent.flush();
  assert.deepEqual(eventsRequests(b).map((r) => r.body.events.length), [BATCH_SIZE, 1]);
  assert.deepEqual(queue(b), []);
});

test("backoffDelay doubles, jitters within the upper half, and is capped", () => {
  assert.equal(backoffDelay(1, () => 0), 500);
  assert.equal(backoffDelay(1, () => 1), 1000);
  assert.equal(backoffDelay(4, () => 0.5), 6000);
  assert.equal(backoffDelay(100, () => 1), BACKOFF_CAP_MS);
  assert.equal(backoffDelay(100, () => 0), BACKOFF_CAP_MS / 2);
});

test("parseRetryAfter reads seconds and dates, caps and refuses junk", () => {
  const now = Date.UTC(2026, 10, 23, 9, 0, 0);
  assert.equal(parseRetryAfter("30", now), 30_000);
  assert.equal(parseRetryAfter(new Date(now + 90_000).toUTCString(), now), 90_000);
  assert.equal(parseRetryAfter(new Date(now - 90_000).toUTCString(), now), 0);
  assert.equal(parseRetryAfter("999999", now), 3_600_000);
  assert.equal(parseRetryAfter("soon", now), null);
  assert.equal(parseRetryAfter(null, now), null);
});

test("interpret maps statuses to actions", () => {
  assert.equal(interpret(401, null, 5).kind, "unauthorized");
  assert.equal(interpret(400, null, 5).kind, "split");
  assert.equal(interpret(413, null, 1).kind, "reject");
  assert.deepEqual(interpret(503, null, 1), { kind: "retry" });
  assert.deepEqual(interpret(404, null, 1), { kind: "retry" });
  assert.equal(interpret(200, { accepted: 2, errors: [{}, {}] }, 4).rejected, 2);
});

test("send now skips the backoff wait", async () => {
  const { b, agent } = setup();
  b.responder = () => ({ status: 500 });
  await fill(agent, 1);
  await agent.flush();
  assert.ok(status(b).nextAttemptAt > b.now());
  b.responder = () => ({ status: 200, body: { accepted: 1 } });
  await agent.flush();
  assert.equal(queue(b).length, 1, "a plain flush waits");
  await agent.sendNow();
  assert.deepEqual(queue(b), []);
});
