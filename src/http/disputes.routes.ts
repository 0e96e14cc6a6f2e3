// Jurisdiction disputes: listed for the desk, the linkage office (viewer) and admins; settled
// by admins only (a settlement can send the order to another unit, which places calls — the
// viewer role stays read-only). Thin: schemas here, work in DisputeService.
import type { FastifyPluginAsync } from 'fastify';
import type { DisputeService, DisputeStatus, Settlement } from '../disputes/dispute-service.js';
import { actorOf } from './auth.js';
import { errorBodySchema } from './errors.js';

const nullableString = { type: ['string', 'null'] } as const;
const disputeSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['orderId', 'orderCode', 'departmentId', 'openedAt', 'status', 'reassignedTo', 'note', 'decidedBy', 'decidedAt'],
  properties: {
    orderId: { type: 'string' },
    orderCode: { type: 'string' },
    departmentId: { type: 'string' },
    openedAt: { type: 'string' },
    status: { type: 'string', enum: ['open', 'upheld', 'rejected'] },
    reassignedTo: nullableString,
    note: nullableString,
    decidedBy: nullableString,
    decidedAt: nullableString,
  },
} as const;

const settleParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'departmentId'],
  properties: { id: { type: 'string', maxLength: 64 }, departmentId: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

const settleBody = {
  type: 'object',
  additionalProperties: false,
  required: ['decision', 'note'],
  properties: {
    decision: { type: 'string', enum: ['upheld', 'rejected'] },
    reassignTo: { type: 'string', minLength: 1, maxLength: 64 },
    note: { type: 'string', minLength: 1, maxLength: 500 },
  },
  examples: [{ decision: 'upheld', reassignTo: 'housing-construction', note: '小区内二次供水设施属物业管理，改派住建局' }],
} as const;

const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: ['open', 'upheld', 'rejected'] },
    limit: { type: 'string', pattern: '^(200|1[0-9]{2}|[1-9][0-9]?)$' },
    offset: { type: 'string', pattern: '^[0-9]{1,9}$' },
  },
} as const;

const listSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['total', 'disputes'],
  properties: { total: { type: 'integer' }, disputes: { type: 'array', items: disputeSchema } },
} as const;

export const disputeRoutes: FastifyPluginAsync<{ disputes: DisputeService }> = async (app, { disputes }) => {
  const errors = { 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema };

  app.get<{ Querystring: { status?: DisputeStatus; limit?: string; offset?: string } }>(
    '/api/v1/disputes',
    { onRequest: app.requireRole('desk', 'viewer', 'admin'), schema: { querystring: listQuery, response: { 200: listSchema, ...errors } } },
    async (request) => disputes.list({ status: request.query.status, limit: Number(request.query.limit ?? 50), offset: Number(request.query.offset ?? 0) }),
  );

  app.post<{ Params: { id: string; departmentId: string }; Body: Settlement }>(
    '/api/v1/orders/:id/disputes/:departmentId',
    { onRequest: app.requireRole('admin'), schema: { params: settleParams, body: settleBody, response: { 200: disputeSchema, ...errors } } },
    async (request) => disputes.settle(request.params.id, request.params.departmentId, request.body, actorOf(request)),
  );
  return Promise.resolve();
};
