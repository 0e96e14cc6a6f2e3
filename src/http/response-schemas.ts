// Response schemas of the core routes, for the OpenAPI document (openapi.ts) and the dev-profile
// answer check. Top-level fields are typed and required; parts whose shape belongs to another
// module (policy, rosters, report figures, admin check views) are described as open objects so
// that a field added there is not refused here.
const str = { type: 'string' } as const;
const nstr = { type: ['string', 'null'] } as const;
const int = { type: 'integer' } as const;
const bool = { type: 'boolean' } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const nDateTime = { type: ['string', 'null'], format: 'date-time' } as const;
/** An object whose fields are documented elsewhere (docs/api.md); any fields. */
export const openObject = { type: 'object', additionalProperties: true } as const;
const names = { type: 'object', additionalProperties: true, required: ['zh-CN', 'en'], properties: { 'zh-CN': str, en: str } } as const;

const ORDER_STATUSES = ['dispatching', 'accepted', 'unacknowledged', 'cancelled', 'arrived', 'completed', 'surveyed'] as const;

export const orderSummarySchema = {
  type: 'object',
  additionalProperties: true,
  required: ['id', 'code', 'externalId', 'status', 'category', 'departmentId', 'urgency', 'major', 'createdAt'],
  properties: {
    id: str, code: str, externalId: str, status: { type: 'string', enum: [...ORDER_STATUSES] }, category: str, departmentId: str,
    urgency: { type: 'string', enum: ['urgent', 'normal'] }, major: bool, createdAt: dateTime,
  },
  examples: [{ id: 'oe022965784978cd5', code: '596688', externalId: 'JJ-2026-000123', status: 'accepted', category: 'water-main-burst', departmentId: 'water-supply', urgency: 'urgent', major: false, createdAt: '2026-11-23T16:51:32.535Z' }],
} as const;

export const orderListSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['total', 'limit', 'offset', 'orders'],
  properties: { total: int, limit: int, offset: int, orders: { type: 'array', items: orderSummarySchema } },
} as const;

const acknowledgement = {
  type: 'object',
  additionalProperties: true,
  required: ['attemptId', 'contactId', 'via', 'acceptedAt', 'secondsToAccept', 'disputed', 'late'],
  properties: { attemptId: nstr, contactId: nstr, via: { type: 'string', enum: ['phone', 'feedback'] }, acceptedAt: dateTime, secondsToAccept: { type: 'number' }, disputed: bool, late: bool },
} as const;

export const caseRecordSchema = {
  type: 'object',
  additionalProperties: true,
  required: [...orderSummarySchema.required, 'summary', 'address', 'reporterPhone', 'updatedAt', 'attempts', 'acknowledgement', 'lateAcknowledgements', 'confirmations', 'feedback', 'events', 'surveys'],
  properties: {
    ...orderSummarySchema.properties,
    summary: str,
    address: str,
    reporterPhone: { type: 'string', description: 'masked: 138****8000' },
    updatedAt: dateTime,
    attempts: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: true,
        required: ['id', 'seq', 'script', 'contactId', 'number', 'startedAt', 'answeredAt', 'endedAt', 'result', 'reason', 'digits', 'cause'],
        properties: {
          id: str, seq: int, script: str, contactId: str, number: { type: 'string', description: 'masked' }, startedAt: dateTime, answeredAt: nDateTime, endedAt: nDateTime,
          result: nstr, reason: nstr, digits: str, cause: { type: ['object', 'null'], additionalProperties: false, required: ['code', 'text'], properties: { code: int, text: str } },
          departmentId: { type: ['string', 'null'], description: 'the unit whose dispatch chain placed the call (null: older records)' },
        },
      },
    },
    acknowledgement: { anyOf: [acknowledgement, { type: 'null' }] },
    acknowledgements: { type: 'array', items: acknowledgement },
    units: {
      type: 'array',
      description: 'every unit on the order, the lead first; each has its own dispatch chain, status and acceptance',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['departmentId', 'lead', 'status', 'acknowledgement'],
        properties: { departmentId: str, lead: bool, status: { type: 'string', enum: [...ORDER_STATUSES] }, acknowledgement: { anyOf: [acknowledgement, { type: 'null' }] } },
      },
    },
    lateAcknowledgements: { type: 'array', items: acknowledgement },
    confirmations: { type: 'array', items: acknowledgement },
    feedback: { type: 'array', items: { type: 'object', additionalProperties: true, required: ['kind', 'via', 'actor', 'at'], properties: { kind: str, note: nstr, via: str, actor: str, at: dateTime, departmentId: nstr } } },
    events: { type: 'array', items: { type: 'object', additionalProperties: false, required: ['at', 'actor', 'kind', 'detail'], properties: { at: dateTime, actor: str, kind: str, detail: openObject } } },
    surveys: { type: 'array', items: openObject },
  },
} as const;

/** The stored feedback row, as POST /orders/:id/feedback answers it. */
export const feedbackRowSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'order_id', 'kind', 'note', 'via', 'actor', 'at'],
  properties: {
    id: int, order_id: str, kind: { type: 'string', enum: ['arrived', 'progress', 'completed'] }, note: nstr, via: { type: 'string', enum: ['api', 'phone'] }, actor: str, at: dateTime,
    department_id: { type: ['string', 'null'], description: 'the unit reporting (several units on one order)' },
  },
  examples: [{ id: 12, order_id: 'oe022965784978cd5', kind: 'arrived', note: '已到现场', via: 'api', actor: 'api:department', at: '2026-11-23T17:05:00.000Z', department_id: 'water-supply' }],
} as const;

const departmentView = {
  type: 'object',
  additionalProperties: true,
  required: ['id', 'name', 'dutyClass', 'categories', 'contacts', 'rosters', 'policy', 'ownPolicy'],
  properties: {
    id: str,
    name: names,
    dutyClass: str,
    categories: { type: 'array', items: str },
    contacts: { type: 'array', items: { type: 'object', additionalProperties: true, required: ['id', 'name', 'number', 'priority'], properties: { id: str, name: str, number: str, priority: int } } },
    rosters: { type: 'array', items: openObject },
    policy: openObject,
    ownPolicy: bool,
  },
} as const;

export const departmentListSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['departments', 'categories'],
  properties: {
    departments: { type: 'array', items: departmentView },
    categories: { type: 'array', items: { type: 'object', additionalProperties: true, required: ['id', 'name', 'departmentId', 'major'], properties: { id: str, name: names, departmentId: str, major: bool } } },
  },
} as const;

export const departmentUpdatedSchema = {
  ...departmentView,
  required: [...departmentView.required, 'reassignedCategories'],
  properties: { ...departmentView.properties, reassignedCategories: { type: 'array', items: openObject } },
} as const;

const endpoint = { type: 'object', additionalProperties: true, required: ['id', 'name', 'number'], properties: { id: str, name: names, number: str } } as const;
export const directoryResponseSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['commandCentre', 'leaders'],
  properties: { commandCentre: endpoint, leaders: { type: 'array', items: endpoint } },
} as const;

export const surveyViewSchema = {
  type: 'object',
  additionalProperties: true,
  required: ['id', 'kind', 'status', 'dueAt', 'attempts', 'answers', 'finishedAt'],
  properties: { id: str, kind: { type: 'string', enum: ['callback', 'follow_up'] }, status: str, dueAt: dateTime, attempts: { type: 'array', items: openObject }, answers: openObject, finishedAt: nDateTime },
} as const;

export const callbackRegisterSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['rows'],
  properties: {
    rows: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: true,
        required: ['orderId', 'orderCode', 'departmentId', 'department', 'category', 'incidentAt', 'callbackAt', 'kind', 'attempts', 'attitude', 'speed', 'quality', 'disposition', 'reporterPhone'],
        properties: {
          orderId: str, orderCode: str, departmentId: str, department: str, category: str, incidentAt: dateTime, callbackAt: dateTime, kind: str, attempts: int,
          attitude: nstr, speed: nstr, quality: nstr, disposition: str, reporterPhone: { type: 'string', description: 'masked' },
        },
      },
    },
  },
} as const;

export const flagsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['flags'],
  properties: { flags: { type: 'array', items: { type: 'object', additionalProperties: true, required: ['orderId', 'surveyId', 'reason', 'createdAt'], properties: { orderId: str, surveyId: str, reason: str, createdAt: dateTime } } } },
} as const;

export const assessmentSchema = {
  type: 'object',
  additionalProperties: true,
  required: ['quarter', 'timezone', 'from', 'to', 'generatedAt', 'departments', 'totals', 'language', 'definitions'],
  properties: { quarter: str, timezone: str, from: dateTime, to: dateTime, generatedAt: dateTime, departments: { type: 'array', items: openObject }, totals: openObject, language: str, definitions: {} },
} as const;

export const boardSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['lastEventId', 'orders'],
  properties: { lastEventId: int, orders: { type: 'array', items: openObject } },
} as const;

export const sessionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['role', 'timezone', 'language'],
  properties: { role: { type: 'string', enum: ['desk', 'department', 'admin', 'viewer'] }, unitId: str, person: str, timezone: str, language: str },
} as const;

/** A text answer (CSV, SVG, HTML, JS, WAV, server-sent events) under its media type. */
export function textResponse(mediaType: string, description: string) {
  return { description, content: { [mediaType]: { schema: { type: 'string' } } } };
}

// Telecom admin tools (/api/v1/admin): their reports are described in docs/admin.md.
const checkView = {
  type: 'object',
  additionalProperties: true,
  required: ['ok', 'asteriskChecked', 'problems', 'files', 'telephony'],
  properties: {
    ok: bool,
    asteriskChecked: bool,
    problems: { type: 'array', items: { type: 'object', additionalProperties: true, required: ['text'], properties: { text: { type: 'string', description: 'file:line: message' } } } },
    files: { type: 'array', items: { type: 'object', additionalProperties: false, required: ['name', 'lines'], properties: { name: str, lines: int } } },
    telephony: { type: ['object', 'null'], additionalProperties: true },
  },
} as const;
export const adminSchemas = {
  telephony: { ...openObject, required: ['file'], properties: { file: str } },
  check: checkView,
  render: { ...checkView, required: [...checkView.required, 'rendered'], properties: { ...checkView.properties, rendered: { type: 'object', additionalProperties: { type: 'string' }, description: 'file name → text, secrets masked' } } },
  reload: {
    type: 'object',
    additionalProperties: true,
    required: ['status', 'changed', 'needsRestart', 'endpointsAdded', 'endpointsRemoved', 'ms', 'check'],
    properties: { status: str, changed: { type: 'array', items: str }, needsRestart: { type: 'array', items: str }, endpointsAdded: { type: 'array', items: str }, endpointsRemoved: { type: 'array', items: str }, ms: { type: 'number' }, check: checkView, error: openObject },
  },
  endpoints: { type: 'object', additionalProperties: false, required: ['endpoints'], properties: { endpoints: { type: 'array', items: openObject }, warning: str } },
  testCall: { ...openObject, description: 'the test call: target, key pressed, timings, hang-up cause (docs/admin.md)' },
  dryRunReport: { ...openObject, description: 'simulated: the timeline of calls the policy would place (docs/admin.md)' },
  dryRunStarted: { ...openObject, required: ['runId'], properties: { runId: str }, description: 'a live dry run was started; poll GET /api/v1/admin/policy/dry-run/{runId}' },
  dryRun: { ...openObject, required: ['runId'], properties: { runId: str } },
  audit: {
    type: 'object',
    additionalProperties: false,
    required: ['entries', 'nextBefore'],
    properties: {
      entries: { type: 'array', items: { type: 'object', additionalProperties: false, required: ['id', 'at', 'actor', 'action', 'detail'], properties: { id: int, at: dateTime, actor: str, action: str, detail: openObject } } },
      nextBefore: { type: ['integer', 'null'] },
    },
  },
} as const;
