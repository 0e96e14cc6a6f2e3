// The callback register (回访登记表) with a period filter and CSV download, and the flags that
// "not satisfied" answers raise for the linkage office. Viewer and admin only.
import { download, getJson } from './api.js';
import { dateTime, h, replace, zonedMidnight } from './dom.js';
import { answerText, language, t } from './i18n.js';
import { flagEditor } from './actions.js';

/**
 * @typedef {import('./api.js').RegisterRow} RegisterRow
 * @typedef {import('./api.js').Flag} Flag
 * @typedef {import('./app.js').Context} Context
 */

/** "2026-11-23" for a Date, in the service zone. @param {Date} d */
const localDate = (d) => dateTime(d.toISOString()).slice(0, 10);

/** @param {HTMLElement} view @param {Context} ctx @returns {() => void} */
export function renderRegister(view, ctx) {
  const now = new Date();
  const from = h('input', { type: 'date', name: 'from', value: localDate(new Date(now.getTime() - 30 * 86_400_000)) });
  const to = h('input', { type: 'date', name: 'to', value: localDate(now) });
  const body = h('div', { class: 'table-wrap' });
  let stopped = false;

  const query = () => {
    const params = new URLSearchParams();
    if (from.value) params.set('from', zonedMidnight(from.value));
    // The "to" day is included: the query's end is the next local midnight.
    if (to.value) params.set('to', zonedMidnight(localDate(new Date(Date.parse(`${to.value}T12:00:00Z`) + 86_400_000))));
    return params.toString();
  };

  const load = () => {
    replace(body, h('p', { class: 'muted' }, t('loading')));
    getJson(`/api/v1/reports/callbacks?${query()}`).then((/** @type {unknown} */ res) => {
      if (stopped) return;
      const rows = /** @type {{ rows: RegisterRow[] }} */ (res).rows;
      if (rows.length === 0) return replace(body, h('p', { class: 'empty' }, t('registerEmpty')));
      replace(body, h('table', { class: 'register' },
        h('thead', {}, h('tr', {}, [t('code'), t('department'), t('category'), t('incidentAt'), t('callbackAt'), t('kind'), t('attemptsCount'), t('attitude'), t('speed'), t('quality'), t('disposition'), t('reporterPhone')].map((c) => h('th', {}, c)))),
        h('tbody', {}, rows.map((r) => h('tr', {},
          h('td', {}, h('a', { href: `#/case/${encodeURIComponent(r.orderId)}` }, r.orderCode)), h('td', {}, ctx.departmentName(r.departmentId)),
          h('td', {}, r.category), h('td', {}, dateTime(r.incidentAt)), h('td', {}, dateTime(r.callbackAt)), h('td', {}, answerText(r.kind)), h('td', {}, r.attempts),
          ...[r.attitude, r.speed, r.quality].map((a) => h('td', { class: `answer-${a ?? 'none'}` }, answerText(a))),
          h('td', {}, answerText(r.disposition)), h('td', {}, r.reporterPhone))))));
    }, (/** @type {unknown} */ err) => ctx.showError(err));
  };

  replace(view,
    h('div', { class: 'view-head' }, h('h2', {}, t('registerTitle'))),
    h('form', { class: 'toolbar', onsubmit: (e) => { e.preventDefault(); load(); } },
      h('label', {}, `${t('from')} `, from), h('label', {}, `${t('to')} `, to),
      h('button', { type: 'submit' }, t('apply')),
      h('button', { type: 'button', onclick: () => { download(`/api/v1/reports/callbacks.csv?${query()}`, 'callback-register.csv').catch((/** @type {unknown} */ err) => ctx.showError(err)); } }, t('downloadCsv'))),
    body);
  load();
  return () => {
    stopped = true;
  };
}

/** "not satisfied: attitude, speed" in the interface language. @param {string} reason */
function reasonText(reason) {
  const m = /^not satisfied: (.*)$/.exec(reason);
  if (!m?.[1]) return reason;
  const questions = m[1].split(/,\s*/).map((q) => t(q));
  return language() === 'en' ? `not satisfied: ${questions.join(', ')}` : `不满意：${questions.join('、')}`;
}

/** @param {HTMLElement} view @param {Context} ctx @returns {() => void} */
export function renderFlags(view, ctx) {
  let stopped = false;
  const body = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, t('loading')));
  replace(view, h('div', { class: 'view-head' }, h('h2', {}, t('flagsTitle'))), body);
  const load = () => getJson('/api/v1/flags?limit=200').then((/** @type {unknown} */ res) => {
    if (stopped) return;
    const flags = /** @type {{ flags: Flag[] }} */ (res).flags;
    if (flags.length === 0) return replace(body, h('p', { class: 'empty' }, t('flagsEmpty')));
    replace(body, h('table', { class: 'flags' },
      h('thead', {}, h('tr', {}, [t('flaggedAt'), t('reason'), '', language() === 'en' ? 'Follow-up' : '跟进'].map((c) => h('th', {}, c)))),
      h('tbody', {}, flags.map((f) => h('tr', { 'data-flag-id': f.id, 'data-status': f.status },
        h('td', {}, dateTime(f.createdAt)), h('td', {}, reasonText(f.reason)),
        h('td', {}, h('a', { href: `#/case/${encodeURIComponent(f.orderId)}` }, t('open'))),
        h('td', {}, flagEditor(f, ctx, () => void load())))))));
  }, (/** @type {unknown} */ err) => ctx.showError(err));
  void load();
  return () => {
    stopped = true;
  };
}
