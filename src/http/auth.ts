// Bearer-token roles. Tokens are compared in constant time (on SHA-256 digests, so lengths
// never leak); a route states the roles it admits with `requireRole(...)`. Refused tokens are
// counted per client address (auth-failures.ts): past the limit the address gets 429.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Role } from '../config.js';
import { FailedAuthLimiter } from './auth-failures.js';
import { HttpError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    role?: Role;
    /** Which credential authenticated the request: the first 16 hex digits of its SHA-256 (never the token). */
    credentialId?: string;
  }
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export interface RoleGuardOptions {
  /** Refused tokens per client address per minute before 429 (default 20). */
  readonly authFailuresPerMinute?: number;
  readonly now?: () => number;
}

export function makeRoleGuard(tokens: ReadonlyArray<{ readonly role: Role; readonly token: string }>, options: RoleGuardOptions = {}) {
  const known = tokens.map((t) => ({ role: t.role, digest: digest(t.token) }));
  const failures = new FailedAuthLimiter(options.authFailuresPerMinute ?? 20, 60_000, options.now);

  /** The known token a bearer header carries, checking every known token so timing says nothing. */
  function credentialOf(header: string | undefined): { role: Role; id: string } | undefined {
    const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header ?? '');
    if (!m?.[1]) return undefined;
    const presented = digest(m[1]);
    let found: Role | undefined;
    for (const k of known) if (timingSafeEqual(k.digest, presented)) found = k.role;
    return found ? { role: found, id: presented.toString('hex').slice(0, 16) } : undefined;
  }

  return function requireRole(...roles: Role[]) {
    return async (request: FastifyRequest): Promise<void> => {
      const wait = failures.blockedFor(request.ip);
      if (wait > 0) throw new HttpError(429, 'too_many_auth_failures', `too many refused tokens from this address; retry in ${wait} s`, { 'retry-after': String(wait) });
      const credential = credentialOf(request.headers.authorization);
      if (!credential) {
        failures.recordFailure(request.ip);
        throw new HttpError(401, 'unauthorized', 'missing or unknown bearer token');
      }
      const { role } = credential;
      // admin may do everything; other roles only what the route names
      if (role !== 'admin' && !roles.includes(role)) throw new HttpError(403, 'forbidden', `role ${role} may not ${request.method} ${request.routeOptions.url ?? request.url}`);
      request.role = role;
      request.credentialId = credential.id;
      return Promise.resolve();
    };
  };
}
