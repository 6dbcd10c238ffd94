// Options page: settings for unmanaged installs (policy-managed fields are
// shown read-only) and the agent's status, live from extension storage.
import { SETTING_KEYS, loadSettings, normalizeServerUrl } from "./lib/settings.js";

const api = globalThis.browser ?? globalThis.chrome;
const $ = (id) => document.getElementById(id);

function when(ms) {
  return ms ? new Date(ms).toLocaleString() : "never";
}

async function showSettings() {
  const eff = await loadSettings(api);
  const local = (await api.storage.local.get("settings")).settings ?? {};
  for (const k of SETTING_KEYS) {
    const managed = eff.managed.includes(k);
    let v = managed ? eff[k] : local[k];
    if (Array.isArray(v)) v = v.join(", ");
    $(k).value = v ?? "";
    $(k).disabled = managed;
  }
  $("managed-note").hidden = eff.managed.length === 0;
}

async function showStatus() {
  const { status = {}, queue = [], config = null } = await api.storage.local.get(["status", "queue", "config"]);
  $("serverReached").textContent = when(status.serverReachedAt);
  $("lastSend").textContent = when(status.lastSendAt);
  $("queued").textContent = String(queue.length);
  $("applications").textContent = String(config?.applications?.length ?? 0);
  $("sent").textContent = String(status.sent ?? 0);
  $("rejected").textContent = String(status.rejected ?? 0);
  $("overflow").textContent = String(status.droppedOverflow ?? 0);
  const err = status.unauthorizedAt
    ? { message: "the server refused the enrollment token: sending stopped", at: status.unauthorizedAt }
    : status.lastError;
  $("lastError").textContent = err ? `${err.message} (${when(err.at)})` : "none";
  $("lastError").classList.toggle("error", !!err);
}

$("settings").addEventListener("submit", async (e) => {
  e.preventDefault();
  const serverUrl = $("serverUrl").value.trim();
  if (serverUrl && !normalizeServerUrl(serverUrl)) {
    $("saved").textContent = "The server URL must start with http:// or https://";
    return;
  }
  const settings = {};
  for (const k of SETTING_KEYS) {
    if ($(k).disabled) continue;
    const v = $(k).value.trim();
    if (v) settings[k] = k === "deviceTags" ? v.split(",").map((t) => t.trim()).filter(Boolean) : v;
  }
  await api.storage.local.set({ settings });
  $("saved").textContent = "Saved.";
});

$("flush").addEventListener("click", () => {
  api.runtime.sendMessage({ type: "flush" }).catch(() => {});
});

api.storage.onChanged.addListener(() => {
  showStatus();
});
showSettings();
showStatus();
