// Bearer-token roles. Tokens are compared in constant time (on SHA-256 digests, so lengths
// never leak); a route states the roles it admits with `requireRole(...)`.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Role } from '../config.js';
import { HttpError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    role?: Role;
  }
}

/** Where a role guard keeps the roles it admits (admin always may). */
export const ROLES_OF_GUARD = Symbol('liandong.roles');

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export function makeRoleGuard(tokens: ReadonlyArray<{ readonly role: Role; readonly token: string }>) {
  const known = tokens.map((t) => ({ role: t.role, digest: digest(t.token) }));

  /** The role of a bearer token, checking every known token so timing says nothing. */
  function roleOf(header: string | undefined): Role | undefined {
    const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header ?? '');
    if (!m?.[1]) return undefined;
    const presented = digest(m[1]);
    let found: Role | undefined;
    for (const k of known) if (timingSafeEqual(k.digest, presented)) found = k.role;
    return found;
  }

  return function requireRole(...roles: Role[]) {
    const guard = async (request: FastifyRequest): Promise<void> => {
      const role = roleOf(request.headers.authorization);
      if (!role) throw new HttpError(401, 'unauthorized', 'missing or unknown bearer token');
      // admin may do everything; other roles only what the route names
      if (role !== 'admin' && !roles.includes(role)) throw new HttpError(403, 'forbidden', `role ${role} may not ${request.method} ${request.routeOptions.url ?? request.url}`);
      request.role = role;
      return Promise.resolve();
    };
    // The roles a route admits, read by the OpenAPI document (security per route, openapi.ts).
    return Object.assign(guard, { [ROLES_OF_GUARD]: roles });
  };
}
