// Bearer-token roles. Tokens are compared in constant time (on SHA-256 digests, so lengths
// never leak; credentials.ts); a route states the roles it admits with `requireRole(...)`.
// Refused tokens are counted per client address (auth-failures.ts): past the limit the address
// gets 429. A department token bound to a unit acts for that unit's orders only (unitScope).
import type { FastifyRequest } from 'fastify';
import type { ApiToken, Role } from '../config.js';
import { FailedAuthLimiter } from './auth-failures.js';
import { CredentialStore, type Credential } from './credentials.js';
import { HttpError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    role?: Role;
    /** Which credential authenticated the request (its id, never the token). */
    credentialId?: string;
    credential?: Credential;
  }
}

export interface RoleGuardOptions {
  /** Refused tokens per client address per minute before 429 (default 20). */
  readonly authFailuresPerMinute?: number;
  readonly now?: () => number;
}

/** Where a role guard keeps the roles it admits (admin always may). */
export const ROLES_OF_GUARD = Symbol('liandong.roles');

/** Who did it, as recorded in events, feedback and the audit log: the person, else `api:<role>`. */
export function actorOf(request: FastifyRequest): string {
  return request.credential?.person ?? `api:${request.role ?? 'unknown'}`;
}

/** The unit a request is confined to (a unit-bound department token), else undefined. */
export function unitScope(request: FastifyRequest): string | undefined {
  return request.credential?.unitId;
}

/** 403 unless the request may act on an order dispatched to `departmentId` (or to one of several units on it). */
export function assertUnit(request: FastifyRequest, departmentId: string | readonly string[]): void {
  const unit = unitScope(request);
  const units = typeof departmentId === 'string' ? [departmentId] : departmentId;
  if (unit !== undefined && !units.includes(unit)) throw new HttpError(403, 'other_unit', `this token acts for ${unit} only; the order is ${units.join(', ')}'s`);
}

export function makeRoleGuard(tokens: ReadonlyArray<ApiToken> | CredentialStore, options: RoleGuardOptions = {}) {
  const store = tokens instanceof CredentialStore ? tokens : new CredentialStore(tokens);
  const failures = new FailedAuthLimiter(options.authFailuresPerMinute ?? 20, 60_000, options.now);

  return function requireRole(...roles: Role[]) {
    const guard = async (request: FastifyRequest): Promise<void> => {
      const wait = failures.blockedFor(request.ip);
      if (wait > 0) throw new HttpError(429, 'too_many_auth_failures', `too many refused tokens from this address; retry in ${wait} s`, { 'retry-after': String(wait) });
      const credential = store.find(request.headers.authorization);
      if (!credential) {
        failures.recordFailure(request.ip);
        throw new HttpError(401, 'unauthorized', 'missing or unknown bearer token');
      }
      const { role } = credential;
      // admin may do everything; other roles only what the route names
      if (role !== 'admin' && !roles.includes(role)) throw new HttpError(403, 'forbidden', `role ${role} may not ${request.method} ${request.routeOptions.url ?? request.url}`);
      request.role = role;
      request.credentialId = credential.id;
      request.credential = credential;
      return Promise.resolve();
    };
    // The roles a route admits, read by the OpenAPI document (security per route, openapi.ts).
    return Object.assign(guard, { [ROLES_OF_GUARD]: roles });
  };
}
