// The linkage office's web console under /console/: static HTML, CSS and ES modules from
// src/console/public (no build step, no CDN: it works on a network with no internet), the
// sign-in check, and the live board's snapshot and event stream (src/http/events.routes.ts).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { FeaturePlugin } from '../composition.js';
import type { Config } from '../config.js';
import { eventRoutes } from '../http/events.routes.js';
import { OrderFeed } from './order-feed.js';
import { errorBodySchema } from '../http/errors.js';
import { sessionSchema } from '../http/response-schemas.js';

const PUBLIC = path.join('src', 'console', 'public');
const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};
const FILE_RE = /^[a-z0-9-]+\.(html|js|css|svg)$/;

/**
 * Only our own files: scripts and styles from this origin, the API on this origin, charts as
 * inline SVG; no frames. Nothing loads from elsewhere, so an offline network loses nothing.
 */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

interface StaticFile { readonly body: Buffer; readonly type: string; readonly etag: string }

/** The folder with the console's files, found above this module (it runs from src/ and from dist/src/). */
export function consolePublicDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, PUBLIC);
    if (fs.existsSync(path.join(candidate, 'index.html'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`${PUBLIC}/index.html not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Reads every servable file once, at boot: they are small and never change while running. */
export function loadConsoleFiles(dir = consolePublicDir()): ReadonlyMap<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const name of fs.readdirSync(dir)) {
    if (!FILE_RE.test(name)) continue;
    const body = fs.readFileSync(path.join(dir, name));
    files.set(name, { body, type: TYPES[path.extname(name)] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"` });
  }
  return files;
}

export const consoleStatic: FastifyPluginAsync<{ files: ReadonlyMap<string, StaticFile>; config: Pick<Config, 'timezone' | 'language'> }> = async (app, { files, config }) => {
  const serve = (name: string) => async (request: FastifyRequest, reply: FastifyReply) => {
    const file = files.get(name);
    if (!file) return reply.status(404).send({ error: { code: 'not_found', message: `no console file ${name}` } });
    void reply.headers(SECURITY_HEADERS).header('cache-control', 'no-cache').header('etag', file.etag);
    if (request.headers['if-none-match'] === file.etag) return reply.status(304).send();
    return reply.type(file.type).send(file.body);
  };

  // Documented in /api/v1/openapi.json: what each answers, by media type.
  const fileAnswers = {
    200: { description: 'a console file', content: Object.fromEntries([...new Set(Object.values(TYPES))].map((t) => [t.split(';')[0] as string, { schema: { type: 'string' } }])) },
    304: { description: 'not modified (If-None-Match)', type: 'null' },
    404: errorBodySchema,
  };
  app.get('/console', { schema: { response: { 302: { description: 'to /console/', type: 'null' } } } }, async (_request, reply) => reply.redirect('/console/'));
  app.get('/console/', { schema: { response: fileAnswers } }, serve('index.html'));
  app.get<{ Params: { file: string } }>(
    '/console/:file',
    { schema: { params: { type: 'object', required: ['file'], properties: { file: { type: 'string', pattern: FILE_RE.source } } }, response: fileAnswers } },
    async (request, reply) => serve(request.params.file)(request, reply),
  );

  // The console asks who the token belongs to, to show only what that role may see.
  app.get('/api/v1/session', { onRequest: app.requireRole('desk', 'viewer', 'department'), schema: { response: { 200: sessionSchema } } }, (request, reply) => {
    const { unitId, person } = request.credential ?? {};
    void reply.send({ role: request.role, ...(unitId ? { unitId } : {}), ...(person ? { person } : {}), timezone: config.timezone, language: config.language });
  });
  return Promise.resolve();
};

/** The feature plugin registered in src/composition.ts. */
export const consoleRoutes: FeaturePlugin = async (app, { core }) => {
  const feed = new OrderFeed(core.store, core.logger);
  await app.register(consoleStatic, { files: loadConsoleFiles(), config: core.config });
  await app.register(eventRoutes, { store: core.store, feed });
};
