// GET /healthz: the service, the database, ARI and AMI, for monitoring. 200 when all are up,
// 503 with the failing part named otherwise. No token: it reveals no data.
import type { FastifyPluginAsync } from 'fastify';

export interface ComponentHealth {
  readonly ok: boolean;
  readonly detail?: string;
}
export interface HealthProbe {
  database(): ComponentHealth;
  ari(): ComponentHealth;
  ami(): Promise<ComponentHealth>;
}

const component = { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' }, detail: { type: 'string' } } } as const;
const healthSchema = {
  type: 'object',
  required: ['status', 'uptimeSeconds', 'database', 'ari', 'ami'],
  properties: {
    status: { type: 'string', enum: ['ok', 'degraded'] },
    uptimeSeconds: { type: 'number' },
    database: component,
    ari: component,
    ami: component,
  },
} as const;

export const healthRoutes: FastifyPluginAsync<{ probe: HealthProbe }> = async (app, { probe }) => {
  const startedAt = Date.now();
  app.get('/healthz', { schema: { response: { 200: healthSchema, 503: healthSchema } } }, async (_request, reply) => {
    const [database, ari, ami] = [probe.database(), probe.ari(), await probe.ami()];
    const ok = database.ok && ari.ok && ami.ok;
    void reply.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'degraded', uptimeSeconds: Math.round((Date.now() - startedAt) / 1000), database, ari, ami };
  });
  return Promise.resolve();
};
