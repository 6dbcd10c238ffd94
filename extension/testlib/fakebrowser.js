// A small, faithful-enough fake of the extension APIs the agent uses:
// storage (local, session, managed, onChanged), tabs, windows, idle, alarms
// and runtime, plus a manual clock, manual timers and a scripted fetch.

class Event {
  constructor() {
    this.listeners = [];
  }
  addListener(fn) {
    this.listeners.push(fn);
  }
  fire(...args) {
    for (const fn of this.listeners) fn(...args);
  }
}

class Area {
  constructor(name, onChanged, data = {}) {
    this.name = name;
    this.onChanged = onChanged;
    this.data = structuredClone(data);
    this.writes = 0;
  }
  async get(keys) {
    const all = structuredClone(this.data);
    if (keys === null || keys === undefined) return all;
    const list = typeof keys === "string" ? [keys] : Array.isArray(keys) ? keys : Object.keys(keys);
    const out = {};
    for (const k of list) if (k in all) out[k] = all[k];
    return out;
  }
  async set(items) {
    this.writes++;
    const changes = {};
    for (const [k, v] of Object.entries(structuredClone(items))) {
      changes[k] = { oldValue: this.data[k], newValue: v };
      this.data[k] = v;
    }
    this.onChanged.fire(changes, this.name);
  }
}

/** A browser with one normal window holding one tab. */
export class FakeBrowser {
  constructor({ now = Date.UTC(2026, 10, 23, 9, 0, 0) } = {}) {
    this.clock = now;
    this.onStorageChanged = new Event();
    this.local = new Area("local", this.onStorageChanged);
    this.session = new Area("session", this.onStorageChanged);
    this.managedData = null; // null: no policy (managed.get throws, like Firefox)
    this.windowsList = [{ id: 1, focused: true, incognito: false }];
    this.tabsList = [{ id: 10, windowId: 1, active: true, url: "about:blank", audible: false }];
    this.idleState = "active";
    this.idleInterval = null;
    this.alarms = new Map();
    this.timers = [];
    this.requests = [];
    this.responder = () => ({ status: 503 });
    const self = this;
    this.api = {
      storage: {
        local: this.local,
        session: this.session,
        managed: {
          async get() {
            if (self.managedData === null) throw new Error("Managed storage manifest not found");
            return structuredClone(self.managedData);
          },
        },
        onChanged: this.onStorageChanged,
      },
      tabs: {
        async query({ active, windowId }) {
          return self.tabsList.filter((t) => (active === undefined || t.active === active) && (windowId === undefined || t.windowId === windowId)).map((t) => ({ ...t }));
        },
        onActivated: new Event(),
        onUpdated: new Event(),
        onRemoved: new Event(),
      },
      windows: {
        async getLastFocused() {
          const w = self.windowsList.find((x) => x.focused) ?? self.windowsList[0];
          if (!w) throw new Error("No window");
          return { ...w };
        },
        onFocusChanged: new Event(),
        onRemoved: new Event(),
      },
      idle: {
        async queryState(seconds) {
          self.idleQueried = seconds;
          return self.idleState;
        },
        setDetectionInterval(s) {
          self.idleInterval = s;
        },
        onStateChanged: new Event(),
      },
      alarms: {
        async create(name, info) {
          self.alarms.set(name, { name, ...info, created: self.clock });
        },
        async get(name) {
          const a = self.alarms.get(name);
          return a ? { name, periodInMinutes: a.periodInMinutes } : undefined;
        },
        onAlarm: new Event(),
      },
    };
  }

  now() {
    return this.clock;
  }

  advance(ms) {
    this.clock += ms;
  }

  setTimer(fn, ms) {
    const t = { fn, at: this.clock + ms, cleared: false };
    this.timers.push(t);
    return t;
  }

  clearTimer(t) {
    if (t) t.cleared = true;
  }

  /** The pending timer, if any (the agent keeps at most one). */
  pendingTimer() {
    return this.timers.filter((t) => !t.cleared).at(-1) ?? null;
  }

  /** fetch: records the request and answers with this.responder(req). */
  async fetch(url, init) {
    const req = { url, method: init.method, headers: init.headers, body: init.body ? JSON.parse(init.body) : null };
    this.requests.push(req);
    const r = await this.responder(req);
    if (r.throw) throw r.throw;
    const headers = new Map(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    return {
      status: r.status,
      headers: { get: (k) => headers.get(k.toLowerCase()) ?? null },
      async json() {
        if (r.body === undefined) throw new SyntaxError("no body");
        return structuredClone(r.body);
      },
    };
  }

  /** Points the only tab at url. */
  go(url, extra = {}) {
    Object.assign(this.tabsList[0], { url, ...extra });
  }

  /** Opens a new active tab in window 1 (the old one becomes inactive). */
  openTab(id, url) {
    for (const t of this.tabsList) if (t.windowId === 1) t.active = false;
    this.tabsList.push({ id, windowId: 1, active: true, url, audible: false });
  }

  activate(id) {
    for (const t of this.tabsList) t.active = t.id === id;
  }

  focus(focused) {
    this.windowsList[0].focused = focused;
  }

  /** Simulates a browser restart: session storage is cleared. */
  restart() {
    this.session.data = {};
  }
}
