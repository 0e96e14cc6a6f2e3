// GET /metrics: Prometheus text format, for a token of role viewer (or admin). Prometheus sends it
// with `authorization: { type: Bearer, credentials_file: … }` (docs/metrics.md).
import type { FeaturePlugin } from '../composition.js';
import { textResponse } from '../http/response-schemas.js';

export const metricsRoutes: FeaturePlugin = async (app, { core }) => {
  app.get(
    '/metrics',
    { logLevel: 'warn', onRequest: app.requireRole('viewer'), schema: { response: { 200: textResponse('text/plain', 'Prometheus text exposition format 0.0.4 (docs/metrics.md lists every metric)') } } },
    async (_request, reply) => {
      const text = await core.metrics.text();
      void reply.header('content-type', core.metrics.contentType());
      return text;
    },
  );
  return Promise.resolve();
};
