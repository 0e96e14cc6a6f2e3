// The token file (LIANDONG_TOKENS_FILE, default ./data/tokens.json): API credentials issued to
// one person each, optionally bound to one unit (department). It stores only the SHA-256 of
// each token, so a copy of the file lets nobody in. Managed by `liandong tokens add|list|revoke`;
// the service reads it at boot and again whenever it changes (credentials.ts).
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ROLES, type Role } from '../config.js';

export interface FileToken {
  /** Public id, e.g. `t3f9a1c2e`: named in `tokens list` and `tokens revoke`, never a secret. */
  readonly id: string;
  readonly role: Role;
  /** The unit (department id) a `department` token acts for; absent for other roles. */
  readonly unitId?: string;
  /** The person the token was issued to: the actor recorded for what it does. */
  readonly person: string;
  /** Hex SHA-256 of the token. */
  readonly sha256: string;
  readonly createdAt: string;
  readonly revokedAt?: string;
}

export interface TokenFile { readonly version: 1; readonly tokens: readonly FileToken[] }

const ID_RE = /^t[0-9a-f]{8}$/;
const UNIT_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;
const HEX64_RE = /^[0-9a-f]{64}$/;

/** A person's name as recorded: 1–64 characters, no control characters, no leading/trailing blanks. */
export function personProblem(person: string): string | undefined {
  if (person.length < 1 || person.length > 64) return 'the person must be 1 to 64 characters';
  if (/\p{Cc}/u.test(person)) return 'the person must not contain control characters';
  if (person.trim() !== person) return 'the person must not start or end with blanks';
  return undefined;
}

/** Validates a parsed token file; returns the problems (empty when it is good). */
export function tokenFileProblems(data: unknown): string[] {
  if (typeof data !== 'object' || data === null || (data as { version?: unknown }).version !== 1 || !Array.isArray((data as { tokens?: unknown }).tokens)) {
    return ['must be {"version": 1, "tokens": [...]}'];
  }
  const problems: string[] = [];
  const ids = new Set<string>();
  ((data as { tokens: unknown[] }).tokens).forEach((t, i) => {
    const e = t as Partial<Record<keyof FileToken, unknown>>;
    const where = `tokens[${i}]`;
    if (typeof e !== 'object' || e === null) return void problems.push(`${where} is not an object`);
    if (typeof e.id !== 'string' || !ID_RE.test(e.id)) problems.push(`${where}.id must look like t0123abcd`);
    else if (ids.has(e.id)) problems.push(`${where}.id ${e.id} is listed twice`);
    else ids.add(e.id);
    if (typeof e.role !== 'string' || !(ROLES as readonly string[]).includes(e.role)) problems.push(`${where}.role must be one of ${ROLES.join(', ')}`);
    if (e.unitId !== undefined && (typeof e.unitId !== 'string' || !UNIT_RE.test(e.unitId))) problems.push(`${where}.unitId must be a department id`);
    if (e.unitId !== undefined && e.role !== 'department') problems.push(`${where}: only a department token is bound to a unit`);
    const pp = typeof e.person === 'string' ? personProblem(e.person) : 'the person must be text';
    if (pp) problems.push(`${where}: ${pp}`);
    if (typeof e.sha256 !== 'string' || !HEX64_RE.test(e.sha256)) problems.push(`${where}.sha256 must be 64 lowercase hex digits`);
    if (typeof e.createdAt !== 'string' || Number.isNaN(Date.parse(e.createdAt))) problems.push(`${where}.createdAt must be a time`);
    if (e.revokedAt !== undefined && (typeof e.revokedAt !== 'string' || Number.isNaN(Date.parse(e.revokedAt)))) problems.push(`${where}.revokedAt must be a time`);
  });
  return problems;
}

export class TokenFileError extends Error {
  constructor(file: string, readonly problems: string[]) {
    super(`token file ${file}: ${problems.join('; ')}`);
    this.name = 'TokenFileError';
  }
}

/** Reads the token file; a missing file is an empty one. Throws TokenFileError when it is invalid. */
export function readTokenFile(file: string): TokenFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, tokens: [] };
    throw err;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new TokenFileError(file, ['is not JSON']);
  }
  const problems = tokenFileProblems(data);
  if (problems.length > 0) throw new TokenFileError(file, problems);
  return data as TokenFile;
}

/** Writes the file atomically (temporary file, then rename), readable by its owner only. */
export function writeTokenFile(file: string, data: TokenFile): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export const sha256Hex = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** Issues a new token: returns the file with its hash added, and the token itself (shown once). */
export function addToken(data: TokenFile, entry: { role: Role; unitId?: string; person: string }, now = new Date()): { data: TokenFile; token: string; id: string } {
  const problem = personProblem(entry.person);
  if (problem) throw new TokenFileError('(new token)', [problem]);
  if (entry.unitId !== undefined && entry.role !== 'department') throw new TokenFileError('(new token)', ['--unit is only for --role department']);
  if (entry.unitId !== undefined && !UNIT_RE.test(entry.unitId)) throw new TokenFileError('(new token)', ['--unit must be a department id']);
  const taken = new Set(data.tokens.map((t) => t.id));
  let id: string;
  do id = `t${randomBytes(4).toString('hex')}`; while (taken.has(id));
  // 32 random bytes: 256 bits, base64url (43 characters, printable ASCII as bearer tokens must be).
  const token = `ld_${randomBytes(32).toString('base64url')}`;
  const added: FileToken = {
    id, role: entry.role, ...(entry.unitId === undefined ? {} : { unitId: entry.unitId }), person: entry.person, sha256: sha256Hex(token), createdAt: now.toISOString(),
  };
  return { data: { version: 1, tokens: [...data.tokens, added] }, token, id };
}

/** Marks a token revoked (kept in the file, so the record of who held it stays). */
export function revokeToken(data: TokenFile, id: string, now = new Date()): TokenFile {
  const found = data.tokens.find((t) => t.id === id);
  if (!found) throw new TokenFileError('(revoke)', [`no token ${id}`]);
  if (found.revokedAt) throw new TokenFileError('(revoke)', [`token ${id} was already revoked at ${found.revokedAt}`]);
  return { version: 1, tokens: data.tokens.map((t) => (t.id === id ? { ...t, revokedAt: now.toISOString() } : t)) };
}
