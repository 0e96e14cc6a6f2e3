// One server-sent-events stream per tab (GET /api/v1/events/orders): each message is an order's
// whole board row after a change. EventSource reconnects by itself and resumes from the last
// event id it saw, so a dropped network or a restarted service loses nothing.
/* global EventSource, URLSearchParams */
import { token } from './api.js';

/**
 * @typedef {import('./api.js').FeedMessage} FeedMessage
 * @typedef {'connecting' | 'live' | 'reconnecting' | 'refused'} FeedState
 */

/** @type {EventSource | null} */
let source = null;
/** @type {Set<(m: FeedMessage) => void>} */
const messageListeners = new Set();
/** @type {Set<(s: FeedState) => void>} */
const stateListeners = new Set();
/** @type {FeedState} */
let state = 'connecting';

/** @param {FeedState} next */
function setState(next) {
  state = next;
  for (const l of stateListeners) l(next);
}

/** Opens the stream unless it is open; `after` is the board snapshot's lastEventId. @param {number} [after] */
export function connectFeed(after) {
  if (source !== null) return;
  const params = new URLSearchParams({ token: token() ?? '' });
  if (after !== undefined) params.set('after', String(after));
  const es = new EventSource(`/api/v1/events/orders?${params.toString()}`);
  source = es;
  setState('connecting');
  es.addEventListener('ready', () => setState('live'));
  es.addEventListener('order', (e) => {
    /** @type {unknown} */
    const parsed = JSON.parse(/** @type {MessageEvent<string>} */ (e).data);
    const message = /** @type {FeedMessage} */ (parsed);
    for (const l of messageListeners) l(message);
  });
  es.addEventListener('error', () => {
    // CLOSED: the server answered with an error (a refused token); EventSource gives up.
    if (es.readyState === EventSource.CLOSED) {
      setState('refused');
      source = null;
    } else {
      setState('reconnecting');
    }
  });
}

export function disconnectFeed() {
  source?.close();
  source = null;
}

/** @param {(m: FeedMessage) => void} listener @returns {() => void} */
export function onOrder(listener) {
  messageListeners.add(listener);
  return () => messageListeners.delete(listener);
}

/** @param {(s: FeedState) => void} listener @returns {() => void} */
export function onFeedState(listener) {
  stateListeners.add(listener);
  listener(state);
  return () => stateListeners.delete(listener);
}
