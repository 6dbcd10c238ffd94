import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Matcher, parsePattern, presanitize } from "../src/lib/match.js";

// The vectors the Go server runs too (webapps/match_test.go).
const vectors = JSON.parse(readFileSync(new URL("../../webapps/testdata/patterns.json", import.meta.url), "utf8"));

test("shared vectors: every case matches like the server", () => {
  let n = 0;
  for (const group of vectors.groups) {
    const m = new Matcher(group.applications);
    assert.deepEqual(m.invalid, [], group.description);
    for (const c of group.cases) {
      const got = m.match(c.url);
      assert.equal(got ? got.id : null, c.want, `${group.description}: ${c.url}`);
      n++;
    }
  }
  assert.ok(n > 20, `ran only ${n} cases`);
});

test("shared vectors: invalid patterns are refused", () => {
  assert.ok(vectors.invalid_patterns.length > 0);
  for (const p of vectors.invalid_patterns) {
    assert.throws(() => parsePattern(p), /invalid pattern/, JSON.stringify(p));
  }
  const m = new Matcher([{ id: 1, patterns: vectors.invalid_patterns }]);
  assert.equal(m.entries.length, 0);
  assert.equal(m.invalid.length, vectors.invalid_patterns.length);
});

test("presanitize keeps scheme, host, port and path only", () => {
  const cases = [
    ["https://user:p@ss@crm.example.com:8443/a/b?token=x#frag", "https://crm.example.com:8443/a/b"],
    ["http://crm.example.com", "http://crm.example.com/"],
    ["https://crm.example.com/a?b#c", "https://crm.example.com/a"],
    ["HTTPS://CRM.Example.com/Path", "https://crm.example.com/Path"],
    ["chrome://settings/", null],
    ["file:///etc/passwd", null],
    ["not a url", null],
  ];
  for (const [input, want] of cases) assert.equal(presanitize(input), want, input);
});
