// The live board: the newest orders with their status and every call placed, updated in place
// from the event stream (no reload). A row flashes when its order changes.
/* global CSS */
import { getJson } from './api.js';
import { clock, dateTime, h, pressGuard, replace } from './dom.js';
import { connectFeed, onOrder } from './feed.js';
import { resultText, scriptText, statusText, t } from './i18n.js';

/**
 * @typedef {import('./api.js').BoardRow} BoardRow
 * @typedef {import('./api.js').BoardSnapshot} BoardSnapshot
 * @typedef {import('./app.js').Context} Context
 */

/** Rows kept on the board; older ones scroll off. */
const MAX_ROWS = 200;
const ACTIVE = new Set(['dispatching', 'unacknowledged']);

/** @param {BoardRow} row @param {Context} ctx */
function calls(row, ctx) {
  return h('div', { class: 'calls' }, row.attempts.map((a) => {
    const live = a.endedAt === null;
    const label = `${a.seq} ${a.script === 'dispatch' ? '' : `${scriptText(a.script)} `}${ctx.contactName(row.departmentId, a.contactId)} · ${live ? t('callLive') : resultText(a.result)}`;
    return h('span', {
      class: `chip result-${live ? 'live' : a.result ?? 'unknown'}`,
      title: `${dateTime(a.startedAt)} → ${dateTime(a.endedAt)}`,
      'data-result': live ? 'live' : a.result,
    }, label);
  }));
}

/** @param {BoardRow} row @param {Context} ctx @param {boolean} fresh */
function rowElement(row, ctx, fresh) {
  const ack = row.acknowledgement;
  const today = dateTime(new Date().toISOString()).slice(0, 10);
  const created = dateTime(row.createdAt);
  return h('tr', { 'data-order-id': row.id, 'data-status': row.status, class: `status-${row.status}${fresh ? ' flash' : ''}` },
    h('td', { class: 'code' }, h('a', { href: `#/case/${encodeURIComponent(row.id)}` }, row.code)),
    h('td', { class: 'time', title: created }, created.startsWith(today) ? clock(row.createdAt) : created.slice(5, 16)),
    h('td', {}, ctx.departmentName(row.departmentId)),
    h('td', {}, ctx.categoryName(row.category),
      row.urgency === 'urgent' ? h('span', { class: 'tag urgent' }, t('urgent')) : null,
      row.major ? h('span', { class: 'tag major' }, t('major')) : null),
    h('td', {}, h('span', { class: `badge status-${row.status}`, 'data-testid': 'status' }, statusText(row.status))),
    h('td', {}, calls(row, ctx)),
    h('td', { class: 'ack' }, ack ? `${ctx.contactName(row.departmentId, ack.contactId ?? '')} ${ack.secondsToAccept.toFixed(1)} ${t('seconds')}` : ''),
    h('td', { class: 'summary', title: row.summary }, row.summary));
}

/** @param {HTMLElement} view @param {Context} ctx @returns {() => void} */
export function renderBoard(view, ctx) {
  /** @type {Map<string, BoardRow>} */
  const rows = new Map();
  let filter = /** @type {'all' | 'active'} */ ('all');
  const tbody = h('tbody');
  const empty = h('p', { class: 'empty' }, t('loading'));
  const filterButton = (/** @type {'all' | 'active'} */ value, /** @type {string} */ label) =>
    h('button', { type: 'button', class: 'filter', 'aria-pressed': String(filter === value), onclick: () => { filter = value; draw(); } }, label);
  const filters = h('div', { class: 'filters' });

  const visible = () => [...rows.values()]
    .filter((r) => filter === 'all' || ACTIVE.has(r.status))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id))
    .slice(0, MAX_ROWS);

  function draw() {
    replace(filters, filterButton('all', t('filterAll')), filterButton('active', t('filterActive')));
    const list = visible();
    replace(tbody, list.map((r) => rowElement(r, ctx, false)));
    empty.hidden = list.length > 0;
    empty.textContent = t('boardEmpty');
  }

  /** @param {BoardRow} row */
  function update(row) {
    rows.set(row.id, row);
    const existing = tbody.querySelector(`tr[data-order-id="${CSS.escape(row.id)}"]`);
    const shown = filter === 'all' || ACTIVE.has(row.status);
    if (existing && shown) existing.replaceWith(rowElement(row, ctx, true));
    else draw();
  }

  replace(view,
    h('div', { class: 'view-head' }, h('h2', {}, t('boardTitle')), filters),
    h('div', { class: 'table-wrap' }, h('table', { class: 'board', id: 'board' },
      h('thead', {}, h('tr', {}, [t('code'), t('createdAt'), t('department'), t('category'), t('status'), t('calls'), t('acceptedBy'), t('summary')].map((c) => h('th', {}, c)))),
      tbody)),
    empty);
  draw();

  // A row replaced under a pressed pointer would swallow the click on its link: held till release.
  const guard = pressGuard(view);
  const off = onOrder((m) => guard.later(() => update(m.order)));
  let stopped = false;
  getJson(/** @type {string} */ ('/api/v1/board?limit=100')).then((/** @type {unknown} */ body) => {
    if (stopped) return;
    const snapshot = /** @type {BoardSnapshot} */ (body);
    for (const r of snapshot.orders) if (!rows.has(r.id)) rows.set(r.id, r);
    connectFeed(snapshot.lastEventId);
    draw();
  }, (/** @type {unknown} */ err) => ctx.showError(err));
  return () => {
    stopped = true;
    off();
    guard.stop();
  };
}
