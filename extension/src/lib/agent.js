// The agent wires the tracker, the queue and the sender to the browser.
// Every state change runs through one promise chain (the worker is single
// threaded but its handlers are async) and is written to extension storage
// before the next one starts; memory holds only caches and timers.

import { Matcher, presanitize } from "./match.js";
import { CHECKPOINT_MS, advance } from "./tracker.js";
import { BATCH_SIZE, backoffDelay, interpret, parseRetryAfter } from "./sender.js";
import { loadSettings, normalizeConfig } from "./settings.js";

/** Most events kept while the server is unreachable (oldest dropped first). */
export const MAX_QUEUE = 10_000;
/** How often the server config is refetched. */
export const CONFIG_REFRESH_MS = 10 * 60_000;
/** After a 401, how long before the same token is tried again. */
export const UNAUTHORIZED_RETRY_MS = 60 * 60_000;
/** Longest wait for one HTTP request. */
export const REQUEST_TIMEOUT_MS = 30_000;

const DEFAULT_STATUS = {
  serverReachedAt: 0, // last time the server answered at all
  lastSendAt: 0, // last batch the server acknowledged
  configFetchedAt: 0,
  lastError: null, // {at, message}
  attempts: 0, // failed attempts in a row
  nextAttemptAt: 0,
  unauthorizedAt: 0, // non-zero: the token was refused, sending stopped
  batchLimit: BATCH_SIZE,
  sent: 0, // events the server accepted
  duplicates: 0,
  rejected: 0, // events the server refused (by index, or alone in a 400/413)
  droppedOverflow: 0, // events dropped because the queue was full
  serverDropped: {}, // reason -> count, as reported by the server
};

/** Returns {name, version} of the browser from its user agent. */
export function detectBrowser(ua = "") {
  for (const [re, name] of [
    [/Edg\/([\d.]+)/, "edge"],
    [/Firefox\/([\d.]+)/, "firefox"],
    [/Chrom(?:e|ium)\/([\d.]+)/, "chrome"],
  ]) {
    const m = re.exec(ua);
    if (m) return { name, version: m[1] };
  }
  return { name: "unknown", version: "" };
}

export class Agent {
  /**
   * @param {object} o
   * @param {object} o.api        the extension API (chrome or browser namespace)
   * @param {Function} o.fetch    fetch
   * @param {() => number} [o.now]
   * @param {() => number} [o.random]
   * @param {() => string} [o.newId]
   * @param {{name:string, version:string}} [o.browser]
   * @param {Function} [o.setTimer]  setTimeout
   * @param {Function} [o.clearTimer]
   * @param {(err: Error) => void} [o.onError]  unexpected errors of timer-driven sends
   */
  constructor(o) {
    this.api = o.api;
    this.fetch = o.fetch;
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
    this.newId = o.newId ?? (() => crypto.randomUUID());
    this.browser = o.browser ?? { name: "unknown", version: "" };
    // Wrapped: browsers throw "Illegal invocation" when these are called
    // as methods of another object.
    this.setTimer = o.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = o.clearTimer ?? ((t) => clearTimeout(t));
    this.onError = o.onError ?? ((err) => console.error("webusage:", err));
    this.chain = Promise.resolve();
    this.matcherKey = ""; // cache: the applications the matcher was built from
    this.matcher = new Matcher([]);
    this.sessionChecked = false;
    this.sending = null;
    this.flushAgain = false;
    this.timer = null;
  }

  /** Runs fn after every earlier state change; returns its result. */
  run(fn) {
    const p = this.chain.then(fn);
    this.chain = p.catch(() => {});
    return p;
  }

  async get(key, dflt) {
    const v = (await this.api.storage.local.get(key))[key];
    return v === undefined ? dflt : v;
  }

  async status() {
    return { ...DEFAULT_STATUS, ...(await this.get("status", {})) };
  }

  async updateStatus(patch) {
    const s = { ...(await this.status()), ...patch };
    await this.api.storage.local.set({ status: s });
    return s;
  }

  async config() {
    const c = await this.get("config", null);
    return normalizeConfig(c);
  }

  /** Called whenever the worker starts: alarms, idle threshold, timers. */
  async wake() {
    const cfg = await this.run(() => this.config());
    await this.applyConfigToBrowser(cfg);
    await this.handle("wake");
    this.scheduleFlush(0);
  }

  async applyConfigToBrowser(cfg) {
    this.api.idle.setDetectionInterval(cfg.idle_seconds);
    await this.ensureAlarm("checkpoint", CHECKPOINT_MS / 60_000);
    // Chromium fires alarms at most every 30 s; shorter flush periods rely
    // on the in-worker timer while the worker runs.
    await this.ensureAlarm("flush", Math.max(0.5, cfg.flush_seconds / 60));
  }

  /**
   * Creates a periodic alarm unless it exists with that period: re-creating
   * it on every worker start would push it back each time, and an alarm that
   * is always pushed back never fires.
   */
  async ensureAlarm(name, periodInMinutes) {
    const existing = await this.api.alarms.get(name);
    if (existing?.periodInMinutes !== periodInMinutes) await this.api.alarms.create(name, { periodInMinutes });
  }

  /** Re-evaluates what is being used, after any browser event. */
  handle(reason) {
    return this.run(() => this.evaluate(reason));
  }

  /** Routes an alarm. */
  onAlarm(name) {
    if (name === "flush") return this.flush();
    return this.handle("checkpoint");
  }

  /** Reacts to new settings (options page or policy): try again at once. */
  async onStorageChanged(changes, area) {
    if (area === "managed" || (area === "local" && "settings" in changes)) {
      await this.run(() => this.updateStatus({ unauthorizedAt: 0, attempts: 0, nextAttemptAt: 0, configFetchedAt: 0, lastError: null }));
      this.scheduleFlush(0);
    }
  }

  /** What should be counted right now, from the browser's state. */
  async observe(cfg) {
    if (!cfg.collect_web_usage || cfg.applications.length === 0) return { target: null };
    const key = JSON.stringify(cfg.applications);
    if (this.matcherKey !== key) {
      this.matcher = new Matcher(cfg.applications);
      this.matcherKey = key;
    }
    const idle = await this.api.idle.queryState(cfg.idle_seconds);
    if (idle === "locked") return { target: null };
    let win;
    try {
      win = await this.api.windows.getLastFocused();
    } catch {
      return { target: null };
    }
    if (!win || !win.focused || win.incognito) return { target: null };
    const [tab] = await this.api.tabs.query({ active: true, windowId: win.id });
    if (!tab || !tab.url) return { target: null };
    const app = this.matcher.match(tab.url);
    if (!app) return { target: null };
    if (idle === "idle" && !tab.audible) return { target: null, idle: true };
    const target = { application: app.id, tabId: tab.id, audible: !!tab.audible };
    if (cfg.collect_urls && app.collect_urls) {
      const url = presanitize(tab.url);
      if (url) target.url = url;
    }
    return { target };
  }

  /** One step of the state machine; must run inside run(). */
  async evaluate(reason) {
    const cfg = await this.config();
    const obs = await this.observe(cfg);
    let restart = false;
    if (!this.sessionChecked && this.api.storage.session) {
      // Session storage is empty after a browser restart, not after a
      // service-worker restart.
      const { alive } = await this.api.storage.session.get("alive");
      if (!alive) {
        restart = true;
        await this.api.storage.session.set({ alive: true });
      }
      this.sessionChecked = true;
    }
    const state = await this.get("tracker", { current: null });
    const { state: next, events } = advance(
      state,
      { now: this.now(), ...obs, idleMs: cfg.idle_seconds * 1000, restart, cut: reason === "flush" },
      this.newId,
    );
    await this.api.storage.local.set({ tracker: next });
    if (events.length > 0) await this.enqueue(events);
  }

  /** Appends events to the stored queue, dropping the oldest past MAX_QUEUE. */
  async enqueue(events) {
    const queue = await this.get("queue", []);
    queue.push(...events);
    const over = queue.length - MAX_QUEUE;
    if (over > 0) {
      queue.splice(0, over);
      const s = await this.status();
      await this.updateStatus({ droppedOverflow: s.droppedOverflow + over });
    }
    await this.api.storage.local.set({ queue });
    if (queue.length >= BATCH_SIZE) this.scheduleFlush(0);
  }

  /** (Re)arms the in-worker flush timer; the flush alarm backs it up. */
  scheduleFlush(delayMs) {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = this.setTimer(() => {
      this.timer = null;
      this.flush().catch(this.onError);
    }, Math.max(0, delayMs));
  }

  /**
   * Sends what is queued: cuts the open interval, refreshes the config when
   * due, then posts batches until the queue is empty or the server fails.
   * Concurrent calls share one run.
   */
  flush() {
    if (this.sending) {
      // Settings or the queue changed during a send: go again after it.
      this.flushAgain = true;
      return this.sending;
    }
    this.sending = (async () => {
      do {
        this.flushAgain = false;
        await this.flushOnce();
      } while (this.flushAgain);
    })().finally(() => {
      this.sending = null;
    });
    return this.sending;
  }

  /** Sends now, even while a retry is waiting out its backoff (options page). */
  async sendNow() {
    await this.run(() => this.updateStatus({ nextAttemptAt: 0 }));
    return this.flush();
  }

  async flushOnce() {
    await this.handle("flush");
    let wait = Infinity;
    for (;;) {
      const plan = await this.run(() => this.plan());
      if (plan.wait !== undefined) {
        wait = plan.wait;
        break;
      }
      if (plan.idle) break;
      const ok = plan.config ? await this.refreshConfig(plan) : await this.sendBatch(plan);
      if (!ok) {
        const s = await this.run(() => this.status());
        if (!s.unauthorizedAt) wait = Math.max(0, s.nextAttemptAt - this.now());
        break;
      }
    }
    const cfg = await this.run(() => this.config());
    this.scheduleFlush(Math.min(wait, cfg.flush_seconds * 1000));
  }

  /** Decides the next request, if any. */
  async plan() {
    const settings = await loadSettings(this.api);
    if (!settings.serverUrl || !settings.enrollmentToken) return { idle: true };
    const now = this.now();
    const s = await this.status();
    if (s.unauthorizedAt && now - s.unauthorizedAt < UNAUTHORIZED_RETRY_MS) return { idle: true };
    if (now < s.nextAttemptAt) return { wait: s.nextAttemptAt - now };
    if (s.unauthorizedAt || now - s.configFetchedAt >= CONFIG_REFRESH_MS || now < s.configFetchedAt) {
      return { settings, config: true };
    }
    const queue = await this.get("queue", []);
    if (queue.length === 0) return { idle: true };
    return { settings, batch: queue.slice(0, Math.max(1, s.batchLimit)) };
  }

  async request(settings, path, init) {
    const headers = { Authorization: `Bearer ${settings.enrollmentToken}`, ...(init.headers ?? {}) };
    return this.fetch(`${settings.serverUrl}${path}`, { ...init, headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  }

  /** Fetches the server config; returns true on success. */
  async refreshConfig({ settings }) {
    let res;
    try {
      res = await this.request(settings, "/api/v1/extension/config", { method: "GET" });
    } catch (err) {
      return this.run(() => this.failed(0, null, `server unreachable (${err.name})`));
    }
    if (res.status !== 200) return this.run(() => this.failed(res.status, res.headers.get("Retry-After"), `config: server answered ${res.status}`));
    let body;
    try {
      body = await res.json();
    } catch {
      return this.run(() => this.failed(0, null, "config: server sent invalid JSON"));
    }
    return this.run(async () => {
      const cfg = normalizeConfig(body);
      await this.api.storage.local.set({ config: cfg });
      const now = this.now();
      await this.updateStatus({ configFetchedAt: now, serverReachedAt: now, attempts: 0, nextAttemptAt: 0, unauthorizedAt: 0, lastError: null });
      await this.applyConfigToBrowser(cfg);
      await this.evaluate("config");
      return true;
    });
  }

  /** Posts one batch and applies the answer; returns true to go on. */
  async sendBatch({ settings, batch }) {
    const body = {
      device: { id: await this.run(() => this.deviceId()) },
      browser: this.browser,
      events: batch,
    };
    if (settings.deviceName) body.device.name = settings.deviceName;
    if (settings.deviceTags.length > 0) body.device.tags = settings.deviceTags;
    if (settings.userName) body.user = { name: settings.userName };
    let res;
    try {
      res = await this.request(settings, "/api/v1/events", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch (err) {
      return this.run(() => this.failed(0, null, `server unreachable (${err.name})`));
    }
    let json = null;
    if (res.status === 200) {
      try {
        json = await res.json();
      } catch {
        // Treated as a failure below: the batch is resent (ids make it safe).
        return this.run(() => this.failed(0, null, "events: server sent invalid JSON"));
      }
    }
    const verdict = interpret(res.status, json, batch.length);
    return this.run(async () => {
      const s = await this.status();
      const now = this.now();
      switch (verdict.kind) {
        case "sent": {
          await this.removeFromQueue(batch);
          const dropped = { ...s.serverDropped };
          for (const [k, n] of Object.entries(verdict.dropped)) dropped[k] = (dropped[k] ?? 0) + (Number(n) || 0);
          await this.updateStatus({
            lastSendAt: now,
            serverReachedAt: now,
            attempts: 0,
            nextAttemptAt: 0,
            lastError: verdict.rejected > 0 ? { at: now, message: `server rejected ${verdict.rejected} event(s)` } : null,
            batchLimit: Math.min(BATCH_SIZE, s.batchLimit * 2),
            sent: s.sent + verdict.accepted,
            duplicates: s.duplicates + verdict.duplicates,
            rejected: s.rejected + verdict.rejected,
            serverDropped: dropped,
          });
          return true;
        }
        case "split":
          await this.updateStatus({ serverReachedAt: now, batchLimit: Math.ceil(batch.length / 2) });
          return true;
        case "reject":
          await this.removeFromQueue(batch);
          await this.updateStatus({
            serverReachedAt: now,
            rejected: s.rejected + batch.length,
            lastError: { at: now, message: `server refused an event (${res.status})` },
          });
          return true;
        default:
          return this.failed(res.status, res.headers.get("Retry-After"), `events: server answered ${res.status}`);
      }
    });
  }

  /** Records a failed request and when to try again; returns false. */
  async failed(status, retryAfter, message) {
    const s = await this.status();
    const now = this.now();
    const patch = { lastError: { at: now, message } };
    if (status !== 0) patch.serverReachedAt = now;
    if (status === 401) {
      patch.unauthorizedAt = now;
      patch.lastError = { at: now, message: "the server refused the enrollment token (401): sending stopped" };
    } else {
      patch.attempts = s.attempts + 1;
      const after = status === 503 || status === 429 ? parseRetryAfter(retryAfter, now) : null;
      patch.nextAttemptAt = now + (after ?? backoffDelay(patch.attempts, this.random));
    }
    await this.updateStatus(patch);
    return false;
  }

  async removeFromQueue(batch) {
    const ids = new Set(batch.map((e) => e.id));
    const queue = await this.get("queue", []);
    await this.api.storage.local.set({ queue: queue.filter((e) => !ids.has(e.id)) });
  }

  async deviceId() {
    let id = await this.get("deviceId", "");
    if (!id) {
      id = this.newId();
      await this.api.storage.local.set({ deviceId: id });
    }
    return id;
  }
}
