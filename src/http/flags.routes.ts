// GET/PATCH /api/v1/flags/:id (viewer: the linkage office; admin): one flag with its history, and
// its owner, status and resolution note. The list stays GET /api/v1/flags (survey.routes.ts).
import type { FastifyPluginAsync } from 'fastify';
import type { Store } from '../db/store.js';
import { FLAG_STATUSES, FlagWorkflow, type FlagPatch } from '../survey/flag-workflow.js';
import { actorOf } from './auth.js';
import { errorBodySchema } from './errors.js';

const params = { type: 'object', additionalProperties: false, required: ['id'], properties: { id: { type: 'string', pattern: '^[1-9][0-9]{0,9}$' } } } as const;
const patchBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    owner: { type: ['string', 'null'], minLength: 1, maxLength: 64 },
    status: { type: 'string', enum: [...FLAG_STATUSES] },
    resolution: { type: 'string', minLength: 1, maxLength: 1000 },
  },
  examples: [{ owner: '联动办 王敏', status: 'closed', resolution: '已回电报警人，处置单位补充说明到场延误原因' }],
} as const;
const change = { type: 'object', properties: { from: {}, to: {} } } as const;
const flagSchema = {
  type: 'object',
  required: ['id', 'orderId', 'surveyId', 'reason', 'createdAt', 'owner', 'status', 'resolution', 'updatedAt', 'history'],
  properties: {
    id: { type: 'integer' }, orderId: { type: 'string' }, surveyId: { type: 'string' }, reason: { type: 'string' }, createdAt: { type: 'string' },
    owner: { type: ['string', 'null'] }, status: { type: 'string', enum: [...FLAG_STATUSES] }, resolution: { type: ['string', 'null'] }, updatedAt: { type: ['string', 'null'] },
    history: {
      type: 'array',
      items: { type: 'object', required: ['at', 'actor', 'changes'], properties: { at: { type: 'string' }, actor: { type: 'string' }, changes: { type: 'object', additionalProperties: change } } },
    },
  },
} as const;
const errors = { 400: errorBodySchema, 401: errorBodySchema, 403: errorBodySchema, 404: errorBodySchema, 409: errorBodySchema };

export const flagRoutes: FastifyPluginAsync<{ store: Store }> = async (app, { store }) => {
  const flags = new FlagWorkflow(store);
  app.get<{ Params: { id: string } }>(
    '/api/v1/flags/:id',
    { onRequest: app.requireRole('viewer'), schema: { params, response: { 200: flagSchema, ...errors } } },
    async (request) => flags.get(Number(request.params.id)),
  );
  app.patch<{ Params: { id: string }; Body: FlagPatch }>(
    '/api/v1/flags/:id',
    { onRequest: app.requireRole('viewer'), schema: { params, body: patchBody, response: { 200: flagSchema, ...errors } } },
    async (request) => flags.update(Number(request.params.id), request.body, actorOf(request)),
  );
  return Promise.resolve();
};
