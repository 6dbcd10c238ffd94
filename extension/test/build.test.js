import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { crc32, zip } from "../scripts/zip.js";

const root = new URL("..", import.meta.url).pathname;

/** Reads a ZIP through its central directory: {name: Buffer}. */
function unzip(buf) {
  const end = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(end >= 0, "no end of central directory");
  const count = buf.readUInt16LE(end + 10);
  let p = buf.readUInt32LE(end + 16);
  const out = {};
  for (let i = 0; i < count; i++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString();
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(start, start + size);
    const data = method === 8 ? inflateRawSync(raw) : raw;
    assert.equal(crc32(data), crc, `crc of ${name}`);
    out[name] = data;
    p += 46 + nameLen;
  }
  return out;
}

test("crc32 matches the IEEE check value", () => {
  assert.equal(crc32(Buffer.from("123456789")), 0xcbf43926);
  assert.equal(crc32(Buffer.alloc(0)), 0);
});

test("zip round-trips stored and deflated entries, byte for byte reproducibly", () => {
  const entries = [
    { name: "a.txt", data: Buffer.from("hello ".repeat(100)) },
    { name: "dir/b.bin", data: Buffer.from([1]) },
  ];
  const z = zip(entries);
  assert.deepEqual(zip(entries), z);
  const files = unzip(z);
  assert.deepEqual(Object.keys(files), ["a.txt", "dir/b.bin"]);
  assert.equal(files["a.txt"].toString(), "hello ".repeat(100));
  assert.deepEqual([...files["dir/b.bin"]], [1]);
});

test("build: Chromium and Firefox manifests and zips", (t) => {
  const dist = mkdtempSync(join(tmpdir(), "webusage-ext-"));
  t.after(() => rmSync(dist, { recursive: true, force: true }));
  const log = execFileSync(process.execPath, ["scripts/build.js"], { cwd: root, env: { ...process.env, EXTENSION_DIST: dist } }).toString();
  assert.match(log, /chromium extension id: kgflmlnfoibblhlmjbnijdgalagkoiho/);

  const chromium = JSON.parse(readFileSync(join(dist, "chromium", "manifest.json"), "utf8"));
  assert.equal(chromium.manifest_version, 3);
  assert.deepEqual(chromium.permissions.sort(), ["alarms", "idle", "storage", "tabs"]);
  assert.equal(chromium.host_permissions, undefined, "no host access: the server answers CORS");
  assert.equal(chromium.incognito, "not_allowed");
  assert.deepEqual(chromium.background, { service_worker: "background.js", type: "module" });
  assert.equal(chromium.storage.managed_schema, "managed_schema.json");
  assert.ok(chromium.key.length > 300);
  const schema = JSON.parse(readFileSync(join(dist, "chromium", "managed_schema.json"), "utf8"));
  for (const k of ["serverUrl", "enrollmentToken", "deviceName", "userName"]) assert.equal(schema.properties[k].type, "string", k);

  const firefox = JSON.parse(readFileSync(join(dist, "firefox", "manifest.json"), "utf8"));
  assert.deepEqual(firefox.background, { scripts: ["background.js"], type: "module" });
  assert.equal(firefox.browser_specific_settings.gecko.id, "webusage@webusage.dev");
  assert.equal(firefox.key, undefined);
  assert.equal(firefox.storage, undefined);
  assert.equal(firefox.incognito, "not_allowed");

  for (const target of ["chromium", "firefox"]) {
    const files = unzip(readFileSync(join(dist, `webusage-${target}.zip`)));
    for (const f of ["manifest.json", "background.js", "options.html", "options.js", "lib/agent.js", "lib/match.js"]) {
      assert.deepEqual(files[f], readFileSync(join(dist, target, f)), `${target}: ${f}`);
    }
  }
});
