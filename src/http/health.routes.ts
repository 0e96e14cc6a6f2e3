// GET /healthz: the service, its store, ARI and AMI, for monitoring and for a load balancer in
// front of the cluster. 200 when all are up, 503 with the failing part named otherwise (a node
// that lost its store or its leases answers 503: it is not dispatching). No token: it reveals
// no data beyond node ids.
import type { FastifyPluginAsync } from 'fastify';

export interface ComponentHealth {
  readonly ok: boolean;
  readonly detail?: string;
}

/** This node's place in the cluster (a single SQLite node is a cluster of one). */
export interface ClusterHealth {
  readonly ok: boolean;
  readonly detail?: string;
  readonly nodeId: string;
  /** holding: renewing its leases; lost: could not renew in time, originates nothing. */
  readonly leases: 'holding' | 'lost';
  /** Units of work (orders, surveys, calls) this node owns now. */
  readonly owned: number;
  /** Nodes whose heartbeat is fresh, this one included. */
  readonly liveNodes: readonly string[];
}

export interface HealthProbe {
  database(): Promise<ComponentHealth & { engine: string }>;
  ari(): ComponentHealth;
  ami(): Promise<ComponentHealth>;
  cluster(): Promise<ClusterHealth>;
}

const component = { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' }, detail: { type: 'string' } } } as const;
const healthSchema = {
  type: 'object',
  required: ['status', 'uptimeSeconds', 'database', 'ari', 'ami', 'cluster'],
  properties: {
    status: { type: 'string', enum: ['ok', 'degraded'] },
    uptimeSeconds: { type: 'number' },
    database: { ...component, required: ['ok', 'engine'], properties: { ...component.properties, engine: { type: 'string', enum: ['sqlite', 'postgres'] } } },
    ari: component,
    ami: component,
    cluster: {
      type: 'object',
      required: ['ok', 'nodeId', 'leases', 'owned', 'liveNodes'],
      properties: {
        ...component.properties,
        nodeId: { type: 'string' },
        leases: { type: 'string', enum: ['holding', 'lost'] },
        owned: { type: 'integer', minimum: 0 },
        liveNodes: { type: 'array', items: { type: 'string' } },
      },
    },
  },
} as const;

export const healthRoutes: FastifyPluginAsync<{ probe: HealthProbe }> = async (app, { probe }) => {
  const startedAt = Date.now();
  app.get('/healthz', { schema: { response: { 200: healthSchema, 503: healthSchema } } }, async (_request, reply) => {
    const [database, ami, cluster] = await Promise.all([probe.database(), probe.ami(), probe.cluster()]);
    const ari = probe.ari();
    const ok = database.ok && ari.ok && ami.ok && cluster.ok;
    void reply.status(ok ? 200 : 503);
    return { status: ok ? 'ok' : 'degraded', uptimeSeconds: Math.round((Date.now() - startedAt) / 1000), database, ari, ami, cluster };
  });
  return Promise.resolve();
};
