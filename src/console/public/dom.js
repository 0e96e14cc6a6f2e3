// Building the page without innerHTML: every text from the API goes in as a text node, so a
// summary or a name can never become markup.

/* global document, setTimeout, HTMLElement, HTMLInputElement, HTMLTextAreaElement */
/**
 * @typedef {string | number | Node | null | undefined | false} Leaf
 * @typedef {Leaf | Array<Leaf | Array<Leaf | Leaf[]>>} Child
 * @typedef {Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>} Attrs
 */

/**
 * h('td', {class: 'x', onclick: fn}, 'text', child…): an element with attributes and children.
 * `on…` attributes become listeners; null, undefined and false attributes and children are skipped.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

/** @param {Node} parent @param {Child[]} children */
function append(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) {
      append(parent, child);
      continue;
    }
    parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces an element's content. @param {Element} el @param {...Child} children */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

let timeZone = 'Asia/Shanghai';
/** The service's zone: every time is shown as the county sees it, wherever the browser is. @param {string} zone */
export function setTimeZone(zone) {
  timeZone = zone;
}

/** "2026-11-23 16:51:41" in the service zone, or "" for null. @param {string | null | undefined} iso */
export function dateTime(iso) {
  if (!iso) return '';
  return new Intl.DateTimeFormat('sv-SE', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
}

/** "16:51:41" in the service zone. @param {string | null | undefined} iso */
export function clock(iso) {
  return dateTime(iso).slice(11);
}

/** The UTC instant of 00:00 on a local date ("2026-10-01") in the service zone, as ISO. @param {string} date */
export function zonedMidnight(date) {
  const [y, m, d] = date.split('-').map(Number);
  const wall = Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1);
  /** @param {number} at */
  const offset = (at) => Date.parse(`${dateTime(new Date(at).toISOString()).replace(' ', 'T')}Z`) - Math.floor(at / 1000) * 1000;
  const first = wall - offset(wall);
  return new Date(wall - offset(first)).toISOString();
}

/** A rate 0–1 as "83.3%", or "—". @param {number | null | undefined} value */
export function percent(value) {
  return value === null || value === undefined ? '—' : `${(value * 100).toFixed(1)}%`;
}

/** @param {number | null | undefined} value @param {number} [digits] */
export function fixed(value, digits = 1) {
  return value === null || value === undefined ? '—' : value.toFixed(digits);
}

/**
 * Holds a page's redraws while a pointer is pressed inside `view`. A redraw between the press and
 * the release puts them on different elements, and the browser then fires no click at all (a
 * "撤销" pressed while a call event arrived did nothing). `later(fn)` runs `fn` now, or, while a
 * pointer is pressed, once it is released and its click has been dispatched; held calls run in
 * the order they came.
 * @param {HTMLElement} view
 * @returns {{ later: (fn: () => void) => void, stop: () => void }}
 */
export function pressGuard(view) {
  let pressed = false;
  /** @type {Array<() => void>} */
  let held = [];
  const onPress = () => { pressed = true; };
  const onRelease = () => {
    if (!pressed) return;
    pressed = false;
    // The click follows the release in the same task: run the held redraws after it.
    setTimeout(() => {
      if (pressed) return;
      const due = held;
      held = [];
      for (const fn of due) fn();
    }, 0);
  };
  view.addEventListener('pointerdown', onPress);
  document.addEventListener('pointerup', onRelease);
  document.addEventListener('pointercancel', onRelease);
  return {
    later(fn) {
      if (pressed) held.push(fn);
      else fn();
    },
    stop() {
      held = [];
      pressed = false;
      view.removeEventListener('pointerdown', onPress);
      document.removeEventListener('pointerup', onRelease);
      document.removeEventListener('pointercancel', onRelease);
    },
  };
}

/**
 * The content of a page that redraws itself while someone works on it (the case page, on every
 * change the event stream reports), drawn without taking the user's hand off it: a redraw waits
 * while a pointer is pressed (pressGuard; only the newest content is drawn then), and the field
 * that had the keyboard focus (found again by its id) gets it back, with its caret.
 * @param {HTMLElement} view
 * @returns {{ show: (...children: Child[]) => void, stop: () => void }}
 */
export function liveContent(view) {
  const guard = pressGuard(view);
  /** @type {Child[] | null} */
  let newest = null;
  const drawNewest = () => {
    if (newest === null) return;
    const children = newest;
    newest = null;
    const focused = document.activeElement;
    const id = focused instanceof HTMLElement && view.contains(focused) ? focused.id : '';
    const caret = focused instanceof HTMLInputElement || focused instanceof HTMLTextAreaElement ? [focused.selectionStart, focused.selectionEnd] : [null, null];
    replace(view, ...children);
    const again = id === '' ? null : document.getElementById(id);
    if (again === null) return;
    again.focus();
    const [start, end] = caret;
    // selectionStart is null for inputs without a caret (select, checkbox): nothing to restore.
    if ((again instanceof HTMLInputElement || again instanceof HTMLTextAreaElement) && start !== null && end !== null && again.selectionStart !== null) again.setSelectionRange(start, end);
  };
  return {
    show(...children) {
      newest = children;
      guard.later(drawNewest);
    },
    stop() {
      newest = null;
      guard.stop();
    },
  };
}
