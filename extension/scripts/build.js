// Builds the extension from src/ into unpacked directories and zips:
//   dist/chromium/ + dist/webusage-chromium.zip  (Chrome, Edge: service worker)
//   dist/firefox/  + dist/webusage-firefox.zip   (Firefox: background scripts, gecko id)
// No network, no dependencies. EXTENSION_DIST overrides the output directory.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { zip } from "./zip.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src");
const dist = process.env.EXTENSION_DIST || join(root, "dist");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const base = JSON.parse(readFileSync(join(src, "manifest.json"), "utf8"));

/** The Firefox add-on id (policy and about:debugging refer to it). */
export const GECKO_ID = "webusage@webusage.dev";

/** Returns the Chromium extension id that a manifest key gives. */
export function chromiumId(key) {
  const hex = createHash("sha256").update(Buffer.from(key, "base64")).digest("hex").slice(0, 32);
  return [...hex].map((h) => String.fromCharCode(97 + parseInt(h, 16))).join("");
}

const manifests = {
  chromium: {
    ...base,
    version: pkg.version,
    minimum_chrome_version: "120",
    background: { service_worker: "background.js", type: "module" },
    storage: { managed_schema: "managed_schema.json" },
  },
  firefox: (() => {
    const { key, ...rest } = base;
    return {
      ...rest,
      version: pkg.version,
      background: { scripts: ["background.js"], type: "module" },
      browser_specific_settings: { gecko: { id: GECKO_ID, strict_min_version: "115.0" } },
    };
  })(),
};

function files(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? files(p) : [p];
    });
}

for (const [target, manifest] of Object.entries(manifests)) {
  const out = join(dist, target);
  rmSync(out, { recursive: true, force: true });
  const entries = [{ name: "manifest.json", data: Buffer.from(JSON.stringify(manifest, null, 2) + "\n") }];
  for (const f of files(src)) {
    const name = relative(src, f).split(sep).join("/");
    if (name === "manifest.json") continue;
    if (target === "firefox" && name === "managed_schema.json") continue;
    entries.push({ name, data: readFileSync(f) });
  }
  for (const { name, data } of entries) {
    mkdirSync(dirname(join(out, name)), { recursive: true });
    writeFileSync(join(out, name), data);
  }
  writeFileSync(join(dist, `webusage-${target}.zip`), zip(entries));
  console.log(`built ${relative(root, out)} and ${relative(root, join(dist, `webusage-${target}.zip`))} (${entries.length} files)`);
}
console.log(`chromium extension id: ${chromiumId(base.key)}; firefox add-on id: ${GECKO_ID}`);
