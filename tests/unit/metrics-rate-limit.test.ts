// GET /metrics is rate limited like the API (docs/metrics.md says so): a scrape counts against
// its token's LIANDONG_API_RATE_LIMIT budget, the same budget as that token's /api requests, so
// Prometheus is given a viewer token of its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createServices, type Services } from '../../src/composition.js';
import { createLogger } from '../../src/logging.js';

const VIEWER = { authorization: 'Bearer dev-viewer-token' };
const DESK = { authorization: 'Bearer dev-desk-token' };
let services: Services;
beforeAll(async () => {
  services = await createServices(loadConfig({ LIANDONG_DB: ':memory:', LOG_LEVEL: 'silent', LIANDONG_API_RATE_LIMIT: '3' }, 'dev'), { logger: createLogger('silent') });
  await services.app.ready();
});
afterAll(async () => {
  await services?.close();
});

describe('/metrics and the rate limit', () => {
  it("scrapes use the token's per-minute budget, shared with its /api requests; another token keeps its own", async () => {
    const get = (url: string, headers: Record<string, string>) => services.app.inject({ method: 'GET', url, headers, remoteAddress: '10.0.0.7' });
    expect((await get('/metrics', VIEWER)).statusCode).toBe(200);
    expect((await get('/metrics', VIEWER)).statusCode).toBe(200);
    expect((await get('/api/v1/session', VIEWER)).statusCode).toBe(200);
    const limited = await get('/metrics', VIEWER);
    expect(limited.statusCode).toBe(429);
    expect(limited.json()).toMatchObject({ error: { code: 'rate_limited' } });
    expect((await get('/api/v1/session', DESK)).statusCode).toBe(200);
  });
});
