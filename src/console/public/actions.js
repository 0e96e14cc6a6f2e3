// What the console lets people do, each with the same roles as the API (the server checks again):
// the desk creates an order (category search) and cancels one with a reason; a unit's own users
// (a department token bound to a unit) see their orders and record feedback; the linkage office
// works the flags (owner, status, resolution note, history); an admin of the linkage office settles
// an open jurisdiction dispute (upheld, optionally reassigned to another unit, or rejected, with a note).
import { ApiError, getJson, sendJson } from './api.js';
import { dateTime, h, replace } from './dom.js';
import { language, statusText, t } from './i18n.js';

/**
 * @typedef {import('./app.js').Context} Context
 * @typedef {import('./api.js').CaseRecord} CaseRecord
 * @typedef {import('./api.js').CaseDispute} CaseDispute
 * @typedef {import('./api.js').Flag} Flag
 * @typedef {import('./api.js').FlagChange} FlagChange
 */

/** The two languages side by side, for the texts of this module. @param {string} zh @param {string} en */
const L = (zh, en) => (language() === 'en' ? en : zh);

/**
 * What the user has typed on a case page, by order and field: the page is redrawn whenever the
 * order changes (a live call does so every few seconds), and the input must survive that.
 * @type {Map<string, string>}
 */
const drafts = new Map();
/** Keeps an input's value in `drafts` across redraws. @template {HTMLInputElement | HTMLSelectElement} E @param {E} el @param {string} key @returns {E} */
function kept(el, key) {
  const saved = drafts.get(key);
  if (saved !== undefined) el.value = saved;
  el.addEventListener('input', () => drafts.set(key, el.value));
  el.addEventListener('change', () => drafts.set(key, el.value));
  return el;
}
/** @param {string} prefix */
const forget = (prefix) => { for (const k of [...drafts.keys()]) if (k.startsWith(prefix)) drafts.delete(k); };

/** The API's refusal as the user should read it. @param {unknown} err */
const problem = (err) => (err instanceof ApiError ? `${err.message} (${err.code})` : String(err));

/** @param {Context} ctx */
export const canCreate = (ctx) => ['desk', 'admin'].includes(ctx.session.role);
/** A department token bound to a unit: the unit's own user. @param {Context} ctx */
export const isUnitUser = (ctx) => ctx.session.role === 'department' && typeof ctx.session.unitId === 'string';

/** New order (desk): a category found by searching its name, then the order's facts. @param {HTMLElement} view @param {Context} ctx @returns {() => void} */
export function renderNewOrder(view, ctx) {
  const search = h('input', { type: 'search', id: 'category-search', placeholder: L('输入类别关键词', 'search categories'), autocomplete: 'off' });
  const category = h('select', { id: 'category', name: 'category', required: true, size: 6 });
  const fill = () => {
    const q = search.value.trim().toLowerCase();
    const found = ctx.categoryList.filter((c) => !q || c.id.includes(q) || c.name['zh-CN'].includes(q) || c.name.en.toLowerCase().includes(q));
    replace(category, found.map((c) => h('option', { value: c.id }, `${language() === 'en' ? c.name.en : c.name['zh-CN']} · ${ctx.departmentName(c.departmentId)}`)));
    if (found.length === 1 && found[0]) category.value = found[0].id;
  };
  search.addEventListener('input', fill);
  fill();
  const summary = h('textarea', { id: 'summary', name: 'summary', required: true, maxlength: 300, rows: 3 });
  const address = h('input', { id: 'address', name: 'address', required: true, maxlength: 200 });
  const phone = h('input', { id: 'reporter-phone', name: 'reporterPhone', required: true, pattern: '\\+?[0-9]{3,20}', inputmode: 'tel' });
  const urgency = h('select', { id: 'urgency', name: 'urgency' }, h('option', { value: 'urgent' }, L('紧急', 'urgent')), h('option', { value: 'normal' }, L('一般', 'normal')));
  const status = h('p', { class: 'error', role: 'alert', id: 'new-order-status' });
  /** @param {string} label @param {HTMLElement} input */
  const row = (label, input) => h('label', { class: 'field' }, h('span', {}, label), input);
  replace(view,
    h('div', { class: 'view-head' }, h('h2', {}, L('新建联动指令', 'New order'))),
    h('form', { class: 'card action-form', id: 'new-order', onsubmit: (e) => {
      e.preventDefault();
      if (!category.value) return void replace(status, L('请选择类别', 'choose a category'));
      sendJson('POST', '/api/v1/orders', {
        externalId: `console-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`,
        category: category.value, summary: summary.value.trim(), address: address.value.trim(), reporterPhone: phone.value.trim(), urgency: urgency.value,
      }).then((/** @type {unknown} */ res) => ctx.navigate(`#/case/${encodeURIComponent(/** @type {{ id: string }} */ (res).id)}`),
        (/** @type {unknown} */ err) => replace(status, problem(err)));
    } },
    row(L('类别搜索', 'Find category'), search), row(L('类别', 'Category'), category), row(L('事件摘要', 'Summary'), summary),
    row(L('地址', 'Address'), address), row(L('报警人电话', 'Reporter phone'), phone), row(L('紧急程度', 'Urgency'), urgency),
    h('button', { type: 'submit', id: 'create-order' }, L('派单', 'Dispatch')), status));
  search.focus();
  return () => undefined;
}

/** The actions of the case page for this role: cancel (desk), feedback (the unit's own users). @param {CaseRecord} r @param {Context} ctx @param {() => void} reload */
export function caseActions(r, ctx, reload) {
  const status = h('p', { class: 'error', role: 'alert', id: 'case-action-status' });
  const parts = [];
  if (canCreate(ctx) && (r.status === 'dispatching' || r.status === 'unacknowledged')) {
    const reason = kept(h('input', { id: 'cancel-reason', required: true, maxlength: 200, placeholder: L('撤销原因', 'reason') }), `${r.id}:cancel`);
    parts.push(h('form', { id: 'cancel-order', class: 'toolbar', onsubmit: (e) => {
      e.preventDefault();
      sendJson('POST', `/api/v1/orders/${encodeURIComponent(r.id)}/cancel`, { reason: reason.value.trim() })
        .then(() => { forget(`${r.id}:`); reload(); }, (/** @type {unknown} */ err) => replace(status, problem(err)));
    } }, h('label', {}, `${L('撤销指令', 'Cancel order')} `, reason), h('button', { type: 'submit', id: 'cancel-submit' }, L('撤销', 'Cancel'))));
  }
  if ((isUnitUser(ctx) || ctx.session.role === 'admin') && r.status !== 'cancelled') {
    const kind = kept(h('select', { id: 'feedback-kind' },
      h('option', { value: 'arrived' }, L('已到达现场', 'arrived on scene')), h('option', { value: 'progress' }, L('正在处置', 'in progress')), h('option', { value: 'completed' }, L('处置完毕', 'completed'))), `${r.id}:kind`);
    const note = kept(h('input', { id: 'feedback-note', maxlength: 500, placeholder: L('备注（可选）', 'note (optional)') }), `${r.id}:note`);
    parts.push(h('form', { id: 'record-feedback', class: 'toolbar', onsubmit: (e) => {
      e.preventDefault();
      sendJson('POST', `/api/v1/orders/${encodeURIComponent(r.id)}/feedback`, { kind: kind.value, ...(note.value.trim() ? { note: note.value.trim() } : {}) })
        .then(() => { forget(`${r.id}:`); reload(); }, (/** @type {unknown} */ err) => replace(status, problem(err)));
    } }, h('label', {}, `${L('反馈', 'Feedback')} `, kind), note, h('button', { type: 'submit', id: 'feedback-submit' }, L('提交反馈', 'Record'))));
  }
  return parts.length ? h('section', { class: 'card no-print' }, h('h3', {}, L('操作', 'Actions')), parts, status) : null;
}

/** Only admins settle disputes (an upheld one may send the order to another unit, which places calls). @param {Context} ctx */
export const canSettle = (ctx) => ctx.session.role === 'admin';

/**
 * The settlement form of one open dispute (POST /api/v1/orders/:id/disputes/:departmentId), or
 * null for a settled dispute or a role that may not settle. Reassigning is offered only with "upheld".
 * @param {CaseRecord} r @param {CaseDispute} d @param {Context} ctx @param {() => void} reload
 */
export function disputeSettlement(r, d, ctx, reload) {
  if (!canSettle(ctx) || d.status !== 'open') return null;
  const key = `${r.id}:dispute:${d.departmentId}:`;
  const decision = kept(h('select', { class: 'dispute-decision', name: 'decision' },
    h('option', { value: 'upheld' }, t('dispute_upheld')), h('option', { value: 'rejected' }, t('dispute_rejected'))), `${key}decision`);
  const others = ctx.departmentList.filter((u) => u.id !== d.departmentId);
  const reassign = kept(h('select', { class: 'dispute-reassign', name: 'reassignTo' },
    h('option', { value: '' }, t('settleNoReassign')),
    others.map((u) => h('option', { value: u.id }, language() === 'en' ? u.name.en : u.name['zh-CN']))), `${key}reassign`);
  const note = kept(h('input', { class: 'dispute-note', name: 'note', required: true, maxlength: 500, placeholder: t('settleNote') }), `${key}note`);
  const message = h('span', { class: 'error dispute-message', role: 'alert' });
  const sync = () => { reassign.disabled = decision.value !== 'upheld'; };
  decision.addEventListener('change', sync);
  sync();
  return h('form', { class: 'toolbar dispute-settle', 'data-department-id': d.departmentId, onsubmit: (e) => {
    e.preventDefault();
    const text = note.value.trim();
    if (!text) return void replace(message, t('settleNoteRequired'));
    sendJson('POST', `/api/v1/orders/${encodeURIComponent(r.id)}/disputes/${encodeURIComponent(d.departmentId)}`, {
      decision: decision.value, note: text, ...(decision.value === 'upheld' && reassign.value ? { reassignTo: reassign.value } : {}),
    }).then(() => { forget(key); reload(); }, (/** @type {unknown} */ err) => replace(message, problem(err)));
  } }, h('label', {}, `${t('settleDecision')} `, decision), h('label', {}, `${t('settleReassign')} `, reassign), note,
  h('button', { type: 'submit', class: 'dispute-submit' }, t('settleSubmit')), message);
}

/** A unit's own orders (GET /api/v1/orders is confined to the unit by the server). @param {HTMLElement} view @param {Context} ctx @returns {() => void} */
export function renderMyOrders(view, ctx) {
  let stopped = false;
  const body = h('div', { class: 'table-wrap' }, h('p', { class: 'muted' }, '…'));
  replace(view, h('div', { class: 'view-head' }, h('h2', {}, `${L('本单位指令', 'Our orders')} · ${ctx.departmentName(ctx.session.unitId ?? '')}`)), body);
  getJson('/api/v1/orders?limit=100').then((/** @type {unknown} */ res) => {
    if (stopped) return;
    const orders = /** @type {{ orders: Array<{ id: string, code: string, status: string, category: string, createdAt: string }> }} */ (res).orders;
    if (orders.length === 0) return replace(body, h('p', { class: 'empty' }, L('暂无指令。', 'No orders.')));
    replace(body, h('table', { class: 'my-orders' },
      h('thead', {}, h('tr', {}, [L('单号', 'Code'), L('状态', 'Status'), L('类别', 'Category'), L('时间', 'Time')].map((c) => h('th', {}, c)))),
      h('tbody', {}, orders.map((o) => h('tr', { 'data-order-id': o.id },
        h('td', {}, h('a', { href: `#/case/${encodeURIComponent(o.id)}` }, o.code)), h('td', {}, statusText(o.status)),
        h('td', {}, ctx.categoryName(o.category)), h('td', {}, dateTime(o.createdAt)))))));
  }, (/** @type {unknown} */ err) => ctx.showError(err));
  return () => {
    stopped = true;
  };
}

/** A history value as text: a string as it is, nothing as —. @param {unknown} v */
const shown = (v) => (typeof v === 'string' ? flagStatusText(v) : v === null || v === undefined ? '—' : JSON.stringify(v));

const FLAG_STATUS = /** @type {const} */ (['open', 'in_progress', 'closed']);
/** @param {string} s */
const flagStatusText = (s) => ({ open: L('待处理', 'open'), in_progress: L('处理中', 'in progress'), closed: L('已关闭', 'closed') })[s] ?? s;

/** Owner, status and resolution of one flag, and its history on demand. @param {Flag} f @param {Context} ctx @param {() => void} reload */
export function flagEditor(f, ctx, reload) {
  const owner = h('input', { class: 'flag-owner', value: f.owner ?? '', maxlength: 64, placeholder: L('负责人', 'owner') });
  const status = h('select', { class: 'flag-status' }, FLAG_STATUS.map((s) => h('option', { value: s, selected: s === f.status }, flagStatusText(s))));
  const resolution = h('input', { class: 'flag-resolution', value: f.resolution ?? '', maxlength: 1000, placeholder: L('处理结果', 'resolution note') });
  const message = h('span', { class: 'error flag-message', role: 'alert' });
  const history = h('ol', { class: 'plain flag-history' });
  const details = h('details', {}, h('summary', {}, L('历史', 'History')), history);
  details.addEventListener('toggle', () => {
    if (!details.open) return;
    getJson(`/api/v1/flags/${f.id}`).then((/** @type {unknown} */ res) => {
      const changes = /** @type {{ history: FlagChange[] }} */ (res).history;
      replace(history, changes.map((c) => h('li', {}, `${dateTime(c.at)} · ${c.actor} · ${Object.entries(c.changes).map(([k, v]) => `${k}: ${shown(v.from)} → ${shown(v.to)}`).join('; ')}`)));
    }, (/** @type {unknown} */ err) => ctx.showError(err));
  });
  return h('form', { class: 'flag-editor', 'data-flag-id': f.id, onsubmit: (e) => {
    e.preventDefault();
    /** @type {Record<string, unknown>} */
    const change = { status: status.value };
    if (owner.value.trim() !== (f.owner ?? '')) change.owner = owner.value.trim() || null;
    if (resolution.value.trim() && resolution.value.trim() !== (f.resolution ?? '')) change.resolution = resolution.value.trim();
    sendJson('PATCH', `/api/v1/flags/${f.id}`, change).then(reload, (/** @type {unknown} */ err) => replace(message, problem(err)));
  } }, owner, status, resolution, h('button', { type: 'submit', class: 'flag-save' }, L('保存', 'Save')), message, details);
}
