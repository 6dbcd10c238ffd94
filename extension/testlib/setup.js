// Test helpers: an agent on a fake browser, with a server config in place.
import { Agent } from "../src/lib/agent.js";
import { FakeBrowser } from "./fakebrowser.js";

export const CONFIG = {
  collect_web_usage: true,
  collect_urls: true,
  applications: [
    { id: 1, name: "CRM", patterns: ["*.crm.example.com/*"], collect_urls: false },
    { id: 2, name: "Docs", patterns: ["docs.example.org/*"], collect_urls: true },
  ],
  idle_seconds: 60,
  flush_seconds: 60,
};

export const SETTINGS = { serverUrl: "https://webusage.test/", enrollmentToken: "enroll-secret", deviceName: "LAP-042", userName: "jdoe" };

let ids = 0;

/** A new agent (a fresh service worker) on browser b. */
export function newAgent(b) {
  return new Agent({
    api: b.api,
    fetch: (url, init) => b.fetch(url, init),
    now: () => b.now(),
    random: () => 0.5,
    newId: () => `ev-${++ids}`,
    browser: { name: "chrome", version: "140.0" },
    setTimer: (fn, ms) => b.setTimer(fn, ms),
    clearTimer: (t) => b.clearTimer(t),
  });
}

/**
 * A browser with the config already fetched (so tracking works offline) and
 * the server settings saved; `server` answers events requests.
 */
export function setup({ config = CONFIG, settings = SETTINGS, fetchedAgo = 0 } = {}) {
  const b = new FakeBrowser();
  b.local.data.config = structuredClone(config);
  b.local.data.settings = structuredClone(settings);
  b.local.data.status = { configFetchedAt: b.now() - fetchedAgo };
  b.session.data.alive = true;
  b.responder = (req) => {
    if (req.url.endsWith("/api/v1/extension/config")) return { status: 200, body: config };
    return { status: 200, body: { accepted: req.body.events.length, duplicates: 0, dropped: {}, errors: [] } };
  };
  return { b, agent: newAgent(b) };
}

/** The stored queue. */
export function queue(b) {
  return b.local.data.queue ?? [];
}

/** Advances time by ms, firing a checkpoint every 30 s as the alarm would. */
export async function spend(b, agent, ms) {
  while (ms > 0) {
    const step = Math.min(ms, 30_000);
    b.advance(step);
    ms -= step;
    if (step === 30_000) await agent.onAlarm("checkpoint");
  }
}
