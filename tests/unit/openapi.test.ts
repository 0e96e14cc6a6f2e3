// The OpenAPI document of the fully composed service: every route registered (found by the app's
// own onRoute hook, not a list kept here) is in /api/v1/openapi.json with its roles, request and
// response schemas and error bodies; the answers of the routes match what they declare; /docs is
// served from the service itself, with nothing fetched from elsewhere.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createServices, type Services } from '../../src/composition.js';
import { buildApp } from '../../src/http/app.js';
import { responseSchemaFor, schemaMismatch } from '../../src/http/openapi.js';
import { createLogger } from '../../src/logging.js';
import { WEBHOOK_EVENTS } from '../../src/webhooks/events.js';
import { healthyProbe } from '../support/health.js';

interface Operation {
  security?: Array<Record<string, string[]>>;
  requestBody?: { content: Record<string, { schema: unknown; example?: unknown; examples?: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: Record<string, unknown> }> }>;
}
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { securitySchemes: Record<string, unknown> }; webhooks: Record<string, { post: Operation & { parameters: Array<{ name: string }> } }> };

/** Routes left out of the document on purpose, and why. Anything else hidden fails the test. */
const HIDDEN = [
  { pattern: /^GET \/api\/v1\/openapi\.json$/, why: 'the document itself' },
  { pattern: /^GET \/docs(\/.*)?$/, why: 'the reference UI and its static files' },
];
const ADMIN = { authorization: 'Bearer dev-admin-token' };
const toOpenApiPath = (url: string) => url.replace(/:([A-Za-z_]+)/g, '{$1}').replace(/\*$/, '{*}');

let services: Services;
let doc: Doc;
beforeAll(async () => {
  services = await createServices(loadConfig({ LIANDONG_DB: ':memory:', LOG_LEVEL: 'silent' }, 'dev'), { logger: createLogger('silent') });
  await services.app.ready();
  const res = await services.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
  expect(res.statusCode).toBe(200);
  doc = res.json<Doc>();
});
afterAll(async () => {
  await services?.close();
});

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 with a bearer security scheme per role', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['admin', 'department', 'desk', 'viewer']);
  });

  it('has every registered route (discovered by the onRoute hook); only the document and its UI are hidden', () => {
    const catalog = services.app.routeCatalog;
    expect(catalog.length).toBeGreaterThan(30);
    const missing: string[] = [];
    for (const r of catalog) {
      const name = `${r.method} ${r.url}`;
      if (r.hidden) {
        expect(HIDDEN.some((h) => h.pattern.test(name)), `${name} is hidden from the document without a reason`).toBe(true);
        continue;
      }
      if (!doc.paths[toOpenApiPath(r.url)]?.[r.method.toLowerCase()]) missing.push(name);
    }
    expect(missing).toEqual([]);
    // …and nothing in the document that is not a route.
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
    const routes = new Set(catalog.map((r) => `${r.method} ${toOpenApiPath(r.url)}`));
    expect(documented.filter((d) => !routes.has(d))).toEqual([]);
  });

  it('gives every operation its roles, a success answer with a schema, the error bodies and, for a body, an example', () => {
    const problems: string[] = [];
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const name = `${method.toUpperCase()} ${p}`;
        if (!Array.isArray(op.security)) problems.push(`${name}: no security`);
        const ok = Object.entries(op.responses).filter(([status]) => /^[23]/.test(status));
        if (ok.length === 0) problems.push(`${name}: no 2xx/3xx answer`);
        for (const [status, r] of ok) if (!r.content && status !== '204' && !/^3/.test(status)) problems.push(`${name}: ${status} has no schema`);
        const guarded = (op.security ?? []).length > 0;
        for (const status of guarded ? ['401', '403', '500'] : ['500']) {
          const body = op.responses[status]?.content?.['application/json']?.schema as { properties?: Record<string, unknown> } | undefined;
          if (!body?.properties?.error) problems.push(`${name}: no ${status} error body`);
        }
        if (op.requestBody) {
          const media = Object.values(op.requestBody.content)[0];
          const schema = media?.schema as { examples?: unknown[] } | undefined;
          if (media?.example === undefined && media?.examples === undefined && !schema?.examples?.length) problems.push(`${name}: request body without an example`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('documents every webhook event a subscriber receives, with the signature headers', () => {
    expect(Object.keys(doc.webhooks).sort()).toEqual([...WEBHOOK_EVENTS].sort());
    for (const [event, { post }] of Object.entries(doc.webhooks)) {
      expect(post.parameters.map((p) => p.name), event).toEqual(expect.arrayContaining(['X-Liandong-Signature', 'X-Liandong-Timestamp', 'X-Liandong-Event-Id']));
      expect(post.requestBody?.content['application/json']?.schema, event).toMatchObject({ properties: { event: { const: event } } });
    }
  });

  it('documents the roles each route admits (admin always)', () => {
    const roles = (p: string, m: string) => (doc.paths[p]?.[m]?.security ?? []).flatMap((s) => Object.keys(s)).sort();
    expect(roles('/api/v1/orders', 'post')).toEqual(['admin', 'desk']);
    expect(roles('/api/v1/orders/{id}/feedback', 'post')).toEqual(['admin', 'department']);
    expect(roles('/api/v1/webhooks/deliveries', 'get')).toEqual(['admin']);
    expect(roles('/healthz', 'get')).toEqual([]);
  });

  it('every GET route without path parameters answers what its schema declares', async () => {
    const checked: string[] = [];
    for (const r of services.app.routeCatalog) {
      if (r.method !== 'GET' || r.hidden || r.url.includes(':') || r.url.includes('*') || r.url.startsWith('/api/v1/events/')) continue;
      const res = await services.app.inject({ method: 'GET', url: r.url, headers: ADMIN });
      expect(res.statusCode, `GET ${r.url}: ${res.body.slice(0, 300)}`).not.toBe(500);
      const op = doc.paths[toOpenApiPath(r.url)]?.get;
      const declared = op?.responses[String(res.statusCode)];
      expect(declared, `GET ${r.url} answered ${res.statusCode}, which it does not declare`).toBeDefined();
      const type = String(res.headers['content-type'] ?? '').split(';')[0] as string;
      const media = declared?.content?.[type];
      if (res.statusCode >= 300 && res.statusCode < 400) continue;
      expect(media, `GET ${r.url}: ${res.statusCode} ${type} not declared`).toBeDefined();
      if (type === 'application/json') expect(schemaMismatch(media?.schema as Record<string, unknown>, res.json()), `GET ${r.url}`).toBeUndefined();
      checked.push(r.url);
    }
    expect(checked.length).toBeGreaterThan(12);
  }, 20_000); // every route of a whole service, some reading AMI or the store: seconds on a loaded machine

  it('the reference UI at /docs is served by the service: no script or style from another host', async () => {
    const page = await services.app.inject({ method: 'GET', url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('swagger-ui');
    expect(page.body).not.toMatch(/(src|href)=["']https?:\/\//);
    const init = await services.app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
    expect(init.statusCode).toBe(200);
    // No address of another host outside comments (the spec and the validator are not fetched from elsewhere).
    const code = init.body.split('\n').filter((l) => !l.trim().startsWith('//')).join('\n');
    expect(code).not.toMatch(/https?:\/\//);
    const bundle = await services.app.inject({ method: 'GET', url: '/docs/static/swagger-ui-bundle.js' });
    expect(bundle.statusCode).toBe(200);
    expect(bundle.body.length).toBeGreaterThan(100_000);
  });
});

describe('the response check (dev profile)', () => {
  it('turns an answer that breaks its declared schema into a 500 naming the problem', async () => {
    const config = loadConfig({}, 'dev');
    const app = await buildApp({
      config,
      logger: createLogger('silent'),
      health: healthyProbe(),
      apiRoutes: (i) => {
        i.get('/api/v1/lies', { schema: { response: { 200: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } } } }, () => Promise.resolve({ n: 'seven' }));
        i.get('/api/v1/truth', { schema: { response: { 200: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } } } } }, () => Promise.resolve({ n: 7 }));
        return Promise.resolve();
      },
    });
    const bad = await app.inject({ method: 'GET', url: '/api/v1/lies' });
    expect(bad.statusCode).toBe(500);
    expect(bad.json()).toMatchObject({ error: { code: 'response_schema_mismatch', message: expect.stringContaining('response/n must be integer') as string } });
    expect((await app.inject({ method: 'GET', url: '/api/v1/truth' })).json()).toEqual({ n: 7 });
    expect(responseSchemaFor({ response: { '2xx': { type: 'object' } } }, 201)).toEqual({ type: 'object' });
  });
});
