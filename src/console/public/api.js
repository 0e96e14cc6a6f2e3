// The JSON API with the signed-in bearer token. The token lives in sessionStorage: it is gone
// when the tab closes, and other tabs or sites never see it.

/**
 * @typedef {{ role: 'desk' | 'viewer' | 'admin' | 'department', unitId?: string, person?: string, timezone: string, language: string }} Session
 * @typedef {{ seq: number, script: string, contactId: string, startedAt: string, answeredAt: string | null, endedAt: string | null, result: string | null }} BoardAttempt
 * @typedef {{ contactId: string | null, acceptedAt: string, secondsToAccept: number, disputed: boolean, via: string }} BoardAck
 * @typedef {{ id: string, code: string, status: string, departmentId: string, category: string, urgency: string, major: boolean, summary: string,
 *   createdAt: string, updatedAt: string, attempts: BoardAttempt[], acknowledgement: BoardAck | null }} BoardRow
 * @typedef {{ lastEventId: number, orders: BoardRow[] }} BoardSnapshot
 * @typedef {{ eventId: number, kinds: string[], order: BoardRow }} FeedMessage
 * @typedef {{ 'zh-CN': string, en: string }} Localized
 * @typedef {{ id: string, name: Localized, major: boolean }} CategoryInfo
 * @typedef {{ id: string, name: Localized }} DepartmentInfo
 * @typedef {{ departments: DepartmentInfo[], categories: CategoryInfo[] }} DepartmentList
 * @typedef {{ id: string, seq: number, script: string, contactId: string, number: string, startedAt: string, answeredAt: string | null, endedAt: string | null,
 *   result: string | null, reason: string | null, digits: string, cause: { code: number, text: string } | null, departmentId?: string | null }} CaseAttempt
 * @typedef {{ attemptId: string | null, contactId: string | null, via: string, acceptedAt: string, secondsToAccept: number, disputed: boolean, late: boolean, script?: string, departmentId?: string | null }} CaseAck
 * @typedef {{ kind: string, note: string | null, via: string, actor: string, at: string }} CaseFeedback
 * @typedef {{ at: string, actor: string, kind: string, detail: Record<string, unknown> }} CaseEvent
 * @typedef {{ id: string, kind: string, status: string, dueAt: string, finishedAt: string | null, answers: { attitude: string | null, speed: string | null, quality: string | null } }} CaseSurvey
 * @typedef {{ id: string, code: string, externalId: string, status: string, category: string, departmentId: string, urgency: string, major: boolean,
 *   createdAt: string, updatedAt: string, summary: string, address: string, reporterPhone: string, attempts: CaseAttempt[], acknowledgement: CaseAck | null,
 *   lateAcknowledgements: CaseAck[], confirmations: CaseAck[], feedback: CaseFeedback[], events: CaseEvent[], surveys: CaseSurvey[], reminders?: CaseReminders,
 *   acknowledgements?: CaseAck[], disputes?: CaseDispute[], units?: CaseUnit[] }} CaseRecord
 * @typedef {{ departmentId: string, lead: boolean, status: string, acknowledgement: CaseAck | null }} CaseUnit
 * @typedef {{ departmentId: string, openedAt: string, status: string, reassignedTo: string | null, note: string | null, decidedAt: string | null }} CaseDispute
 * @typedef {{ kind: string, status: string, deadlineSeconds: number, firstDueAt: string, dueAt: string, rounds: number, unanswered: number, helpRequests: number,
 *   missedAt: string | null, metAt: string | null, overdueAt: string | null }} CaseDeadline
 * @typedef {{ id: string, seq: number, round: number, target: string, contactId: string, startedAt: string, answeredAt: string | null, endedAt: string | null,
 *   result: string | null, reason: string | null, digits: string, answer: string | null }} CaseReminderCall
 * @typedef {{ deadlines: CaseDeadline[], calls: CaseReminderCall[] }} CaseReminders
 * @typedef {{ orderId: string, orderCode: string, departmentId: string, department: string, category: string, incidentAt: string, callbackAt: string, kind: string, attempts: number,
 *   attitude: string | null, speed: string | null, quality: string | null, disposition: string, reporterPhone: string }} RegisterRow
 * @typedef {{ id: number, orderId: string, surveyId: string, reason: string, createdAt: string, owner: string | null, status: string, resolution: string | null }} Flag
 * @typedef {{ at: string, actor: string, changes: Record<string, { from: unknown, to: unknown }> }} FlagChange
 * @typedef {{ satisfied: number, unsatisfied: number, rate: number | null }} QuestionFigures
 * @typedef {{ received: number, withdrawn: number, accepted: number, unacknowledged: number, pending: number, disputed: number, acceptanceRate: number | null,
 *   medianSecondsToAccept: number | null, p90SecondsToAccept: number | null, attemptsPerAcceptance: number | null, escalations: number, arrivalsReported: number,
 *   medianMinutesToArrival: number | null, completed: number, completionRate: number | null, callbacksFinished: number, callbacksAnswered: number,
 *   surveyResponseRate: number | null, satisfaction: { attitude: QuestionFigures, speed: QuestionFigures, quality: QuestionFigures },
 *   unsatisfiedFollowUps: number, flagged: number, overdueArrivals: number, overdueCompletions: number, reminderRounds: number,
 *   disputesOpen: number, disputesUpheld: number, disputesRejected: number }} Figures
 * @typedef {Figures & { rank: number | null, departmentId: string, name: Localized }} DepartmentAssessment
 * @typedef {{ quarter: string, timezone: string, from: string, to: string, generatedAt: string, language: string, departments: DepartmentAssessment[],
 *   totals: Figures, definitions: Record<string, { label: string, definition: string }> }} Assessment
 */

/* global window, document, fetch, setTimeout, URL */
const TOKEN_KEY = 'liandong.console.token';

export class ApiError extends Error {
  /** @param {number} status @param {string} code @param {string} message */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function token() {
  return window.sessionStorage.getItem(TOKEN_KEY);
}

/** @param {string | null} value */
export function setToken(value) {
  if (value === null) window.sessionStorage.removeItem(TOKEN_KEY);
  else window.sessionStorage.setItem(TOKEN_KEY, value);
}

/** @param {string} path @param {string} [accept] */
async function request(path, accept = 'application/json') {
  const headers = { accept, authorization: `Bearer ${token() ?? ''}` };
  const res = await fetch(path, { headers, cache: 'no-store' });
  if (!res.ok) {
    let code = 'http_error';
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = /** @type {{ error?: { code?: string, message?: string } }} */ (await bodyOf(res));
      code = body.error?.code ?? code;
      message = body.error?.message ?? message;
    } catch {
      // not JSON: keep the status line as the message
      message = `${res.status} ${res.statusText}`;
    }
    throw new ApiError(res.status, code, message);
  }
  return res;
}

/** A response's JSON as `unknown`: the caller says what it expects. @param {Response} res @returns {Promise<unknown>} */
async function bodyOf(res) {
  /** @type {unknown} */
  const body = await res.json();
  return body;
}

/**
 * A change through the API (POST, PATCH): JSON in, JSON out; a refusal throws ApiError with the
 * API's code and message, shown to the user as they are.
 * @param {'POST' | 'PATCH'} method @param {string} path @param {unknown} body @returns {Promise<unknown>}
 */
export async function sendJson(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { accept: 'application/json', 'content-type': 'application/json', authorization: `Bearer ${token() ?? ''}` },
    body: JSON.stringify(body),
    cache: 'no-store',
  });
  /** @type {unknown} */
  const parsed = await res.json().catch(() => null);
  if (!res.ok) {
    const error = /** @type {{ error?: { code?: string, message?: string } } | null} */ (parsed)?.error;
    throw new ApiError(res.status, error?.code ?? 'http_error', error?.message ?? `${res.status} ${res.statusText}`);
  }
  return parsed;
}

/** @param {string} path @returns {Promise<unknown>} */
export async function getJson(path) {
  return bodyOf(await request(path));
}

/** @param {string} path */
export async function getText(path) {
  return (await request(path, '*/*')).text();
}

/** Saves a file the API returns (CSV) under the given name. @param {string} path @param {string} filename */
export async function download(path, filename) {
  const blob = await (await request(path, 'text/csv')).blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
