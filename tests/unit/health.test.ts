import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { buildApp } from '../../src/http/app.js';
import { createLogger } from '../../src/logging.js';
import { healthyProbe } from '../support/health.js';

async function healthz(probe = healthyProbe()) {
  const app = await buildApp({ config: loadConfig({}, 'dev'), logger: createLogger('silent'), health: probe });
  const res = await app.inject({ method: 'GET', url: '/healthz' });
  await app.close();
  return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
}

describe('GET /healthz', () => {
  it('names the store engine, this node, its lease state and the live nodes', async () => {
    const res = await healthz(healthyProbe({
      database: () => Promise.resolve({ ok: true, engine: 'postgres' }),
      cluster: () => Promise.resolve({ ok: true, nodeId: 'cell-1', leases: 'holding', owned: 3, liveNodes: ['cell-1', 'cell-2'] }),
    }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', database: { ok: true, engine: 'postgres' }, cluster: { nodeId: 'cell-1', leases: 'holding', owned: 3, liveNodes: ['cell-1', 'cell-2'] } });
  });

  it('answers 503 when the node lost its store', async () => {
    const res = await healthz(healthyProbe({ database: () => Promise.resolve({ ok: false, engine: 'postgres', detail: 'connect ECONNREFUSED' }) }));
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'degraded', database: { ok: false, detail: 'connect ECONNREFUSED' } });
  });

  it('answers 503 when the node could not renew its leases (it dispatches nothing then)', async () => {
    const res = await healthz(healthyProbe({ cluster: () => Promise.resolve({ ok: false, detail: 'leases not renewed for 4.1 s', nodeId: 'cell-1', leases: 'lost', owned: 0, liveNodes: ['cell-2'] }) }));
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ cluster: { ok: false, leases: 'lost' } });
  });
});
