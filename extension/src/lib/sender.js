// Delivery policy: how long to wait before retrying, and what a server
// answer means for the queue. Pure functions; the agent applies them.

/** Events per request (the server bounds batches; 100 is its sweet spot). */
export const BATCH_SIZE = 100;
/** First retry delay; doubles per failed attempt. */
export const BACKOFF_BASE_MS = 1_000;
/** Longest wait between two attempts. */
export const BACKOFF_CAP_MS = 10 * 60_000;
/** Longest Retry-After honored (a broken header must not stop sending for days). */
export const RETRY_AFTER_CAP_MS = 60 * 60_000;

/**
 * Returns the wait before retry number `attempt` (1 for the first retry):
 * exponential, capped, with "equal jitter" — a random point in the upper
 * half — so a fleet that lost its server does not come back in lockstep.
 */
export function backoffDelay(attempt, random = Math.random) {
  const n = Math.max(1, attempt);
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(n - 1, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * Parses a Retry-After header (delta seconds or an HTTP date) into ms from
 * now, capped; null when absent or unreadable.
 */
export function parseRetryAfter(value, now) {
  if (value === null || value === undefined || String(value).trim() === "") return null;
  const s = String(value).trim();
  let ms;
  if (/^\d+$/.test(s)) ms = Number(s) * 1000;
  else {
    const t = Date.parse(s);
    if (Number.isNaN(t)) return null;
    ms = t - now;
  }
  return Math.min(RETRY_AFTER_CAP_MS, Math.max(0, ms));
}

/**
 * Decides what to do with a batch after the server answered.
 *
 * @param {number} status  HTTP status, or 0 when the request failed
 * @param {object|null} body  the parsed JSON body of a 200
 * @param {number} batchLength
 * @returns {{kind: "sent", rejected: number, accepted: number, duplicates: number, dropped: object}
 *   | {kind: "unauthorized"}
 *   | {kind: "split"}          // 400/413 on several events: send half as many
 *   | {kind: "reject"}         // 400/413 on a single event: drop it, counted
 *   | {kind: "retry"}}         // anything else: back off (503/429 honor Retry-After)
 */
export function interpret(status, body, batchLength) {
  if (status === 200 || status === 207) {
    const b = body && typeof body === "object" ? body : {};
    return {
      kind: "sent",
      accepted: Number(b.accepted) || 0,
      duplicates: Number(b.duplicates) || 0,
      rejected: Array.isArray(b.errors) ? b.errors.length : 0,
      dropped: b.dropped && typeof b.dropped === "object" ? b.dropped : {},
    };
  }
  if (status === 401) return { kind: "unauthorized" };
  if (status === 400 || status === 413) return batchLength > 1 ? { kind: "split" } : { kind: "reject" };
  return { kind: "retry" };
}
