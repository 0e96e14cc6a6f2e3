// A health probe where every part is up: for app.inject tests that build the app without a service.
import type { HealthProbe } from '../../src/http/health.routes.js';

export function healthyProbe(overrides: Partial<HealthProbe> = {}): HealthProbe {
  return {
    database: () => Promise.resolve({ ok: true, engine: 'sqlite' }),
    ari: () => ({ ok: true }),
    ami: () => Promise.resolve({ ok: true }),
    cluster: () => Promise.resolve({ ok: true, nodeId: 'test-node', leases: 'holding', owned: 0, liveNodes: ['test-node'] }),
    ...overrides,
  };
}
