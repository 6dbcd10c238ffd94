import { test } from "node:test";
import assert from "node:assert/strict";
import { detectBrowser } from "../src/lib/agent.js";
import { loadSettings, normalizeConfig, normalizeServerUrl } from "../src/lib/settings.js";
import { FakeBrowser } from "../testlib/fakebrowser.js";

test("policy wins field by field; no policy falls back to the options page", async () => {
  const b = new FakeBrowser();
  b.local.data.settings = { serverUrl: "http://local.test/", enrollmentToken: " tok ", deviceName: "LOCAL", deviceTags: ["x"] };
  let s = await loadSettings(b.api);
  assert.deepEqual(s, { managed: [], serverUrl: "http://local.test", enrollmentToken: "tok", deviceName: "LOCAL", deviceTags: ["x"] });
  b.managedData = { serverUrl: "https://policy.test/webusage/", deviceName: "", userName: "corp\\jdoe" };
  s = await loadSettings(b.api);
  assert.deepEqual(s.managed, ["serverUrl", "userName"]);
  assert.equal(s.serverUrl, "https://policy.test/webusage");
  assert.equal(s.deviceName, "LOCAL");
  assert.equal(s.userName, "corp\\jdoe");
});

test("server URLs must be http(s)", () => {
  assert.equal(normalizeServerUrl("https://x.test:8443///"), "https://x.test:8443");
  assert.equal(normalizeServerUrl("javascript:alert(1)"), "");
  assert.equal(normalizeServerUrl("x.test"), "");
  assert.equal(normalizeServerUrl(undefined), "");
});

test("the server config is bounded and defaults are safe", () => {
  assert.deepEqual(normalizeConfig(null), { collect_web_usage: true, collect_urls: false, applications: [], idle_seconds: 60, flush_seconds: 60 });
  const c = normalizeConfig({
    collect_urls: "yes",
    idle_seconds: 1,
    flush_seconds: 1e9,
    applications: [{ id: 3, name: "A", patterns: ["a.test/*"], collect_urls: true }, { id: "x", patterns: [] }, null],
  });
  assert.equal(c.collect_urls, false, "only true turns URL collection on");
  assert.equal(c.idle_seconds, 15);
  assert.equal(c.flush_seconds, 3600);
  assert.deepEqual(c.applications, [{ id: 3, name: "A", patterns: ["a.test/*"], collect_urls: true }]);
});

test("detectBrowser names Chrome, Edge and Firefox", () => {
  const chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.7339.80 Safari/537.36";
  assert.deepEqual(detectBrowser(chrome), { name: "chrome", version: "140.0.7339.80" });
  assert.deepEqual(detectBrowser(`${chrome} Edg/140.0.3485.54`), { name: "edge", version: "140.0.3485.54" });
  assert.deepEqual(detectBrowser("Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"), { name: "firefox", version: "140.0" });
  assert.deepEqual(detectBrowser("curl/8"), { name: "unknown", version: "" });
});
