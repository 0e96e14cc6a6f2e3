// The jurisdiction disputes (GET /api/v1/disputes): open ones first (to be settled), then the
// settled ones newest first. Desk, viewer and admin read it; an admin settles a dispute on the
// order's case page, where the form is.
import { getJson } from './api.js';
import { dateTime, h, replace } from './dom.js';
import { t } from './i18n.js';

/**
 * @typedef {import('./app.js').Context} Context
 * @typedef {{ orderId: string, orderCode: string, departmentId: string, openedAt: string, status: string, reassignedTo: string | null,
 *   note: string | null, decidedBy: string | null, decidedAt: string | null }} Dispute
 */

/** @param {HTMLElement} view @param {Context} ctx @returns {() => void} */
export function renderDisputes(view, ctx) {
  let stopped = false;
  const body = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, t('loading')));
  replace(view, h('div', { class: 'view-head' }, h('h2', {}, t('navDisputes'))), body);
  // The open ones all (at most 200, the API's page), the settled ones the latest 100.
  Promise.all([getJson('/api/v1/disputes?status=open&limit=200'), getJson('/api/v1/disputes?limit=100')]).then(([open, all]) => {
    if (stopped) return;
    const opened = /** @type {{ disputes: Dispute[] }} */ (open).disputes;
    const settled = /** @type {{ disputes: Dispute[] }} */ (all).disputes.filter((d) => d.status !== 'open');
    const rows = [...opened, ...settled];
    if (rows.length === 0) return replace(body, h('p', { class: 'empty' }, t('noDisputes')));
    replace(body, h('table', { class: 'disputes' },
      h('thead', {}, h('tr', {}, [t('code'), t('department'), t('disputeOpenedAt'), t('status'), t('disputeReassignedTo'), t('disputeNote'), t('disputeDecidedBy'), t('disputeDecidedAt')].map((c) => h('th', {}, c)))),
      h('tbody', {}, rows.map((d) => h('tr', { 'data-order-id': d.orderId, 'data-status': d.status },
        h('td', {}, h('a', { href: `#/case/${encodeURIComponent(d.orderId)}` }, d.orderCode)), h('td', {}, ctx.departmentName(d.departmentId)),
        h('td', {}, dateTime(d.openedAt)), h('td', {}, h('span', { class: `chip dispute-${d.status}` }, t(`dispute_${d.status}`))),
        h('td', {}, d.reassignedTo ? ctx.departmentName(d.reassignedTo) : ''), h('td', {}, d.note ?? ''),
        h('td', {}, d.decidedBy ?? ''), h('td', {}, d.decidedAt ? dateTime(d.decidedAt) : ''))))));
  }, (/** @type {unknown} */ err) => ctx.showError(err));
  return () => {
    stopped = true;
  };
}
