// The store: one query code path (Kysely) over two engines. SQLite through better-sqlite3 is the
// embedded default (one file, WAL so readers never block the writer; a transaction's commit is
// synced to disk before it resolves, off the event loop (wal-sync.ts), so a committed
// acknowledgement survives a power cut; groups of posted events are not synced); PostgreSQL through `pg` is the cluster store.
// Only this module knows which engine runs: repositories write their SQL once with Kysely's `sql`
// tag (placeholders become ? or $n) and read rows of the same shape from both.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type SqliteDatabase, type Transaction } from 'kysely';
import pg from 'pg';
import { walSync, type WalSync } from './wal-sync.js';
import { joinable, runGroup, type GroupStep, type StepOutcome } from './group-commit.js';
import { MIGRATIONS, migrationSql } from './migrations.js';

export type Engine = 'sqlite' | 'postgres';

/** Queries run on the store itself or inside one of its transactions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows are typed per query with sql<Row>
export type Executor = Kysely<any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
export type Tx = Transaction<any>;

export interface StoreHealth {
  readonly ok: boolean;
  readonly detail?: string;
}

export interface Store {
  readonly engine: Engine;
  /** Where the data lives, without a password: a file path or postgres://user@host/db. */
  readonly location: string;
  /** Queries outside a transaction; inside a write of a group (group-commit.ts), that group's transaction. */
  readonly db: Executor;
  /**
   * Runs fn in one transaction: all of it commits or none of it. Nested calls join the outer one.
   * Called by a write of a group, it joins the group's transaction (committed with the group).
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * This store as seen inside tx: its queries and transactions run in tx. A repository method that
   * opens a transaction builds its helpers on `store.within(tx)`, so what they do commits with it.
   */
  within(tx: Tx): Store;
  /**
   * Group commit (the WriteQueue's): runs the steps in order in ONE transaction, each in its own
   * savepoint; a step that throws is rolled back alone and its error returned in its place. Call
   * it on the store itself, never inside one of its transactions.
   */
  group(steps: readonly GroupStep[]): Promise<StepOutcome[]>;
  /** Transactions committed since the store opened (a group counts once): for tests and measurements. */
  commits(): number;
  /** SQLite on a file: fsyncs of its WAL file that made transactions durable (wal-sync.ts); else 0. */
  syncs(): number;
  /** For /healthz: the store answers a query and accepts writes; otherwise why not. */
  health(): Promise<StoreHealth>;
  close(): Promise<void>;
}

/** What LIANDONG_DATABASE_URL (or LIANDONG_DB) names, already validated by src/config.ts. */
export type StoreTarget = { readonly engine: 'sqlite'; readonly path: string } | { readonly engine: 'postgres'; readonly url: string };

/**
 * Parses a database URL: `sqlite:<path>` (or a bare path, or `:memory:`) → SQLite;
 * `postgres://…` or `postgresql://…` (a unix-socket directory as `?host=/dir`) → PostgreSQL.
 * Returns an error message for anything else.
 */
export function parseDatabaseUrl(raw: string): StoreTarget | string {
  const value = raw.trim();
  if (/^postgres(ql)?:\/\//i.test(value)) {
    try {
      const u = new URL(value);
      if (!u.pathname || u.pathname === '/') return `${redactUrl(value)}: name the database after the host, e.g. postgres://user@host/liandong`;
    } catch {
      return `${redactUrl(value)} is not a valid URL`;
    }
    return { engine: 'postgres', url: value };
  }
  const file = value.startsWith('sqlite:') ? value.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '') : value;
  if (file === '') return 'sqlite: needs a file path, e.g. sqlite:./data/liandong.db';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(file)) return `unsupported database URL scheme in "${redactUrl(value)}" (sqlite: or postgres://)`;
  return { engine: 'sqlite', path: file === ':memory:' ? file : path.resolve(file) };
}

/** The URL with its password replaced, for logs and /healthz. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}

/** Told when the store loses a connection it was not using (PostgreSQL: the pool replaces it). */
export type StoreWarning = (detail: string) => void;

export async function openStore(target: StoreTarget, warn: StoreWarning = () => undefined): Promise<Store> {
  const store = target.engine === 'sqlite' ? openSqlite(target.path) : openPostgres(target.url, warn);
  try {
    await migrate(store);
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

function openSqlite(file: string): Store {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const native = new Database(file);
  native.pragma('journal_mode = WAL');
  // NORMAL: a commit is not fsynced on the main thread; transaction() syncs the WAL file in the
  // thread pool before it resolves, which gives FULL's durability (wal-sync.ts).
  native.pragma('synchronous = NORMAL');
  native.pragma('foreign_keys = ON');
  native.pragma('busy_timeout = 5000'); // ms: the CLI may read while the service writes
  const db: Executor = new Kysely({ dialect: new SqliteDialect({ database: withStatementCache(native) }) });
  const durable = file === ':memory:' ? undefined : walSync(file);
  return baseStore('sqlite', file, db, async () => {
    if (native.readonly) return { ok: false, detail: 'database opened read-only' };
    return probe(db);
  }, durable);
}

/**
 * The store over its own Kysely instance `db`. Inside a write of a group its `db` and
 * `transaction` are the group's transaction: on SQLite the group holds the one connection, so a
 * query on `db` itself would wait for the group that waits for it.
 */
function baseStore(engine: Engine, location: string, db: Executor, health: () => Promise<StoreHealth>, durable?: WalSync): Store {
  let commits = 0;
  const store: Store = {
    engine,
    location,
    get db() {
      return joinable(db) ?? db;
    },
    transaction: async (fn) => {
      const inGroup = joinable(db);
      if (inGroup !== undefined) return fn(inGroup);
      const result = await db.transaction().execute(fn);
      commits += 1;
      await durable?.sync();
      return result;
    },
    within: (tx) => joined(store, tx),
    group: async (steps) => {
      // A group holds posted events only: on SQLite its commit is not synced (see wal-sync.ts).
      const outcomes = await runGroup(db, steps, engine === 'postgres');
      commits += 1;
      return outcomes;
    },
    commits: () => commits,
    syncs: () => durable?.count() ?? 0,
    health,
    close: () => db.destroy(),
  };
  return store;
}

/** Prepared statements kept at most (the SQL texts are fixed strings; a few are built from filters). */
const STATEMENT_CACHE_MAX = 500;

/**
 * The database as Kysely sees it, reusing the statement prepared earlier for the same SQL text:
 * preparing anew on every query cost ~2.4 % of the service's CPU in the benchmark (node
 * --cpu-prof). Kysely runs one query at a time on this connection, so a statement is never shared
 * by two queries at once.
 */
function withStatementCache(native: Database.Database): SqliteDatabase {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => native.close(),
    prepare: (text: string) => {
      let stmt = cache.get(text);
      if (stmt === undefined) {
        if (cache.size >= STATEMENT_CACHE_MAX) cache.clear();
        stmt = native.prepare(text);
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}

/** The view of a store inside an open transaction (see Store.within). */
function joined(outer: Store, tx: Tx): Store {
  const view: Store = {
    ...outer,
    db: tx,
    transaction: (fn) => fn(tx),
    within: (inner) => (inner === tx ? view : joined(outer, inner)),
  };
  return view;
}

/** PostgreSQL's int8 and numeric come as strings by default; our counts, ms and ids fit a double. */
const PG_NUMBER_TYPES = new Set([20 /* int8 */, 1700 /* numeric */]);

function openPostgres(url: string, warn: StoreWarning): Store {
  const builtIn = pg.types.getTypeParser.bind(pg.types) as (oid: number, format?: 'text' | 'binary') => (value: string) => unknown;
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') => (PG_NUMBER_TYPES.has(oid) ? (v: string) => Number(v) : builtIn(oid, format))) as typeof pg.types.getTypeParser,
  };
  const pool = new pg.Pool({ connectionString: url, types, max: 10, connectionTimeoutMillis: 5000, application_name: 'liandong' });
  // A dropped idle connection is reported here and replaced by the pool on the next query.
  pool.on('error', (err) => warn(`idle PostgreSQL connection lost: ${err.message}`));
  const db: Executor = new Kysely({ dialect: new PostgresDialect({ pool }) });
  return baseStore('postgres', redactUrl(url), db, () => probe(db));
}

async function probe(db: Executor): Promise<StoreHealth> {
  try {
    await sql`SELECT count(*) FROM schema_migrations`.execute(db);
    return { ok: true };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

/** Any number the migrations' advisory lock uses: it only has to be the same for every node. */
const MIGRATION_LOCK = 4_210_110;

/**
 * Applies pending migrations in order, each in its own transaction. On PostgreSQL every node runs
 * this at boot: an advisory lock makes the second node wait and then find nothing to do.
 */
export async function migrate(store: Store): Promise<void> {
  await sql`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`.execute(store.db);
  for (const m of MIGRATIONS) {
    await store.transaction(async (tx) => {
      if (store.engine === 'postgres') await sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`.execute(tx);
      const done = await sql`SELECT 1 FROM schema_migrations WHERE version = ${m.version}`.execute(tx);
      if (done.rows.length > 0) return;
      for (const statement of migrationSql(m, store.engine)) await sql.raw(statement).execute(tx);
      await sql`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${m.version}, ${m.name}, ${new Date().toISOString()})`.execute(tx);
    });
  }
}
