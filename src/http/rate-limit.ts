// Rate limit of the /api routes (@fastify/rate-limit): so many requests per client per minute,
// then 429 with Retry-After. A client is its bearer token when the token is known (the desk
// system keeps its budget whatever address it comes from), else its address (so guessing tokens
// is limited too). /healthz, /media (Asterisk fetching prompts mid-call) and the console's
// static files are not limited.
// Which requests are limited is decided on the route the router MATCHED, never on the raw URL:
// the router decodes `/%61pi/v1/session` and takes the path of an absolute-form request line
// (`GET http://host/api/v1/session`), so a raw-URL test let both through unlimited. A request
// that matches no route is limited too (it is keyed by address like any unknown client).
import { createHash } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import type { CredentialStore } from './credentials.js';
import { HttpError } from './errors.js';

const digest = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** The bucket a request counts against: `token:<sha256>` for a known token, else `ip:<address>`. */
export function rateLimitKey(known: { has(hexDigest: string): boolean }, request: Pick<FastifyRequest, 'headers' | 'ip'>): string {
  const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(request.headers.authorization ?? '');
  const hashed = m?.[1] ? digest(m[1]) : undefined;
  return hashed && known.has(hashed) ? `token:${hashed}` : `ip:${request.ip}`;
}

/** Matched route patterns that are never limited (see the header); undefined = no route matched. */
export function isExemptRoute(route: string | undefined): boolean {
  return route !== undefined && /^\/(healthz$|media\/|console(\/|$))/.test(route);
}

export async function registerApiRateLimit(app: FastifyInstance, config: Pick<Config, 'rateLimit' | 'apiTokens'>, credentials?: CredentialStore): Promise<void> {
  // The token file's credentials change at run time: ask the store when there is one.
  const known = credentials
    ? { has: (hex: string) => credentials.all().some((c) => c.digest.toString('hex') === hex) }
    : new Set(config.apiTokens.map((t) => digest(t.token)));
  await app.register(rateLimit, {
    // Not per route: a route's own onRequest (the role check) would run first and a refused
    // token would never be counted. As an app-wide hook it runs before every route's hooks.
    global: false,
    max: config.rateLimit.perMinute,
    timeWindow: 60_000,
    allowList: (request) => isExemptRoute(request.routeOptions.url),
    keyGenerator: (request) => rateLimitKey(known, request),
    errorResponseBuilder: (_request, context) =>
      new HttpError(429, 'rate_limited', `more than ${context.max} requests a minute; retry in ${context.after}`),
  });
  app.addHook('onRequest', app.rateLimit());
}
