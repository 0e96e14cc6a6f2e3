// A PostgreSQL server of our own for tests and `npm run demo:cluster`: Debian's PostgreSQL 15
// binaries, a data directory we choose, a unix socket in that directory (no TCP port to clash
// with). initdb refuses root, so when we are root the server runs as the `postgres` user.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface LocalPostgres {
  /** The directory holding the data and the socket. */
  readonly dir: string;
  /** A URL for database `name` on this server (created by createDatabase). */
  url(name: string): string;
  /** Creates database `name` as a copy of `template` (template0: empty). */
  createDatabase(name: string, template?: string): Promise<void>;
  stop(): Promise<void>;
}

/** Debian installs the server binaries off PATH, under /usr/lib/postgresql/<major>/bin. */
export function postgresBin(tool: string): string {
  const base = '/usr/lib/postgresql';
  const majors = fs.existsSync(base) ? fs.readdirSync(base).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const major of majors) {
    const candidate = path.join(base, major, 'bin', tool);
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`PostgreSQL's ${tool} not found under ${base}: install postgresql (scripts/setup.sh does)`);
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a server tool as the postgres user when we are root (initdb and postgres refuse root). */
async function tool(name: string, args: string[]): Promise<string> {
  const bin = postgresBin(name);
  const { stdout } = asRoot ? await run('runuser', ['-u', 'postgres', '--', bin, ...args]) : await run(bin, args);
  return stdout;
}

/**
 * Creates (if empty) and starts a server in `dir`. Durability is relaxed (fsync off): this server
 * holds test and demo data only, never a county's records.
 */
export async function startLocalPostgres(dir: string): Promise<LocalPostgres> {
  fs.mkdirSync(dir, { recursive: true });
  if (asRoot) await run('chown', ['postgres:postgres', dir]);
  fs.chmodSync(dir, 0o700);
  const data = path.join(dir, 'data');
  if (!fs.existsSync(path.join(data, 'PG_VERSION'))) {
    await tool('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  }
  const options = `-k ${dir} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
  await tool('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-o', options, '-w', '-t', '30', 'start']);
  const url = (name: string) => `postgres://postgres@localhost/${name}?host=${encodeURIComponent(dir)}`;
  return {
    dir,
    url,
    createDatabase: (name, template = 'template0') => createDatabase(url('postgres'), name, template),
    stop: async () => {
      await tool('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    },
  };
}

const PLAIN_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** CREATE DATABASE through a short-lived connection to the server's `postgres` database. */
export async function createDatabase(serverUrl: string, name: string, template = 'template0'): Promise<void> {
  if (!PLAIN_NAME.test(name) || !PLAIN_NAME.test(template)) throw new Error(`not a plain database name: ${name} / ${template}`);
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  } finally {
    await client.end();
  }
}
