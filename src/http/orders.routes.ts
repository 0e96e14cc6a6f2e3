// /api/v1/orders: the 110 desk creates dispatch orders; departments report feedback; everyone
// with a role reads the case record. Thin: validation by JSON schema, work in OrderService.
import type { FastifyPluginAsync } from 'fastify';
import type { OrderService } from '../orders/order-service.js';
import { actorOf, assertUnit, unitScope } from './auth.js';
import { errorBodySchema, HttpError } from './errors.js';
import { caseRecordSchema, feedbackRowSchema, orderListSchema, orderSummarySchema } from './response-schemas.js';

const PHONE_PATTERN = '^\\+?[0-9]{3,20}$';

const createOrderBody = {
  type: 'object',
  additionalProperties: false,
  required: ['externalId', 'category', 'summary', 'address', 'reporterPhone', 'urgency'],
  properties: {
    externalId: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' },
    category: { type: 'string', minLength: 1, maxLength: 64 },
    departmentId: { type: 'string', minLength: 1, maxLength: 64 },
    // Several units on one order: the lead first; each unit is phoned in parallel (docs/co-dispatch.md).
    departmentIds: { type: 'array', minItems: 1, maxItems: 8, uniqueItems: true, items: { type: 'string', minLength: 1, maxLength: 64 } },
    // Spoken to the duty officer: kept short (the TTS reads at ~4 syllables a second).
    summary: { type: 'string', minLength: 1, maxLength: 300 },
    address: { type: 'string', minLength: 1, maxLength: 200 },
    reporterPhone: { type: 'string', pattern: PHONE_PATTERN },
    urgency: { type: 'string', enum: ['urgent', 'normal'] },
    major: { type: 'boolean' },
    // false: the reporter is never called back (anonymous, or asked not to be); informant categories default to false.
    callback: { type: 'boolean' },
  },
  examples: [
    { externalId: 'JJ-2026-000123', category: 'water-main-burst', summary: '人民路与解放路口自来水管爆裂，路面积水', address: '城关镇人民路88号', reporterPhone: '13800138000', urgency: 'urgent' },
    {
      externalId: 'JJ-2026-000124', category: 'water-main-burst', departmentIds: ['water-supply', 'urban-management'],
      summary: '人民路自来水管爆裂，路面塌陷', address: '城关镇人民路88号', reporterPhone: '13800138000', urgency: 'urgent',
    },
  ],
} as const;

const orderCreatedSchema = {
  type: 'object',
  required: ['id', 'code', 'status', 'departmentId', 'departmentIds'],
  properties: {
    id: { type: 'string' }, code: { type: 'string' }, status: { type: 'string' }, departmentId: { type: 'string' },
    departmentIds: { type: 'array', items: { type: 'string' }, description: 'every unit on the order, the lead first' },
  },
  examples: [{ id: 'oe022965784978cd5', code: '596688', status: 'dispatching', departmentId: 'water-supply', departmentIds: ['water-supply'] }],
} as const;

const orderAcknowledgedSchema = {
  type: 'object',
  required: ['id', 'code', 'status', 'departmentId'],
  properties: { id: { type: 'string' }, code: { type: 'string' }, status: { type: 'string' }, departmentId: { type: 'string' }, urgency: { type: 'string' } },
} as const;

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } } as const;

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: ['dispatching', 'accepted', 'unacknowledged', 'cancelled', 'arrived', 'completed', 'surveyed'] },
    departmentId: { type: 'string', maxLength: 64 },
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
    // Query strings are text and the app coerces no types: digits, parsed in the handler.
    limit: { type: 'string', pattern: '^(200|1[0-9]{2}|[1-9][0-9]?)$' },
    offset: { type: 'string', pattern: '^[0-9]{1,9}$' },
  },
} as const;

const feedbackBody = {
  type: 'object',
  additionalProperties: false,
  required: ['kind'],
  properties: {
    kind: { type: 'string', enum: ['arrived', 'progress', 'completed'] },
    note: { type: 'string', maxLength: 500 },
    // Several units on one order: which unit reports (default: the token's unit, else the lead).
    departmentId: { type: 'string', minLength: 1, maxLength: 64 },
  },
  examples: [{ kind: 'arrived', note: '已到现场' }],
} as const;

const cancelBody = {
  type: 'object',
  additionalProperties: false,
  required: ['reason'],
  properties: { reason: { type: 'string', minLength: 1, maxLength: 200 } },
  examples: [{ reason: '报警人来电撤销' }],
} as const;

/** The unit acting on an order: the one named in the body, else the token's unit; a unit-bound token acts for its unit only. */
function actingUnit(request: { credential?: { unitId?: string } | undefined }, named: string | undefined): string | undefined {
  const unit = request.credential?.unitId;
  if (unit !== undefined && named !== undefined && named !== unit) throw new HttpError(403, 'other_unit', `this token acts for ${unit} only`);
  return named ?? unit;
}

interface CreateBody {
  externalId: string; category: string; departmentId?: string; departmentIds?: string[]; summary: string; address: string;
  reporterPhone: string; urgency: 'urgent' | 'normal'; major?: boolean; callback?: boolean;
}

export const orderRoutes: FastifyPluginAsync<{ orders: OrderService }> = async (app, { orders }) => {
  const errors = { 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema };

  app.post<{ Body: CreateBody }>(
    '/api/v1/orders',
    { onRequest: app.requireRole('desk'), schema: { body: createOrderBody, response: { 200: orderCreatedSchema, 201: orderCreatedSchema, ...errors } } },
    async (request, reply) => {
      const { order, created } = await orders.create(request.body);
      void reply.status(created ? 201 : 200);
      return { id: order.id, code: order.code, status: order.status, departmentId: order.department_id, departmentIds: await orders.departmentsOf(order.id) };
    },
  );

  app.get<{ Querystring: { status?: string; departmentId?: string; from?: string; to?: string; limit?: string; offset?: string } }>(
    '/api/v1/orders',
    { onRequest: app.requireRole('desk', 'viewer', 'department'), schema: { querystring: listQuery, response: { 200: orderListSchema, ...errors } } },
    async (request) => {
      const { limit, offset, ...filter } = request.query;
      // A unit-bound token lists its own unit's orders only.
      const unit = unitScope(request);
      if (unit !== undefined && filter.departmentId !== undefined && filter.departmentId !== unit) throw new HttpError(403, 'other_unit', `this token acts for ${unit} only`);
      return orders.list({ ...filter, ...(unit === undefined ? {} : { departmentId: unit }), limit: limit ? Number(limit) : 50, offset: offset ? Number(offset) : 0 });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/orders/:id',
    { onRequest: app.requireRole('desk', 'viewer', 'department'), schema: { params: idParams, response: { 200: caseRecordSchema, ...errors } } },
    async (request) => {
      assertUnit(request, await orders.departmentsOf(request.params.id));
      return orders.caseRecord(request.params.id);
    },
  );

  app.post<{ Params: { id: string }; Body: { kind: 'arrived' | 'progress' | 'completed'; note?: string; departmentId?: string } }>(
    '/api/v1/orders/:id/feedback',
    { onRequest: app.requireRole('department'), schema: { params: idParams, body: feedbackBody, response: { 201: feedbackRowSchema, ...errors } } },
    async (request, reply) => {
      assertUnit(request, await orders.departmentsOf(request.params.id));
      const unit = actingUnit(request, request.body.departmentId);
      const feedback = await orders.feedback(request.params.id, request.body.kind, request.body.note ?? null, 'api', actorOf(request), unit);
      void reply.status(201);
      return feedback;
    },
  );

  // The department (its platform) acknowledges the order: it is accepted and no (further) call is placed.
  app.post<{ Params: { id: string }; Body: { departmentId?: string } | null }>(
    '/api/v1/orders/:id/acknowledge',
    {
      onRequest: app.requireRole('department'),
      schema: {
        params: idParams,
        // departmentId: which unit acknowledges (several units on one order); default the token's unit, else the lead.
        body: { type: ['object', 'null'], additionalProperties: false, properties: { departmentId: { type: 'string', minLength: 1, maxLength: 64 } }, examples: [{}, { departmentId: 'urban-management' }] },
        response: { 200: orderAcknowledgedSchema, ...errors },
      },
    },
    async (request) => {
      assertUnit(request, await orders.departmentsOf(request.params.id));
      return orders.acknowledge(request.params.id, actorOf(request), actingUnit(request, request.body?.departmentId ?? undefined));
    },
  );

  app.post<{ Params: { id: string }; Body: { reason: string } }>(
    '/api/v1/orders/:id/cancel',
    { onRequest: app.requireRole('desk'), schema: { params: idParams, body: cancelBody, response: { 200: orderSummarySchema, ...errors } } },
    async (request) => orders.cancel(request.params.id, request.body.reason, actorOf(request)),
  );
  return Promise.resolve();
};
