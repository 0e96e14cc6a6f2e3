// Nodes of a test cluster: on PostgreSQL each node is a LeaseManager over its own Store (its own
// connection pool), all on one database, as separate processes would be. On SQLite (single node)
// every node shares the one in-memory store.
import { sql } from 'kysely';
import { first } from '../../src/db/sql.js';
import { openStore, type Engine, type Store } from '../../src/db/store.js';
import { dbNowMs } from '../../src/cluster/db-clock.js';
import { LeaseManager, type LeaseManagerOptions } from '../../src/cluster/leases.js';
import { newPostgresDatabase } from '../support/engines.js';

/** Short lease TTL of the tests, ms: renew every 200 ms, stop originating after 300 ms. */
export const TTL_MS = 600;

export type NodeOptions = Partial<Omit<LeaseManagerOptions, 'store' | 'nodeId'>> & { autoRenew?: boolean; restarted?: boolean };

export interface TestCluster {
  readonly engine: Engine;
  /** A started node on a store of its own (SQLite: the shared one). */
  openNode(nodeId: string, options?: NodeOptions): Promise<LeaseManager>;
  /** Any store on the cluster's database, for checking rows. */
  store(): Promise<Store>;
  close(): Promise<void>;
}

export async function testCluster(engine: Engine): Promise<TestCluster> {
  const url = engine === 'postgres' ? await newPostgresDatabase() : undefined;
  const stores: Store[] = [];
  const nodes: LeaseManager[] = [];
  const open = async (): Promise<Store> => {
    if (url === undefined && stores[0] !== undefined) return stores[0];
    const s = url === undefined ? await openStore({ engine: 'sqlite', path: ':memory:' }) : await openStore({ engine: 'postgres', url });
    stores.push(s);
    return s;
  };
  return {
    engine,
    async openNode(nodeId, { autoRenew = true, restarted = false, ...options } = {}) {
      const node = new LeaseManager({
        nodeId,
        ttlMs: TTL_MS,
        ariUrl: `http://${nodeId}:8088/ari`,
        httpAddress: `http://${nodeId}:3000`,
        ...options,
        store: await open(),
        // PostgreSQL: renewals on a pool of their own, as in production (see LeaseManagerOptions).
        renewalStore: engine === 'postgres' ? await open() : undefined,
      });
      nodes.push(node);
      await node.start({ autoRenew, restarted });
      return node;
    },
    store: async () => stores[0] ?? open(),
    async close() {
      for (const n of nodes) await n.stop();
      for (const s of stores) await s.close();
    },
  };
}

/** The database clock, ms since the epoch. */
export async function dbNow(store: Store): Promise<number> {
  const r = await first(store.db, sql<{ now_ms: number }>`SELECT ${dbNowMs(store.engine)} AS now_ms`);
  return Number(r?.now_ms);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
