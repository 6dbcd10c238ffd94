import { test } from "node:test";
import assert from "node:assert/strict";
import { CHECKPOINT_MS, MAX_GAP_MS, MIN_EVENT_MS, advance } from "../src/lib/tracker.js";
import { CONFIG, newAgent, queue, setup, spend } from "../testlib/setup.js";

const CRM = "https://eu.crm.example.com/accounts/42?session=s3cr3t#tab";
const DOCS = "https://user:pw@docs.example.org/spaces/ENG?token=abc#frag";
const OTHER = "https://news.example.net/story";

const durations = (b) => queue(b).map((e) => [e.application, e.duration_ms]);

test("tab switch, navigation and blur close intervals with exact durations", async () => {
  const { b, agent } = setup();
  b.go(CRM);
  await agent.handle("tab");
  await spend(b, agent, 10_000);
  b.openTab(11, DOCS);
  await agent.handle("tab");
  await spend(b, agent, 5_000);
  b.go(OTHER); // tab 10 (CRM) is inactive; window still shows tab 11
  b.tabsList[1].url = OTHER;
  await agent.handle("tab");
  await spend(b, agent, 20_000);
  b.activate(10);
  await agent.handle("tab");
  b.go(CRM);
  await agent.handle("tab");
  await spend(b, agent, 3_000);
  b.focus(false);
  await agent.handle("focus");
  await spend(b, agent, 60_000);
  assert.deepEqual(durations(b), [
    [1, 10_000],
    [2, 5_000],
    [1, 3_000],
  ]);
  const [crm, docs] = queue(b);
  assert.equal(crm.url, undefined, "CRM does not collect URLs");
  assert.equal(docs.url, "https://docs.example.org/spaces/ENG", "userinfo, query and fragment removed");
  assert.equal(crm.type, "usage");
  assert.equal(crm.start, new Date(Date.UTC(2026, 10, 23, 9, 0, 0)).toISOString());
  assert.notEqual(crm.id, docs.id);
});

test("non-application browsing is never recorded", async () => {
  const { b, agent } = setup();
  for (const url of [OTHER, "chrome://settings/", "https://crm.example.com.evil.test/", "file:///home/crm.example.com/"]) {
    b.go(url);
    await agent.handle("tab");
    await spend(b, agent, 60_000);
  }
  b.go("about:blank");
  await agent.handle("tab");
  assert.deepEqual(queue(b), []);
  assert.equal(b.local.data.tracker.current, null);
});

test("navigation within an application splits by URL only when URLs are collected", async () => {
  const { b, agent } = setup();
  b.go("https://a.crm.example.com/x");
  await agent.handle("tab");
  await spend(b, agent, 4_000);
  b.go("https://a.crm.example.com/y");
  await agent.handle("tab");
  await spend(b, agent, 4_000);
  b.go("https://docs.example.org/a");
  await agent.handle("tab");
  await spend(b, agent, 4_000);
  b.go("https://docs.example.org/b");
  await agent.handle("tab");
  await spend(b, agent, 4_000);
  b.go(OTHER);
  await agent.handle("tab");
  assert.deepEqual(
    queue(b).map((e) => [e.application, e.duration_ms, e.url]),
    [
      [1, 8_000, undefined],
      [2, 4_000, "https://docs.example.org/a"],
      [2, 4_000, "https://docs.example.org/b"],
    ],
  );
});

test("URLs are not sent when URL collection is off globally", async () => {
  const { b, agent } = setup({ config: { ...CONFIG, collect_urls: false } });
  b.go(DOCS);
  await agent.handle("tab");
  await spend(b, agent, 5_000);
  b.go(OTHER);
  await agent.handle("tab");
  assert.deepEqual(queue(b).map((e) => [e.application, e.url]), [[2, undefined]]);
  assert.ok(!JSON.stringify(b.local.data).includes("docs.example.org/spaces"), "the URL is not even stored");
});

test("nothing is recorded when web-usage collection is off", async () => {
  const { b, agent } = setup({ config: { ...CONFIG, collect_web_usage: false } });
  b.go(CRM);
  await agent.handle("tab");
  await spend(b, agent, 50_000);
  b.go(OTHER);
  await agent.handle("tab");
  assert.deepEqual(queue(b), []);
});

test("idle ends the interval when the user left, locked ends it now", async () => {
  const { b, agent } = setup();
  b.go(CRM);
  await agent.handle("tab");
  await spend(b, agent, 100_000);
  b.idleState = "idle";
  await agent.handle("idle");
  await spend(b, agent, 120_000);
  b.idleState = "active";
  await agent.handle("idle");
  await spend(b, agent, 20_000);
  b.idleState = "locked";
  await agent.handle("idle");
  await spend(b, agent, 120_000);
  assert.deepEqual(durations(b), [
    [1, 100_000 - CONFIG.idle_seconds * 1000],
    [1, 20_000],
  ]);
  assert.equal(b.idleQueried, CONFIG.idle_seconds);
});

test("an idle user found by a checkpoint is cut at the idle threshold", async () => {
  const { b, agent } = setup();
  b.go(CRM);
  await agent.handle("tab");
  b.advance(80_000);
  b.idleState = "idle"; // the idle event was missed (worker asleep)
  await agent.onAlarm("checkpoint");
  assert.deepEqual(durations(b), [[1, 20_000]]);
});

test("an audible application tab counts while idle, until the sound stops", async () => {
  const { b, agent } = setup();
  b.go(CRM, { audible: true });
  await agent.handle("tab");
  await spend(b, agent, 90_000);
  b.idleState = "idle";
  await agent.handle("idle");
  await spend(b, agent, 300_000);
  assert.deepEqual(queue(b), [], "still counting");
  b.tabsList[0].audible = false;
  await agent.handle("tab");
  assert.deepEqual(durations(b), [[1, 390_000]]);
  b.idleState = "locked";
  b.tabsList[0].audible = true;
  await agent.handle("idle");
  await spend(b, agent, 60_000);
  assert.equal(queue(b).length, 1, "locked never counts");
});

test("a worker restart mid-interval loses nothing and splits nothing", async () => {
  const { b, agent } = setup();
  b.go(CRM);
  await agent.handle("tab");
  await spend(b, agent, 45_000);
  const reborn = newAgent(b); // the old worker is gone, memory with it
  await reborn.wake();
  await spend(b, reborn, 15_000);
  b.go(OTHER);
  await reborn.handle("tab");
  assert.deepEqual(durations(b), [[1, 60_000]]);
});

test("a crashed browser loses at most one checkpoint", async () => {
  const { b, agent } = setup();
  b.go(CRM);
  await agent.handle("tab");
  await spend(b, agent, 60_000);
  b.advance(25_000); // used 25 s more, then the browser crashed
  b.advance(20_000); // restarted quickly, before the gap rule applies
  b.restart();
  const reborn = newAgent(b);
  await reborn.wake();
  assert.deepEqual(durations(b), [[1, 60_000]]);
  assert.ok(60_000 + 25_000 - durations(b)[0][1] <= CHECKPOINT_MS);
  await spend(b, reborn, 10_000);
  b.go(OTHER);
  await reborn.handle("tab");
  assert.deepEqual(durations(b), [
    [1, 60_000],
    [1, 10_000],
  ]);
});

test("sleep (a clock jump forward) is not counted", async () => {
  const { b, agent } = setup();
  b.go(CRM);
  await agent.handle("tab");
  await spend(b, agent, 30_000);
  b.advance(3_600_000); // lid closed an hour, no lock
  await agent.onAlarm("checkpoint");
  await spend(b, agent, 30_000);
  b.go(OTHER);
  await agent.handle("tab");
  assert.deepEqual(durations(b), [
    [1, 30_000],
    [1, 30_000],
  ]);
});

test("a clock set back closes at the last checkpoint, never a negative duration", async () => {
  const { b, agent } = setup();
  b.go(CRM);
  await agent.handle("tab");
  await spend(b, agent, 60_000);
  b.advance(-600_000);
  await agent.handle("tab");
  await spend(b, agent, 5_000);
  b.go(OTHER);
  await agent.handle("tab");
  assert.deepEqual(durations(b), [
    [1, 60_000],
    [1, 5_000],
  ]);
});

test("a send reports the open interval so far and keeps counting", async () => {
  const { b, agent } = setup();
  b.go(CRM);
  await agent.handle("tab");
  await spend(b, agent, 90_000);
  await agent.flush();
  assert.equal(b.requests.length, 1);
  assert.deepEqual(b.requests[0].body.events.map((e) => e.duration_ms), [90_000]);
  await spend(b, agent, 30_000);
  b.go(OTHER);
  await agent.handle("tab");
  assert.deepEqual(durations(b), [[1, 30_000]]);
});

test("advance: pure transitions", () => {
  let n = 0;
  const id = () => `e${++n}`;
  const t = { application: 1, tabId: 1 };
  let r = advance({ current: null }, { now: 1000, target: t }, id);
  assert.deepEqual(r.events, []);
  assert.equal(r.state.current.start, 1000);
  r = advance(r.state, { now: 1000 + MIN_EVENT_MS - 1, target: null }, id);
  assert.deepEqual(r.events, [], "sub-threshold flicker is not reported");
  r = advance({ current: { ...t, start: 0, seen: 10_000 } }, { now: 10_000 + MAX_GAP_MS + 1, target: t }, id);
  assert.deepEqual(r.events.map((e) => e.duration_ms), [10_000]);
  assert.equal(r.state.current.start, 10_000 + MAX_GAP_MS + 1);
  r = advance({ current: { ...t, start: 0, seen: 5_000 } }, { now: 6_000, target: t, restart: true }, id);
  assert.deepEqual(r.events.map((e) => e.duration_ms), [5_000]);
  r = advance({ current: { ...t, start: 0, seen: 5_000 } }, { now: 30_000, target: null, idle: true, idleMs: 60_000 }, id);
  assert.deepEqual(r.events, [], "an interval entirely inside the idle threshold is empty");
});

test("a worker start keeps existing alarms, so they are not pushed back forever", async () => {
  const { b, agent } = setup();
  await agent.wake();
  const created = b.alarms.get("flush").created;
  assert.equal(b.alarms.get("checkpoint").periodInMinutes, CHECKPOINT_MS / 60_000);
  assert.equal(b.alarms.get("flush").periodInMinutes, 1);
  b.advance(20_000);
  await newAgent(b).wake();
  assert.equal(b.alarms.get("flush").created, created);
  assert.equal(b.alarms.get("checkpoint").created, created);
});
