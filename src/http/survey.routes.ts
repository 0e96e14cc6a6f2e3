// Callback survey routes: the desk asks for a callback; the linkage office reads the callback
// register (JSON or CSV) and the flags raised by "not satisfied" answers.
import type { FastifyPluginAsync } from 'fastify';
import type { SurveyService } from '../survey/survey-service.js';
import { callbackRegisterSchema, flagsSchema, surveyViewSchema, textResponse } from './response-schemas.js';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', maxLength: 64 } } } as const;
const registerQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
    departmentId: { type: 'string', maxLength: 64 },
  },
} as const;
const scheduleBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { delaySeconds: { type: 'integer', minimum: 0, maximum: 2592000 } },
  examples: [{ delaySeconds: 600 }],
} as const;
const pageQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { limit: { type: 'string', pattern: '^(200|1[0-9]{2}|[1-9][0-9]?)$' }, offset: { type: 'string', pattern: '^[0-9]{1,9}$' } },
} as const;

type RegisterQuery = { from?: string; to?: string; departmentId?: string };

export const surveyRoutes: FastifyPluginAsync<{ surveys: SurveyService }> = async (app, { surveys }) => {
  app.post<{ Params: { id: string }; Body: { delaySeconds?: number } | null }>(
    '/api/v1/orders/:id/survey',
    { onRequest: app.requireRole('desk'), schema: { params: idParams, body: scheduleBody, response: { 200: surveyViewSchema, 201: surveyViewSchema } } },
    async (request, reply) => {
      const { survey, created } = await surveys.scheduleForOrder(request.params.id, 'callback', request.body?.delaySeconds);
      void reply.status(created ? 201 : 200);
      return survey;
    },
  );

  app.get<{ Querystring: RegisterQuery }>(
    '/api/v1/reports/callbacks',
    { onRequest: app.requireRole('viewer'), schema: { querystring: registerQuery, response: { 200: callbackRegisterSchema } } },
    async (request) => ({ rows: await surveys.register(request.query) }),
  );

  app.get<{ Querystring: RegisterQuery }>(
    '/api/v1/reports/callbacks.csv',
    { onRequest: app.requireRole('viewer'), schema: { querystring: registerQuery, response: { 200: textResponse('text/csv', 'the callback register, UTF-8 with BOM, Chinese headers') } } },
    async (request, reply) => {
      void reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="callback-register.csv"');
      return surveys.registerCsv(request.query);
    },
  );

  app.get<{ Querystring: { limit?: string; offset?: string } }>(
    '/api/v1/flags',
    { onRequest: app.requireRole('viewer'), schema: { querystring: pageQuery, response: { 200: flagsSchema } } },
    async (request) => surveys.flags(Number(request.query.limit ?? 50), Number(request.query.offset ?? 0)),
  );
  return Promise.resolve();
};
