// The console's shell: sign-in with a token, the navigation the role allows, the language
// switch, and a hash router (#/board, #/case/<id>, #/register, #/flags, #/assessment/<quarter>,
// #/new for the desk's new order, #/orders for a unit's own users, #/disputes for desk and office).
// The server enforces every role again; hiding a page here is only for clarity.
import { ApiError, getJson, setToken, token } from './api.js';
import { renderAssessment } from './assessment.js';
import { renderBoard } from './board.js';
import { renderCase } from './case.js';
import { h, replace, setTimeZone } from './dom.js';
import { disconnectFeed, onFeedState } from './feed.js';
import { language, setLanguage, t } from './i18n.js';
import { renderFlags, renderRegister } from './register.js';
import { canCreate, isUnitUser, renderMyOrders, renderNewOrder } from './actions.js';
import { renderDisputes } from './disputes.js';

/**
 * @typedef {import('./api.js').Session} Session
 * @typedef {import('./api.js').Localized} Localized
 * @typedef {{ session: Session, departmentName: (id: string) => string, categoryName: (id: string) => string,
 *   categoryList: Array<{ id: string, name: Localized, departmentId: string }>, departmentList: Array<{ id: string, name: Localized }>,
 *   contactName: (departmentId: string, contactId: string) => string, navigate: (hash: string) => void, showError: (err: unknown) => void }} Context
 * @typedef {{ departments: Array<{ id: string, name: Localized, contacts: Array<{ id: string, name: string }> }>, categories: Array<{ id: string, name: Localized, departmentId: string }> }} Departments
 * @typedef {{ commandCentre: { id: string, name: Localized }, leaders: Array<{ id: string, name: Localized }> }} Directory
 */

/* global window, document */
const root = /** @type {HTMLElement} */ (document.getElementById('app'));
/** Roles that may open each page (admin may open all). */
const OFFICE = ['viewer', 'admin'];
const CONSOLE_ROLES = ['desk', 'viewer', 'admin'];

/** @type {(() => void) | null} */
let cleanup = null;
/** @type {Context | null} */
let context = null;

/** @param {Localized} name */
const local = (name) => name[language() === 'en' ? 'en' : 'zh-CN'];

function showSignIn(/** @type {string} */ problem = '') {
  disconnectFeed();
  cleanup?.();
  cleanup = null;
  const input = h('input', { type: 'password', name: 'token', id: 'token', autocomplete: 'off', required: true, minlength: 12 });
  const error = h('p', { class: 'error', role: 'alert' }, problem);
  replace(root,
    h('main', { class: 'signin' },
      h('h1', {}, t('appTitle')), h('p', { class: 'muted' }, t('appSubtitle')),
      h('form', { id: 'signin', onsubmit: (e) => { e.preventDefault(); setToken(input.value.trim()); void start(); } },
        h('label', { for: 'token' }, t('tokenLabel')), input, h('p', { class: 'hint' }, t('tokenHint')),
        h('button', { type: 'submit' }, t('signIn')), error),
      languageButton(() => showSignIn(problem))));
  input.focus();
}

/** @param {() => void} redraw */
function languageButton(redraw) {
  return h('button', { type: 'button', class: 'lang', id: 'lang', onclick: () => { setLanguage(language() === 'en' ? 'zh-CN' : 'en'); redraw(); } }, t('language'));
}

/** Loads who the token is and the names to show, then the page the hash asks for. */
async function start() {
  if (!token()) return showSignIn();
  /** @type {Session} */
  let session;
  try {
    session = /** @type {Session} */ (await getJson('/api/v1/session'));
  } catch (err) {
    setToken(null);
    return showSignIn(err instanceof ApiError && err.status === 401 ? t('signInFailed') : String(err));
  }
  // A department token bound to a unit is that unit's own user (its orders, its feedback).
  if (!CONSOLE_ROLES.includes(session.role) && !(session.role === 'department' && session.unitId)) {
    setToken(null);
    return showSignIn(t('noConsoleRole'));
  }
  setTimeZone(session.timezone);
  /** @type {Departments} */
  const list = /** @type {Departments} */ (await getJson('/api/v1/departments'));
  /** @type {Directory | null} */
  const directory = /** @type {Directory | null} */ (await getJson('/api/v1/directory').catch(() => null));
  const departments = new Map(list.departments.map((d) => [d.id, d]));
  const categories = new Map(list.categories.map((c) => [c.id, c]));
  const endpoints = new Map(directory ? [directory.commandCentre, ...directory.leaders].map((e) => [e.id, e]) : []);
  context = {
    session,
    departmentName: (id) => { const d = departments.get(id); return d ? local(d.name) : id; },
    categoryName: (id) => { const c = categories.get(id); return c ? local(c.name) : id; },
    categoryList: list.categories,
    departmentList: list.departments,
    contactName: (departmentId, contactId) => {
      const contact = departments.get(departmentId)?.contacts.find((c) => c.id === contactId);
      if (contact) return contact.name;
      const endpoint = endpoints.get(contactId);
      return endpoint ? local(endpoint.name) : contactId;
    },
    navigate: (hash) => { window.location.hash = hash; },
    showError,
  };
  route();
}

/** @param {unknown} err */
function showError(err) {
  if (err instanceof ApiError && err.status === 401) return showSignIn(t('signInFailed'));
  const banner = document.getElementById('error');
  if (banner) replace(banner, `${t('error')}: ${err instanceof Error ? err.message : String(err)}`);
}

/** @param {Context} ctx @param {string} active */
function shell(ctx, active) {
  const office = OFFICE.includes(ctx.session.role);
  /** @param {string} hash @param {string} label @param {string} name */
  const link = (hash, label, name) => h('a', { href: hash, class: active === name ? 'active' : '', 'aria-current': active === name ? 'page' : null }, label);
  const state = h('span', { class: 'feed-state', id: 'feed-state' });
  const view = h('main', { id: 'view' });
  replace(root,
    h('header', { class: 'top no-print' },
      h('div', { class: 'brand' }, h('strong', {}, t('appTitle')), h('span', {}, t('appSubtitle'))),
      h('nav', {}, isUnitUser(ctx) ? link('#/orders', language() === 'en' ? 'Our orders' : '本单位指令', 'orders') : link('#/board', t('navBoard'), 'board'),
        canCreate(ctx) ? link('#/new', language() === 'en' ? 'New order' : '新建指令', 'new') : null,
        office ? [link('#/register', t('navRegister'), 'register'), link('#/flags', t('navFlags'), 'flags'), link('#/assessment', t('navAssessment'), 'assessment')] : null,
        isUnitUser(ctx) ? null : link('#/disputes', t('navDisputes'), 'disputes')),
      h('div', { class: 'tools' }, state, h('span', { class: 'role' }, ctx.session.role), languageButton(route),
        h('button', { type: 'button', id: 'signout', onclick: () => { setToken(null); showSignIn(); } }, t('signOut')))),
    h('div', { id: 'error', class: 'error-banner', role: 'alert' }),
    view);
  const off = onFeedState((s) => {
    state.dataset.state = s;
    state.textContent = s === 'live' ? t('live') : s === 'refused' ? t('streamRefused') : t('reconnecting');
  });
  return { view, off };
}

function route() {
  const ctx = context;
  if (!ctx) return;
  cleanup?.();
  const unitUser = isUnitUser(ctx);
  const home = unitUser ? 'orders' : 'board';
  const [, page = home, arg] = window.location.hash.split('/');
  const name = ['board', 'case', 'register', 'flags', 'assessment', 'new', 'orders', 'disputes'].includes(page) ? page : home;
  const { view, off } = shell(ctx, name === 'case' ? home : name);
  const titles = { new: language() === 'en' ? 'New order' : '新建指令', orders: language() === 'en' ? 'Our orders' : '本单位指令', case: t('caseTitle') };
  document.title = `${t('appTitle')} · ${titles[/** @type {'new'} */ (name)] ?? t(`nav${name[0]?.toUpperCase() ?? ''}${name.slice(1)}`)}`;
  /** @type {() => void} */
  let stopView;
  const allowed = unitUser ? ['orders', 'case'].includes(name)
    : name === 'new' ? canCreate(ctx)
    : name === 'orders' ? false
    : name === 'board' || name === 'case' || name === 'disputes' || OFFICE.includes(ctx.session.role);
  if (!allowed) {
    replace(view, h('p', { class: 'error' }, t('forbidden')));
    stopView = () => undefined;
  } else if (name === 'new') stopView = renderNewOrder(view, ctx);
  else if (name === 'orders') stopView = renderMyOrders(view, ctx);
  else if (name === 'case' && arg) stopView = renderCase(view, ctx, decodeURIComponent(arg));
  else if (name === 'register') stopView = renderRegister(view, ctx);
  else if (name === 'flags') stopView = renderFlags(view, ctx);
  else if (name === 'assessment') stopView = renderAssessment(view, ctx, arg);
  else if (name === 'disputes') stopView = renderDisputes(view, ctx);
  else stopView = renderBoard(view, ctx);
  cleanup = () => {
    stopView();
    off();
  };
}

window.addEventListener('hashchange', route);
setLanguage(language());
void start();
