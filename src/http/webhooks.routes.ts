// /api/v1/webhooks (admin): the outbox's deliveries, retrying one that was given up, and the
// subscribers (global and per department). Subscriber changes land in the audit log.
import { AuditLog } from '../admin/audit.js';
import type { FeaturePlugin } from '../composition.js';
import { WEBHOOK_EVENTS, type WebhookEventName } from '../webhooks/events.js';
import { actorOf } from './auth.js';
import { errorBodySchema, HttpError } from './errors.js';

const nullableString = { type: ['string', 'null'] } as const;
const deliverySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'eventId', 'event', 'departmentId', 'subscriberId', 'url', 'status', 'attempts', 'createdAt', 'nextAttemptAt', 'lastAttemptAt', 'lastStatus', 'lastError', 'lastDurationMs', 'deliveredAt'],
  properties: {
    id: { type: 'string' },
    eventId: { type: 'string', description: 'the id receivers deduplicate on (also X-Liandong-Event-Id)' },
    event: { type: 'string', enum: [...WEBHOOK_EVENTS] },
    departmentId: nullableString,
    subscriberId: { type: 'string', description: "'global' (LIANDONG_WEBHOOK_URL) or a subscriber id" },
    url: { type: 'string' },
    status: { type: 'string', enum: ['pending', 'delivered', 'failed'], description: 'failed: given up after LIANDONG_WEBHOOK_RETRY_FOR_SECONDS' },
    attempts: { type: 'integer' },
    createdAt: { type: 'string', format: 'date-time' },
    nextAttemptAt: { type: ['string', 'null'], format: 'date-time' },
    lastAttemptAt: { type: ['string', 'null'], format: 'date-time' },
    lastStatus: { type: ['integer', 'null'], description: 'HTTP status of the last answer; null when none came' },
    lastError: nullableString,
    lastDurationMs: { type: ['integer', 'null'] },
    deliveredAt: { type: ['string', 'null'], format: 'date-time' },
  },
} as const;
const deliveriesQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
    event: { type: 'string', enum: [...WEBHOOK_EVENTS] },
    eventId: { type: 'string', pattern: '^ev_[0-9a-f]{24}$' },
    limit: { type: 'string', pattern: '^(500|[1-4][0-9]{2}|[1-9][0-9]?)$' },
    offset: { type: 'string', pattern: '^[0-9]{1,9}$' },
  },
} as const;
const subscriberSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'url', 'departmentId', 'events', 'createdAt', 'actor'],
  properties: {
    id: { type: 'string' },
    url: { type: 'string' },
    departmentId: { type: ['string', 'null'], description: 'null: events of every department' },
    events: { type: ['array', 'null'], items: { type: 'string', enum: [...WEBHOOK_EVENTS] }, description: 'null: every event' },
    createdAt: { type: 'string', format: 'date-time' },
    actor: { type: 'string' },
  },
} as const;
const newSubscriberBody = {
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  properties: {
    url: { type: 'string', pattern: '^https?://[^\\s]+$', maxLength: 2000 },
    departmentId: { type: ['string', 'null'], maxLength: 64 },
    events: { type: ['array', 'null'], minItems: 1, uniqueItems: true, items: { type: 'string', enum: [...WEBHOOK_EVENTS] } },
  },
  examples: [{ url: 'https://grid.example.gov.cn/hooks/liandong', departmentId: 'water-supply', events: ['order.accepted', 'order.completed'] }],
} as const;
const idParams = { type: 'object', additionalProperties: false, required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } } as const;
const errors = { 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 429: errorBodySchema } as const;

/** A URL as the audit log keeps it: a query string may hold a receiver's token, so it is cut off. */
function auditUrl(url: string): string {
  const i = url.search(/[?#]/);
  return i < 0 ? url : `${url.slice(0, i)}?…`;
}

export const webhookRoutes: FeaturePlugin = async (app, { core }) => {
  const admin = { onRequest: app.requireRole('admin') };
  const audit = new AuditLog(core.store);
  const actor = actorOf;
  const { webhooks } = core;

  app.get<{ Querystring: { status?: string; event?: string; eventId?: string; limit?: string; offset?: string } }>(
    '/api/v1/webhooks/deliveries',
    {
      ...admin,
      schema: {
        querystring: deliveriesQuery,
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['total', 'limit', 'offset', 'counts', 'deliveries'],
            properties: {
              total: { type: 'integer' },
              limit: { type: 'integer' },
              offset: { type: 'integer' },
              counts: { type: 'object', additionalProperties: false, required: ['pending', 'delivered', 'failed'], properties: { pending: { type: 'integer' }, delivered: { type: 'integer' }, failed: { type: 'integer' } } },
              deliveries: { type: 'array', items: deliverySchema },
            },
          },
          ...errors,
        },
      },
    },
    async (request) => {
      const limit = Number(request.query.limit ?? 100);
      const offset = Number(request.query.offset ?? 0);
      const page = await webhooks.list({ status: request.query.status, event: request.query.event, eventId: request.query.eventId, limit, offset });
      return { total: page.total, limit, offset, counts: await webhooks.counts(), deliveries: page.deliveries };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/webhooks/deliveries/:id/retry',
    {
      ...admin,
      schema: {
        params: idParams,
        response: {
          200: { type: 'object', additionalProperties: false, required: ['id', 'status'], properties: { id: { type: 'string' }, status: { type: 'string', enum: ['pending'] } } },
          404: errorBodySchema,
          409: errorBodySchema,
          ...errors,
        },
      },
    },
    async (request) => {
      const { id } = request.params;
      const result = await webhooks.retry(id);
      if (result === 'not_found') throw new HttpError(404, 'delivery_not_found', `no delivery ${id}`);
      if (result === 'not_failed') throw new HttpError(409, 'not_failed', `delivery ${id} is not given up; only failed deliveries are retried`);
      await audit.record(actor(request), 'webhook.retry', { deliveryId: id });
      return { id, status: 'pending' as const };
    },
  );

  app.get(
    '/api/v1/webhooks/subscribers',
    {
      ...admin,
      schema: {
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['global', 'signed', 'subscribers'],
            properties: {
              global: { type: ['object', 'null'], additionalProperties: false, required: ['url'], properties: { url: { type: 'string' } } },
              signed: { type: 'boolean', description: 'LIANDONG_WEBHOOK_SECRET is set (nothing is sent unsigned)' },
              subscribers: { type: 'array', items: subscriberSchema },
            },
          },
          ...errors,
        },
      },
    },
    async () => ({ global: core.config.webhookUrl ? { url: core.config.webhookUrl } : null, signed: core.config.webhook.secret !== undefined, subscribers: await webhooks.subscribers.list() }),
  );

  app.post<{ Body: { url: string; departmentId?: string | null; events?: WebhookEventName[] | null } }>(
    '/api/v1/webhooks/subscribers',
    {
      ...admin,
      schema: { body: newSubscriberBody, response: { 201: subscriberSchema, 409: errorBodySchema, ...errors } },
    },
    async (request, reply) => {
      if (core.config.webhook.secret === undefined) throw new HttpError(409, 'webhook_secret_missing', 'set LIANDONG_WEBHOOK_SECRET first: deliveries are always signed');
      const departmentId = request.body.departmentId ?? null;
      if (departmentId !== null && !core.departments.current().departmentsById.has(departmentId)) throw new HttpError(400, 'unknown_department', `unknown department "${departmentId}"`);
      const sub = await webhooks.subscribers.add({ url: request.body.url, departmentId, events: request.body.events ?? null }, actor(request));
      await audit.record(actor(request), 'webhook.subscriber_added', { id: sub.id, url: auditUrl(sub.url), departmentId, events: sub.events });
      void reply.status(201);
      return sub;
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/webhooks/subscribers/:id',
    {
      ...admin,
      schema: { params: idParams, response: { 204: { type: 'null' }, 404: errorBodySchema, ...errors } },
    },
    async (request, reply) => {
      if (!(await webhooks.subscribers.remove(request.params.id))) throw new HttpError(404, 'subscriber_not_found', `no subscriber ${request.params.id}`);
      await audit.record(actor(request), 'webhook.subscriber_removed', { id: request.params.id });
      return reply.status(204).send();
    },
  );
  return Promise.resolve();
};
