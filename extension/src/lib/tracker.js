// The time-accounting state machine. It is a pure function of the stored
// state and one observation, so the service worker can die at any moment:
// everything it needs lives in extension storage.
//
// An interval is open while the browser shows a configured application in
// the focused window's active tab and the user is present. Each observation
// either extends the open interval (same application, tab and URL), or
// closes it and opens the next one. Closed intervals become usage events.

/** How often the open interval is checkpointed (the alarm period). */
export const CHECKPOINT_MS = 30_000;

/**
 * A gap longer than this between two observations means the machine slept,
 * the browser was killed or the clock jumped: the interval is closed at its
 * last checkpoint, so at most one checkpoint period is lost and the gap is
 * never counted.
 */
export const MAX_GAP_MS = 5 * CHECKPOINT_MS;

/** Intervals shorter than this (redirect chains, flicker) are not reported. */
export const MIN_EVENT_MS = 250;

/**
 * Target is what should be counted now: {application, tabId, url, audible},
 * or null when nothing should be counted.
 * @typedef {{application:number, tabId:number, url?:string, audible?:boolean}|null} Target
 */

function sameTarget(cur, t) {
  return t !== null && cur.application === t.application && cur.tabId === t.tabId && (cur.url ?? null) === (t.url ?? null);
}

function usageEvent(cur, end, newId) {
  const ev = {
    id: newId(),
    type: "usage",
    application: cur.application,
    start: new Date(cur.start).toISOString(),
    duration_ms: Math.round(end - cur.start),
  };
  if (cur.url) ev.url = cur.url;
  return ev;
}

/**
 * Advances the tracker by one observation and returns the new state and the
 * usage events it closed.
 *
 * @param {{current: object|null}} state  stored state (not modified)
 * @param {object} obs
 * @param {number} obs.now           wall-clock time in ms
 * @param {Target} obs.target        what should be counted now
 * @param {boolean} [obs.idle]       target is null because the user is idle
 * @param {number} [obs.idleMs]      the idle threshold: an idle user stopped
 *                                   at least this long ago
 * @param {boolean} [obs.restart]    the browser restarted since the last
 *                                   observation: the stored interval ended at
 *                                   its last checkpoint
 * @param {boolean} [obs.cut]        report the open interval so far and go on
 *                                   (used before each send)
 * @param {() => string} newId       event id generator
 * @returns {{state: {current: object|null}, events: object[]}}
 */
export function advance(state, obs, newId) {
  const { now, target = null } = obs;
  const events = [];
  let cur = state?.current ? { ...state.current } : null;
  const close = (end) => {
    if (end - cur.start >= MIN_EVENT_MS) events.push(usageEvent(cur, end, newId));
    cur = null;
  };
  if (cur && (obs.restart || now < cur.seen || now - cur.seen > MAX_GAP_MS)) {
    // Restart, clock set back, sleep or a dead worker: trust only what was
    // checkpointed.
    close(Math.max(cur.start, cur.seen));
  }
  if (cur && !sameTarget(cur, target)) {
    let end = now;
    if (target === null && obs.idle && !cur.audible) {
      // The user left idleMs ago; an audible tab was counted until now.
      end = Math.max(cur.start, now - (obs.idleMs ?? 0));
    }
    close(end);
  }
  if (cur) {
    cur.seen = now;
    cur.audible = !!target.audible;
    if (obs.cut && now - cur.start >= MIN_EVENT_MS) {
      events.push(usageEvent(cur, now, newId));
      cur.start = now;
    }
  } else if (target) {
    cur = { application: target.application, tabId: target.tabId, start: now, seen: now, audible: !!target.audible };
    if (target.url) cur.url = target.url;
  }
  return { state: { current: cur }, events };
}
