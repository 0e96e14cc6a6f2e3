// Every credential the API knows: the tokens of LIANDONG_API_TOKENS (shared per role, or bound
// to one unit) and the per-person tokens of the token file, which is read at boot and again
// whenever it changes (polled once a second: a rename by `liandong tokens` is seen too). A token
// file that turns invalid is refused whole and the last good one stays in force (logged).
import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import type { ApiToken, Role } from '../config.js';
import type { Logger } from '../logging.js';
import { readTokenFile } from '../tokens/token-file.js';

export interface Credential {
  /** `env:<16 hex of the token's SHA-256>` or the token file's id. Never the token. */
  readonly id: string;
  readonly role: Role;
  /** A department token bound to one unit acts for that unit's orders only. */
  readonly unitId?: string;
  /** Who holds it (token file); recorded as the actor of what the token does. */
  readonly person?: string;
  readonly digest: Buffer;
}

/** How often the token file is checked for changes, ms. */
const FILE_POLL_MS = 1000;

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class CredentialStore {
  private fromFile: readonly Credential[] = [];
  private readonly fromEnv: readonly Credential[];
  private readonly onChange = (): void => this.reload();
  private watching = false;

  constructor(envTokens: ReadonlyArray<ApiToken>, private readonly file?: string, private readonly logger?: Logger) {
    this.fromEnv = envTokens.map((t) => {
      const digest = sha256(t.token);
      return { id: `env:${digest.toString('hex').slice(0, 16)}`, role: t.role, ...(t.unitId ? { unitId: t.unitId } : {}), digest };
    });
    if (file) this.reload();
  }

  all(): readonly Credential[] {
    return [...this.fromEnv, ...this.fromFile];
  }

  /** The credential a bearer header carries; every known digest is compared, in constant time. */
  find(header: string | undefined): Credential | undefined {
    const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header ?? '');
    if (!m?.[1]) return undefined;
    const presented = sha256(m[1]);
    let found: Credential | undefined;
    for (const c of this.all()) if (timingSafeEqual(c.digest, presented)) found = c;
    return found;
  }

  /** Re-reads the token file now (also called by the watcher). */
  reload(): void {
    if (!this.file) return;
    try {
      const data = readTokenFile(this.file);
      this.fromFile = data.tokens
        .filter((t) => t.revokedAt === undefined)
        .map((t) => ({ id: t.id, role: t.role, ...(t.unitId ? { unitId: t.unitId } : {}), person: t.person, digest: Buffer.from(t.sha256, 'hex') }));
      this.logger?.info({ file: this.file, active: this.fromFile.length }, 'token file loaded');
    } catch (err) {
      this.logger?.error({ err, file: this.file }, 'token file refused; the tokens read before stay in force');
    }
  }

  /** Starts following the token file's changes; `close()` stops. */
  watch(): void {
    if (!this.file || this.watching) return;
    this.watching = true;
    fs.watchFile(this.file, { interval: FILE_POLL_MS, persistent: false }, this.onChange);
  }

  close(): void {
    if (this.file && this.watching) fs.unwatchFile(this.file, this.onChange);
    this.watching = false;
  }
}
