// The case page: everything about one order (GET /api/v1/orders/:id) — the order, who accepted
// and when, every call with its result and hang-up cause, feedback, callbacks, and the full
// timeline of case events. It reloads itself when the event stream says the order changed.
import { ApiError, getJson } from './api.js';
import { dateTime, h, liveContent, replace } from './dom.js';
import { connectFeed, onOrder } from './feed.js';
import { answerText, detailName, eventText, resultText, scriptText, statusText, t } from './i18n.js';
import { caseActions, disputeSettlement } from './actions.js';

/**
 * @typedef {import('./api.js').CaseRecord} CaseRecord
 * @typedef {import('./api.js').CaseAck} CaseAck
 * @typedef {import('./api.js').CaseAttempt} CaseAttempt
 * @typedef {import('./app.js').Context} Context
 */

/** @param {string} label @param {import('./dom.js').Child} value */
const field = (label, value) => [h('dt', {}, label), h('dd', {}, value)];

/** Event details worth a glance, as "key value" pairs; ids and nulls are left out. @param {Record<string, unknown>} detail @param {Context} ctx */
function details(detail, ctx) {
  return Object.entries(detail)
    .filter(([k, v]) => v !== null && v !== undefined && v !== '' && !/Id$/.test(k))
    .map(([k, v]) => {
      let shown = typeof v === 'string' ? v : typeof v === 'boolean' ? t(v ? 'yes' : 'no') : JSON.stringify(v);
      if (k === 'result' || k === 'disposition' || k === 'answer') shown = resultText(shown) === shown ? answerText(shown) : resultText(shown);
      if (k === 'script') shown = scriptText(shown);
      if (k === 'status') shown = statusText(shown);
      if (k === 'kind' || k === 'meaning') shown = answerText(shown);
      if (k === 'question') shown = t(shown);
      if (k === 'urgency') shown = t(shown);
      if (k === 'category') shown = ctx.categoryName(shown);
      if (/At$/.test(k)) shown = dateTime(shown);
      return `${detailName(k)}: ${shown}`;
    })
    .join(' · ');
}

/** @param {CaseAck} a @param {CaseRecord} r @param {Context} ctx */
function ackLine(a, r, ctx) {
  return h('p', { class: 'ack-line' },
    h('strong', {}, ctx.contactName(r.departmentId, a.contactId ?? '')), ` ${dateTime(a.acceptedAt)} · ${a.secondsToAccept.toFixed(1)} ${t('seconds')} · `,
    `${t('via')}: ${a.via === 'phone' ? t('viaPhone') : t('viaFeedback')}`,
    a.disputed ? h('span', { class: 'tag major' }, t('disputed')) : null);
}

/** 督查催办: the feedback deadlines and every reminder call with its answer. @param {CaseRecord} r @param {Context} ctx */
function remindersCard(r, ctx) {
  const rem = r.reminders ?? { deadlines: [], calls: [] };
  return h('section', { class: 'card', 'data-testid': 'case-reminders' }, h('h3', {}, t('reminders')),
    rem.deadlines.length === 0 ? h('p', { class: 'muted' }, t('noDeadlines'))
      : h('ul', { class: 'plain' }, rem.deadlines.map((d) => h('li', { 'data-deadline': d.kind },
        `${t(d.kind === 'arrival' ? 'arrivalDeadline' : 'completionDeadline')} ${dateTime(d.firstDueAt)} · ${t(`deadline_${d.status}`)} · ${t('reminderRounds')} ${d.rounds}`,
        d.status === 'overdue' ? h('span', { class: 'tag major' }, t('overdue')) : null))),
    rem.calls.length === 0 ? null : h('div', { class: 'table-wrap' }, h('table', { class: 'attempts' },
      h('thead', {}, h('tr', {}, [t('seq'), t('round'), t('target'), t('contact'), t('startedAt'), t('result'), t('digits'), t('reminderAnswer')].map((c) => h('th', {}, c)))),
      h('tbody', {}, rem.calls.map((c) => h('tr', { 'data-result': c.result ?? 'live' },
        h('td', {}, c.seq), h('td', {}, c.round), h('td', {}, t(`target_${c.target}`)),
        h('td', {}, c.target === 'command_centre' ? t('target_command_centre') : ctx.contactName(r.departmentId, c.contactId)),
        h('td', {}, dateTime(c.startedAt)),
        h('td', {}, h('span', { class: `chip result-${c.result ?? 'live'}` }, c.result === null ? t('callLive') : resultText(c.result))),
        h('td', {}, c.digits), h('td', {}, c.answer ? t(`answer_${c.answer}`) : '')))))));
}

/** Several units on one order: the units dispatched beside the lead. @param {CaseRecord} r */
function coUnitIds(r) {
  return new Set((r.units ?? []).filter((u) => !u.lead).map((u) => u.departmentId));
}

/** Acceptances of units the order was reassigned away from (they helped first); not the co-units'. @param {CaseRecord} r */
function helpedFirst(r) {
  const coUnits = coUnitIds(r);
  return (r.acknowledgements ?? []).filter((a) => a.departmentId !== r.departmentId && !coUnits.has(a.departmentId ?? ''));
}

/** The contact called, named by the unit whose chain called it. @param {CaseRecord} r @param {CaseAttempt} a @param {Context} ctx */
function contactOf(r, a, ctx) {
  const unit = a.departmentId ?? r.departmentId;
  const name = ctx.contactName(unit, a.contactId);
  return coUnitIds(r).size > 0 ? `${name} · ${ctx.departmentName(unit)}` : name;
}

/** Every unit on an order with several units: its status and who accepted. @param {CaseRecord} r @param {Context} ctx */
function unitsCard(r, ctx) {
  const units = r.units ?? [];
  if (units.length < 2) return null;
  return h('section', { class: 'card', 'data-testid': 'case-units' }, h('h3', {}, t('units')),
    h('ul', { class: 'plain' }, units.map((u) => h('li', { 'data-unit': u.departmentId },
      ctx.departmentName(u.departmentId), u.lead ? ` (${t('leadUnit')})` : '', ' · ',
      h('span', { class: `badge status-${u.status}` }, statusText(u.status)),
      u.acknowledgement ? ` · ${ctx.contactName(u.departmentId, u.acknowledgement.contactId ?? '')} ${dateTime(u.acknowledgement.acceptedAt)}` : ''))));
}

/** @param {CaseRecord} r @param {Context} ctx @param {() => void} reload */
function caseContent(r, ctx, reload) {
  return [
    h('div', { class: 'view-head' },
      h('h2', {}, `${t('caseTitle')} ${r.code}`, ' ', h('span', { class: `badge status-${r.status}`, 'data-testid': 'case-status' }, statusText(r.status))),
      h('a', { href: '#/board', class: 'back' }, `← ${t('back')}`)),
    h('section', { class: 'card' }, h('dl', { class: 'facts' },
      field(t('department'), ctx.departmentName(r.departmentId)),
      field(t('category'), ctx.categoryName(r.category)),
      field(t('urgency'), [r.urgency === 'urgent' ? t('urgent') : t('normal'), r.major ? h('span', { class: 'tag major' }, t('major')) : null]),
      field(t('createdAt'), dateTime(r.createdAt)),
      field(t('address'), r.address),
      field(t('summary'), r.summary),
      field(t('reporterPhone'), r.reporterPhone))),
    caseActions(r, ctx, reload),
    h('section', { class: 'card' }, h('h3', {}, t('acknowledgement')),
      r.acknowledgement ? ackLine(r.acknowledgement, r, ctx) : h('p', { class: 'muted' }, t('notAccepted')),
      helpedFirst(r).length > 0 ? [h('h4', {}, t('helpedFirst')), helpedFirst(r).map((a) => ackLine(a, { ...r, departmentId: a.departmentId ?? r.departmentId }, ctx))] : null,
      r.lateAcknowledgements.length ? [h('h4', {}, t('lateAcknowledgements')), r.lateAcknowledgements.map((a) => ackLine(a, r, ctx))] : null,
      r.confirmations.length ? [h('h4', {}, t('confirmations')), r.confirmations.map((a) => ackLine(a, r, ctx))] : null),
    unitsCard(r, ctx),
    h('section', { class: 'card' }, h('h3', {}, t('attempts')),
      h('div', { class: 'table-wrap' }, h('table', { class: 'attempts' },
        h('thead', {}, h('tr', {}, [t('seq'), t('script'), t('contact'), t('number'), t('startedAt'), t('answeredAt'), t('endedAt'), t('result'), t('digits'), t('cause')].map((c) => h('th', {}, c)))),
        h('tbody', {}, r.attempts.map((a) => h('tr', { 'data-result': a.result ?? 'live' },
          h('td', {}, a.seq), h('td', {}, scriptText(a.script)), h('td', {}, contactOf(r, a, ctx)), h('td', {}, a.number),
          h('td', {}, dateTime(a.startedAt)), h('td', {}, dateTime(a.answeredAt)), h('td', {}, dateTime(a.endedAt)),
          h('td', {}, h('span', { class: `chip result-${a.result ?? 'live'}` }, a.result === null ? t('callLive') : resultText(a.result))),
          h('td', {}, a.digits), h('td', {}, a.cause ? `${a.cause.code} ${a.cause.text}` : ''))))))),
    h('section', { class: 'card' }, h('h3', {}, t('feedback')),
      r.feedback.length === 0 ? h('p', { class: 'muted' }, t('noFeedback'))
        : h('ul', { class: 'plain' }, r.feedback.map((f) => h('li', {}, `${dateTime(f.at)} · ${eventText(`feedback_${f.kind}`)}${f.note ? ` · ${f.note}` : ''} · ${f.actor}`)))),
    remindersCard(r, ctx),
    (r.disputes ?? []).length === 0 ? null : h('section', { class: 'card', 'data-testid': 'case-disputes' }, h('h3', {}, t('disputes')),
      h('ul', { class: 'plain' }, (r.disputes ?? []).map((d) => h('li', { 'data-dispute': d.status },
        `${ctx.departmentName(d.departmentId)} · ${dateTime(d.openedAt)} · ${t(`dispute_${d.status}`)}`,
        d.reassignedTo ? ` → ${ctx.departmentName(d.reassignedTo)}` : '',
        d.note ? ` · ${d.note}` : '', d.decidedAt ? ` · ${dateTime(d.decidedAt)}` : '',
        disputeSettlement(r, d, ctx, reload))))),
    h('section', { class: 'card' }, h('h3', {}, t('surveys')),
      r.surveys.length === 0 ? h('p', { class: 'muted' }, t('noSurveys'))
        : h('ul', { class: 'plain' }, r.surveys.map((s) => h('li', {},
          `${answerText(s.kind)} · ${answerText(s.status)} · ${t('attitude')} ${answerText(s.answers.attitude) || '—'} · ${t('speed')} ${answerText(s.answers.speed) || '—'} · ${t('quality')} ${answerText(s.answers.quality) || '—'}`)))),
    h('section', { class: 'card' }, h('h3', {}, t('timeline')),
      h('ol', { class: 'timeline', id: 'timeline' }, r.events.map((e) => h('li', { 'data-kind': e.kind },
        h('time', {}, dateTime(e.at)), h('span', { class: 'event' }, eventText(e.kind)), h('span', { class: 'actor' }, e.actor), h('span', { class: 'detail' }, details(e.detail, ctx)))))),
  ];
}

/** @param {HTMLElement} view @param {Context} ctx @param {string} id @returns {() => void} */
export function renderCase(view, ctx, id) {
  let stopped = false;
  let loading = false;
  let again = false;
  replace(view, h('p', { class: 'muted' }, t('loading')));
  const content = liveContent(view);
  const load = () => {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    getJson(`/api/v1/orders/${encodeURIComponent(id)}`).then((/** @type {unknown} */ body) => {
      if (!stopped) content.show(caseContent(/** @type {CaseRecord} */ (body), ctx, load));
    }, (/** @type {unknown} */ err) => {
      if (stopped) return;
      if (err instanceof ApiError && err.status === 404) replace(view, h('p', { class: 'error' }, t('notFound')), h('a', { href: '#/board' }, t('back')));
      else ctx.showError(err);
    }).finally(() => {
      loading = false;
      if (again && !stopped) {
        again = false;
        load();
      }
    });
  };
  load();
  connectFeed();
  const off = onOrder((m) => {
    if (m.order.id === id) load();
  });
  return () => {
    stopped = true;
    off();
    content.stop();
  };
}
