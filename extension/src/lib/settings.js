// Where the extension's own settings come from: enterprise policy (managed
// storage) wins field by field over what the options page saved.

/** The managed-storage keys (managed_schema.json), all optional. */
export const SETTING_KEYS = ["serverUrl", "enrollmentToken", "deviceName", "userName", "deviceTags"];

function present(v) {
  if (Array.isArray(v)) return v.length > 0;
  return typeof v === "string" && v.trim() !== "";
}

/** Returns the server URL without trailing slashes, or "" unless it is http(s). */
export function normalizeServerUrl(s) {
  if (typeof s !== "string") return "";
  let u;
  try {
    u = new URL(s.trim());
  } catch {
    return "";
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return "";
  return `${u.origin}${u.pathname}`.replace(/\/+$/, "");
}

/**
 * Reads the effective settings. `managed` lists the keys set by policy, so
 * the options page can show them read-only.
 */
export async function loadSettings(api) {
  let managed = {};
  try {
    managed = (await api.storage.managed.get()) ?? {};
  } catch {
    // No policy (Firefox throws when no managed storage is configured).
  }
  const local = (await api.storage.local.get("settings")).settings ?? {};
  const out = { managed: [] };
  for (const k of SETTING_KEYS) {
    if (present(managed[k])) {
      out[k] = managed[k];
      out.managed.push(k);
    } else if (present(local[k])) out[k] = local[k];
  }
  out.serverUrl = normalizeServerUrl(out.serverUrl);
  if (typeof out.enrollmentToken === "string") out.enrollmentToken = out.enrollmentToken.trim();
  if (typeof out.deviceTags === "string") out.deviceTags = out.deviceTags.split(",");
  out.deviceTags = (out.deviceTags ?? []).map((t) => String(t).trim()).filter((t) => t !== "");
  return out;
}

/** Parses and bounds a server config (GET /api/v1/extension/config). */
export function normalizeConfig(raw) {
  const c = raw && typeof raw === "object" ? raw : {};
  const clamp = (v, lo, hi, dflt) => (Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : dflt);
  return {
    collect_web_usage: c.collect_web_usage !== false,
    collect_urls: c.collect_urls === true,
    applications: (Array.isArray(c.applications) ? c.applications : [])
      .filter((a) => a && Number.isFinite(a.id) && Array.isArray(a.patterns))
      .map((a) => ({ id: a.id, name: String(a.name ?? ""), patterns: a.patterns.map(String), collect_urls: a.collect_urls === true })),
    idle_seconds: clamp(c.idle_seconds, 15, 3600, 60),
    flush_seconds: clamp(c.flush_seconds, 5, 3600, 60),
  };
}
