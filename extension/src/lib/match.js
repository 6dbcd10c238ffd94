// URL-to-application matching, with exactly the server's semantics
// (webapps/pattern.go, webapps/match.go; shared vectors in
// webapps/testdata/patterns.json):
//
// - a pattern is host/path: no scheme, no port, no query or fragment;
// - the host compares case-insensitively, in punycode, and may start with
//   "*." which matches any subdomain and the bare domain itself;
// - the path is a prefix when it ends with "*", exact otherwise, and compares
//   case-sensitively in its escaped form; a pattern without a path covers
//   every path of its host;
// - only http and https URLs match; ports, userinfo, query and fragment of
//   the URL are ignored;
// - when several patterns match, the most specific wins: longest host, then
//   exact host over wildcard, then longest path, then exact path over prefix,
//   then the lowest application id.

const MAX_PATTERN_LENGTH = 512;

/** Returns the lower-case ASCII (punycode) form of host, or "" if invalid. */
function asciiHost(host) {
  try {
    return new URL(`http://${host}/`).hostname;
  } catch {
    return "";
  }
}

/**
 * Parses one pattern. Returns {host, wildcard, path, prefix} or throws an
 * Error saying why the pattern is invalid.
 */
export function parsePattern(s) {
  const bad = (reason) => {
    throw new Error(`invalid pattern ${JSON.stringify(s)}: ${reason}`);
  };
  if (typeof s !== "string" || s === "") bad("empty");
  if (s.length > MAX_PATTERN_LENGTH) bad(`longer than ${MAX_PATTERN_LENGTH} characters`);
  if (s.includes("://")) bad("must not have a scheme");
  if (/[?#]/.test(s)) bad("must not have a query or fragment");
  if (/[ \t\r\n\\]/.test(s)) bad("must not contain spaces or backslashes");
  const slash = s.indexOf("/");
  let host = slash < 0 ? s : s.slice(0, slash);
  let wildcard = false;
  if (host.startsWith("*.")) {
    wildcard = true;
    host = host.slice(2);
  }
  if (host.includes(":")) bad("must not have a port");
  if (host.includes("@")) bad("must not have user information");
  if (host.includes("*")) bad('"*" is allowed only as the first host label');
  if (host.endsWith(".")) host = host.slice(0, -1);
  if (host === "") bad("missing host");
  const ascii = asciiHost(host);
  if (ascii === "" || ascii.split(".").some((label) => label === "")) bad("host is not a valid domain name");
  if (slash < 0) return { host: ascii, wildcard, path: "/", prefix: true };
  let path = s.slice(slash);
  const star = path.indexOf("*");
  if (star >= 0 && star !== path.length - 1) bad('"*" is allowed only at the end of the path');
  const prefix = path.endsWith("*");
  if (prefix) path = path.slice(0, -1);
  return { host: ascii, wildcard, path, prefix };
}

function matchesHost(p, host) {
  if (host === p.host) return true;
  return p.wildcard && host.endsWith(p.host) && host[host.length - p.host.length - 1] === ".";
}

function matchesPath(p, path) {
  return p.prefix ? path.startsWith(p.path) : path === p.path;
}

// moreSpecific reports whether pattern p wins over q when both match.
function moreSpecific(p, q) {
  if (p.host.length !== q.host.length) return p.host.length > q.host.length;
  if (p.wildcard !== q.wildcard) return !p.wildcard;
  if (p.path.length !== q.path.length) return p.path.length > q.path.length;
  if (p.prefix !== q.prefix) return !p.prefix;
  return false;
}

/**
 * A Matcher finds the application a URL belongs to. Invalid patterns are
 * skipped (the server refuses them, so they never reach a valid config) and
 * listed in `invalid`.
 */
export class Matcher {
  /** @param {Array<{id:number, patterns:string[]}>} applications */
  constructor(applications) {
    this.entries = [];
    this.invalid = [];
    for (const app of applications ?? []) {
      for (const s of app.patterns ?? []) {
        try {
          this.entries.push({ app, pattern: parsePattern(s) });
        } catch (err) {
          this.invalid.push(err.message);
        }
      }
    }
  }

  /** Returns the matching application object, or null. */
  match(rawURL) {
    let u;
    try {
      u = new URL(rawURL);
    } catch {
      return null;
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") return null;
    let host = u.hostname.toLowerCase();
    if (host.endsWith(".")) host = host.slice(0, -1);
    if (host === "") return null;
    const path = u.pathname || "/";
    let best = null;
    for (const e of this.entries) {
      if (!matchesHost(e.pattern, host) || !matchesPath(e.pattern, path)) continue;
      if (
        best === null ||
        moreSpecific(e.pattern, best.pattern) ||
        (!moreSpecific(best.pattern, e.pattern) && e.app.id < best.app.id)
      ) {
        best = e;
      }
    }
    return best ? best.app : null;
  }
}

/**
 * Returns the URL as it may leave the device: scheme, host, port and path
 * only (userinfo, query and fragment removed), or null when it is not an
 * http(s) URL. The server sanitizes it again.
 */
export function presanitize(rawURL) {
  let u;
  try {
    u = new URL(rawURL);
  } catch {
    return null;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return null;
  return `${u.protocol}//${u.host}${u.pathname}`;
}
