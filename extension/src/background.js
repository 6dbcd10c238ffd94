// Service worker (Chromium) / background script (Firefox). Listeners are
// registered synchronously at the top level so the browser can wake the
// worker for them; all state lives in extension storage (see lib/agent.js).
import { Agent, detectBrowser } from "./lib/agent.js";

const api = globalThis.browser ?? globalThis.chrome;
const agent = new Agent({
  api,
  fetch: (...args) => fetch(...args),
  browser: detectBrowser(navigator.userAgent),
});
// Errors are logged to the extension's own console only; they never carry a
// URL or a token.
const logError = (err) => console.error("webusage:", err);
const on = (reason) => () => {
  agent.handle(reason).catch(logError);
};

api.tabs.onActivated.addListener(on("tab"));
api.tabs.onUpdated.addListener((tabId, change) => {
  if ("url" in change || "audible" in change || change.status === "complete") on("tab")();
});
api.tabs.onRemoved.addListener(on("tab"));
api.windows.onFocusChanged.addListener(on("focus"));
api.windows.onRemoved.addListener(on("focus"));
api.idle.onStateChanged.addListener(on("idle"));
api.alarms.onAlarm.addListener((alarm) => {
  agent.onAlarm(alarm.name).catch(logError);
});
api.storage.onChanged.addListener((changes, area) => {
  agent.onStorageChanged(changes, area).catch(logError);
});
api.runtime.onSuspend?.addListener(on("checkpoint"));
api.runtime.onMessage.addListener((msg, _sender, reply) => {
  if (msg?.type === "flush") {
    agent.sendNow().then(() => reply({ ok: true }), (err) => reply({ ok: false, error: String(err) }));
    return true;
  }
  return false;
});

agent.wake().catch(logError);
