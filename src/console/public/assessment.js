// The quarterly assessment: county totals, the server-rendered SVG charts, the 110 centre's
// ranked transmittal with every figure, and each figure's definition (hover a column header or
// read the list below). Prints on A4 landscape. Viewer and admin only.
/* global window, document, DOMParser */
import { download, getJson, getText } from './api.js';
import { dateTime, fixed, h, percent, replace } from './dom.js';
import { language, t } from './i18n.js';

/**
 * @typedef {import('./api.js').Assessment} Assessment
 * @typedef {import('./api.js').Figures} Figures
 * @typedef {import('./app.js').Context} Context
 * @typedef {'count' | 'rate' | 'seconds' | 'minutes' | 'ratio'} Format
 */

/** The transmittal's columns: the JSON figure, how it is shown. @type {Array<[string, Format, (f: Figures) => number | null]>} */
const COLUMNS = [
  ['received', 'count', (f) => f.received],
  ['accepted', 'count', (f) => f.accepted],
  ['unacknowledged', 'count', (f) => f.unacknowledged],
  ['pending', 'count', (f) => f.pending],
  ['withdrawn', 'count', (f) => f.withdrawn],
  ['disputed', 'count', (f) => f.disputed],
  ['acceptanceRate', 'rate', (f) => f.acceptanceRate],
  ['medianSecondsToAccept', 'seconds', (f) => f.medianSecondsToAccept],
  ['p90SecondsToAccept', 'seconds', (f) => f.p90SecondsToAccept],
  ['attemptsPerAcceptance', 'ratio', (f) => f.attemptsPerAcceptance],
  ['escalations', 'count', (f) => f.escalations],
  ['arrivalsReported', 'count', (f) => f.arrivalsReported],
  ['medianMinutesToArrival', 'minutes', (f) => f.medianMinutesToArrival],
  ['completed', 'count', (f) => f.completed],
  ['completionRate', 'rate', (f) => f.completionRate],
  ['callbacksFinished', 'count', (f) => f.callbacksFinished],
  ['callbacksAnswered', 'count', (f) => f.callbacksAnswered],
  ['surveyResponseRate', 'rate', (f) => f.surveyResponseRate],
  ['satisfaction.attitude.rate', 'rate', (f) => f.satisfaction.attitude.rate],
  ['satisfaction.speed.rate', 'rate', (f) => f.satisfaction.speed.rate],
  ['satisfaction.quality.rate', 'rate', (f) => f.satisfaction.quality.rate],
  ['unsatisfiedFollowUps', 'count', (f) => f.unsatisfiedFollowUps],
  ['flagged', 'count', (f) => f.flagged],
  ['overdueArrivals', 'count', (f) => f.overdueArrivals],
  ['overdueCompletions', 'count', (f) => f.overdueCompletions],
  ['reminderRounds', 'count', (f) => f.reminderRounds],
  ['disputesOpen', 'count', (f) => f.disputesOpen],
  ['disputesUpheld', 'count', (f) => f.disputesUpheld],
  ['disputesRejected', 'count', (f) => f.disputesRejected],
];

/** @param {number | null} value @param {Format} format */
function show(value, format) {
  if (format === 'rate') return percent(value);
  if (format === 'ratio') return fixed(value, 2);
  if (format === 'count') return value === null ? '—' : String(value);
  return fixed(value, 1);
}

/**
 * The current quarter and the seven before it, then the current half-year and the three before
 * it (Yongjia's half-yearly briefing), in the service zone: ["2026Q4", …, "2026H2", "2026H1", …].
 */
function recentQuarters() {
  const today = dateTime(new Date().toISOString());
  let year = Number(today.slice(0, 4));
  const month = Number(today.slice(5, 7));
  let q = Math.floor((month - 1) / 3) + 1;
  const out = [];
  for (let i = 0; i < 8; i += 1) {
    out.push(`${year}Q${q}`);
    q -= 1;
    if (q === 0) {
      q = 4;
      year -= 1;
    }
  }
  let halfYear = Number(today.slice(0, 4));
  let half = month <= 6 ? 1 : 2;
  for (let i = 0; i < 4; i += 1) {
    out.push(`${halfYear}H${half}`);
    half = half === 1 ? 2 : 1;
    if (half === 2) halfYear -= 1;
  }
  return out;
}

/** Parses our own server's SVG and adopts it into the page (no script can run from it). @param {string} text */
function svgNode(text) {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  return document.importNode(doc.documentElement, true);
}

/** @param {Assessment} a */
function summaryCards(a) {
  const s = a.totals.satisfaction;
  /** @param {string} label @param {string} value @param {string} testid */
  const card = (label, value, testid) => h('div', { class: 'stat', 'data-testid': testid }, h('span', { class: 'stat-value' }, value), h('span', { class: 'stat-label' }, label));
  return h('div', { class: 'stats' },
    card(t('received'), String(a.totals.received), 'total-received'),
    card(t('acceptanceRate'), percent(a.totals.acceptanceRate), 'total-acceptance'),
    card(t('medianSecondsToAccept'), `${fixed(a.totals.medianSecondsToAccept)} ${t('seconds')}`, 'total-median'),
    card(t('satisfaction'), `${percent(s.attitude.rate)} / ${percent(s.speed.rate)} / ${percent(s.quality.rate)}`, 'total-satisfaction'));
}

/** @param {Assessment} a */
function transmittalTable(a) {
  const lang = language();
  /** @param {string} key */
  const head = (key) => h('th', { title: a.definitions[key]?.definition ?? '' }, a.definitions[key]?.label ?? key);
  /** @param {Figures} f */
  const cells = (f) => COLUMNS.map(([key, format, get]) => h('td', { class: 'num', 'data-key': key }, show(get(f), format)));
  return h('table', { class: 'assessment', id: 'assessment-table' },
    h('thead', {}, h('tr', {}, head('rank'), h('th', {}, t('department')), COLUMNS.map(([key]) => head(key)))),
    h('tbody', {}, a.departments.map((d) => h('tr', { 'data-department': d.departmentId, class: d.rank === null ? 'unranked' : '' },
      h('td', { class: 'num' }, d.rank === null ? t('noRank') : String(d.rank)), h('th', { scope: 'row' }, d.name[lang === 'en' ? 'en' : 'zh-CN']), cells(d)))),
    h('tfoot', {}, h('tr', {}, h('td', {}), h('th', { scope: 'row' }, t('totals')), cells(a.totals))));
}

/** @param {HTMLElement} view @param {Context} ctx @param {string | undefined} wanted @returns {() => void} */
export function renderAssessment(view, ctx, wanted) {
  const quarters = recentQuarters();
  const quarter = wanted && /^[0-9]{4}(Q[1-4]|H[12])$/.test(wanted) ? wanted : (quarters[0] ?? '');
  if (!quarters.includes(quarter)) quarters.unshift(quarter);
  let stopped = false;
  const select = h('select', { name: 'quarter', onchange: (e) => ctx.navigate(`#/assessment/${/** @type {HTMLSelectElement} */ (e.target).value}`) },
    quarters.map((q) => h('option', { value: q, selected: q === quarter }, q)));
  const body = h('div', { class: 'assessment-body' }, h('p', { class: 'muted' }, t('loading')));
  const params = `quarter=${quarter}&lang=${language()}`;
  replace(view,
    h('div', { class: 'view-head' }, h('h2', {}, t('assessmentTitle')),
      h('div', { class: 'toolbar no-print' }, h('label', {}, `${t('quarter')} `, select),
        h('button', { type: 'button', onclick: () => { download(`/api/v1/reports/assessment.csv?${params}`, `assessment-${quarter}.csv`).catch((/** @type {unknown} */ err) => ctx.showError(err)); } }, t('downloadCsv')),
        h('button', { type: 'button', onclick: () => window.print() }, t('print')))),
    body);

  Promise.all([
    getJson(`/api/v1/reports/assessment?${params}`),
    getText(`/api/v1/reports/assessment.svg?${params}&chart=acceptance`),
    getText(`/api/v1/reports/assessment.svg?${params}&chart=satisfaction`),
  ]).then(([json, acceptance, satisfaction]) => {
    if (stopped) return;
    const a = /** @type {Assessment} */ (json);
    replace(body,
      h('p', { class: 'period' }, `${t('period')}: ${dateTime(a.from).slice(0, 16)} – ${dateTime(a.to).slice(0, 16)} (${a.timezone}) · ${t('generatedAt')}: ${dateTime(a.generatedAt)}`),
      summaryCards(a),
      h('div', { class: 'charts' }, h('figure', { class: 'chart', id: 'chart-acceptance' }, svgNode(acceptance)), h('figure', { class: 'chart', id: 'chart-satisfaction' }, svgNode(satisfaction))),
      h('h3', {}, t('transmittal')),
      h('div', { class: 'table-wrap' }, transmittalTable(a)),
      h('h3', {}, t('definitions')),
      h('dl', { class: 'definitions' }, Object.values(a.definitions).map((d) => [h('dt', {}, d.label), h('dd', {}, d.definition)])));
  }, (/** @type {unknown} */ err) => ctx.showError(err));
  return () => {
    stopped = true;
  };
}
