// `liandong tokens add|list|revoke`: per-person API tokens in the token file
// (LIANDONG_TOKENS_FILE). `add` prints the new token once — the file keeps only its SHA-256 —
// and a running service picks the change up within a second or two (credentials.ts).
import { ROLES, type Config, type Role } from '../config.js';
import { loadCatalog } from '../departments/catalog.js';
import { addToken, readTokenFile, revokeToken, TokenFileError, writeTokenFile } from './token-file.js';

const USAGE = `usage: liandong tokens add --role desk|department|viewer|admin [--unit <departmentId>] --person <name>
       liandong tokens list
       liandong tokens revoke <id>
  per-person API tokens in LIANDONG_TOKENS_FILE (default ./data/tokens.json); the file stores only
  each token's SHA-256; a department token with --unit acts for that unit's orders only`;

type Out = (line: string) => void;

/** Parses `add`'s flags; a string is the problem to report. */
export function parseAddArgs(args: readonly string[]): { role: Role; unitId?: string; person: string } | string {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i += 2) {
    const name = args[i];
    const value = args[i + 1];
    if (name !== '--role' && name !== '--unit' && name !== '--person') return `unknown option ${String(name)}`;
    if (value === undefined || value.startsWith('--')) return `${name} needs a value`;
    if (flags.has(name)) return `${name} given twice`;
    flags.set(name, value);
  }
  const role = flags.get('--role');
  const person = flags.get('--person');
  const unitId = flags.get('--unit');
  if (role === undefined || !(ROLES as readonly string[]).includes(role)) return `--role must be one of ${ROLES.join(', ')}`;
  if (person === undefined) return '--person is required: a token is issued to one person';
  return { role: role as Role, person, ...(unitId === undefined ? {} : { unitId }) };
}

export function runTokensCli(args: string[], config: Config, out: Out): Promise<number> {
  return Promise.resolve(tokensCommand(args, config, out));
}

function tokensCommand(args: string[], config: Config, out: Out): number {
  const [sub, ...rest] = args;
  const err = (line: string) => process.stderr.write(`${line}\n`);
  try {
    if (sub === 'add') {
      const parsed = parseAddArgs(rest);
      if (typeof parsed === 'string') {
        err(`${parsed}\n${USAGE}`);
        return 2;
      }
      if (parsed.unitId !== undefined && !loadCatalog().departmentsById.has(parsed.unitId)) {
        err(`--unit ${parsed.unitId}: no such department in the catalog`);
        return 2;
      }
      const { data, token, id } = addToken(readTokenFile(config.tokensFile), parsed);
      writeTokenFile(config.tokensFile, data);
      out(`token ${id} for ${parsed.person} (${parsed.role}${parsed.unitId ? `, unit ${parsed.unitId}` : ''}) added to ${config.tokensFile}`);
      out(`the token (shown this once; the file keeps only its SHA-256): ${token}`);
      return 0;
    }
    if (sub === 'list') {
      const { tokens } = readTokenFile(config.tokensFile);
      if (tokens.length === 0) out(`no tokens in ${config.tokensFile}`);
      for (const t of tokens) {
        out(`${t.id}  ${t.role.padEnd(10)}  ${(t.unitId ?? '-').padEnd(20)}  ${t.person}  created ${t.createdAt}${t.revokedAt ? `  REVOKED ${t.revokedAt}` : ''}`);
      }
      return 0;
    }
    if (sub === 'revoke' && rest.length === 1 && rest[0]) {
      writeTokenFile(config.tokensFile, revokeToken(readTokenFile(config.tokensFile), rest[0]));
      out(`token ${rest[0]} revoked; a running service refuses it within 2 s`);
      return 0;
    }
  } catch (e) {
    if (e instanceof TokenFileError) {
      err(e.message);
      return 1;
    }
    throw e;
  }
  err(USAGE);
  return 2;
}
