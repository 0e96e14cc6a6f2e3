// buildApp(deps): the whole HTTP surface, built from injected services and never listening by
// itself (main.ts listens; tests use app.inject).
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Config } from '../config.js';
import type { Logger } from '../logging.js';
import { makeRoleGuard } from './auth.js';
import { CredentialStore } from './credentials.js';
import { clientErrorHandler, errorHandler } from './errors.js';
import { healthRoutes, type HealthProbe } from './health.routes.js';
import { registerOpenApi } from './openapi.js';
import { isExemptRoute, registerApiRateLimit } from './rate-limit.js';

export interface AppDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly health: HealthProbe;
  /** Serves rendered prompt audio to Asterisk (sound:http://…). */
  readonly mediaRoutes?: FastifyPluginAsync;
  /** The /api/v1 routes; they use app.requireRole, decorated before they are registered. */
  readonly apiRoutes?: FastifyPluginAsync;
  /** Told of every answer: method, route pattern, status, seconds (the HTTP metrics). */
  readonly onAnswered?: (method: string, route: string, status: number, seconds: number) => void;
}

/** Largest request body, bytes: orders are small JSON; anything bigger is a mistake or an attack. */
export const BODY_LIMIT_BYTES = 64 * 1024;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  // Typed as the base logger so the instance keeps Fastify's default generics.
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance,
    // Fastify's own two lines per request (incoming, completed) become one at debug (below): at
    // info they were most of the service's log volume (every prompt file Asterisk fetches).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    // Router and HTTP-parser failures (bad percent-encoding, over-long segment, oversized
    // headers, garbage request lines) get the one error shape too, without echoing the path.
    frameworkErrors: (err, request, reply) => errorHandler(err, request, reply),
    clientErrorHandler,
  });
  app.setErrorHandler(errorHandler);
  // Response schemas document and check answers (openapi.ts); they never reshape them.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // Before any route: it notes every route, its roles and error answers for /api/v1/openapi.json.
  await registerOpenApi(app, { checkResponses: deps.config.profile === 'dev' });
  const { onAnswered } = deps;
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the URL: ids and tokens stay out of metric labels and log lines.
    const route = request.routeOptions.url ?? 'unmatched';
    onAnswered?.(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    request.log.debug({ method: request.method, route, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
    return Promise.resolve();
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: 'not_found', message: `no route for ${request.method} on this path` } });
  });
  // Only JSON bodies: Fastify's built-in text/plain parser would turn a text body into a 400
  // from schema validation; without it the answer is the documented 415.
  app.removeContentTypeParser('text/plain');
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-content-type-options', 'nosniff');
    // API answers hold case records and tokens' data: never cached. Static console files and
    // prompt audio keep their own caching.
    if (!isExemptRoute(request.routeOptions.url) && !reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
    return Promise.resolve();
  });
  // LIANDONG_API_TOKENS and the token file (followed while the app runs).
  const credentials = new CredentialStore(deps.config.apiTokens, deps.config.tokensFile, deps.logger);
  credentials.watch();
  app.addHook('onClose', async () => {
    credentials.close();
    return Promise.resolve();
  });
  app.decorate('credentials', credentials);
  const requireRole = makeRoleGuard(credentials, { authFailuresPerMinute: deps.config.rateLimit.authFailuresPerMinute });
  app.decorate('requireRole', requireRole);
  // Before any route, so every /api route is limited (rate-limit.ts).
  await registerApiRateLimit(app, deps.config, credentials);

  await app.register(healthRoutes, { probe: deps.health });
  if (deps.mediaRoutes) await app.register(deps.mediaRoutes);
  if (deps.apiRoutes) await app.register(deps.apiRoutes);
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    requireRole: ReturnType<typeof makeRoleGuard>;
    credentials: CredentialStore;
  }
}
