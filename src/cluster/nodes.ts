// The nodes table: who is in the cluster, where its Asterisk (ARI) and HTTP API answer, and until
// when it is alive (heartbeat + lease TTL on the database clock). Rows of dead nodes stay: a node
// taking over a dead node's units reads its ARI URL here to hang up the channels it left.
import { sql } from 'kysely';
import { first, rows, run } from '../db/sql.js';
import type { Executor, Store } from '../db/store.js';
import { dbNowMs } from './db-clock.js';

export interface NodeInfo {
  readonly nodeId: string;
  /** Its Asterisk's ARI base URL, e.g. http://10.0.0.5:8088/ari (null: not told). */
  readonly ariUrl: string | null;
  /** Its HTTP API, e.g. http://10.0.0.5:3000 (null: not told). */
  readonly httpAddress: string | null;
}

export interface NodeRow extends NodeInfo {
  /** ms since the epoch, database clock. */
  readonly startedAt: number;
  readonly heartbeatAt: number;
  readonly expiresAt: number;
  /** Its heartbeat has not expired on the database clock. */
  readonly alive: boolean;
  /** Leases it holds that have not expired. */
  readonly liveLeases: number;
}

interface NodeDbRow {
  node_id: string;
  ari_url: string | null;
  http_address: string | null;
  started_at: number;
  heartbeat_at: number;
  expires_at: number;
  alive: number;
  live_leases: number;
}

function toNode(r: NodeDbRow): NodeRow {
  return {
    nodeId: r.node_id,
    ariUrl: r.ari_url,
    httpAddress: r.http_address,
    startedAt: r.started_at,
    heartbeatAt: r.heartbeat_at,
    expiresAt: r.expires_at,
    alive: Number(r.alive) === 1,
    liveLeases: r.live_leases,
  };
}

/** Registers (or re-registers after a restart) a node, alive for ttlMs from the database's now. */
export async function registerNode(store: Store, node: NodeInfo, ttlMs: number): Promise<void> {
  const now = dbNowMs(store.engine);
  await store.transaction(async (tx) => {
    await run(tx, sql`
      INSERT INTO cluster_nodes (node_id, ari_url, http_address, started_at, heartbeat_at, expires_at)
      VALUES (${node.nodeId}, ${node.ariUrl}, ${node.httpAddress}, ${now}, ${now}, ${now} + ${ttlMs})
      ON CONFLICT (node_id) DO UPDATE SET ari_url = excluded.ari_url, http_address = excluded.http_address,
        started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at`);
  });
}

/** Extends the node's heartbeat (inside the renewal's transaction). Returns false if the row is gone. */
export async function heartbeat(db: Executor, store: Store, nodeId: string, ttlMs: number): Promise<boolean> {
  const now = dbNowMs(store.engine);
  return (await run(db, sql`UPDATE cluster_nodes SET heartbeat_at = ${now}, expires_at = ${now} + ${ttlMs} WHERE node_id = ${nodeId}`)) > 0;
}

const NODE_COLUMNS = (store: Store) => sql`
  n.node_id, n.ari_url, n.http_address, n.started_at, n.heartbeat_at, n.expires_at,
  CASE WHEN n.expires_at > ${dbNowMs(store.engine)} THEN 1 ELSE 0 END AS alive,
  (SELECT count(*) FROM cluster_leases l WHERE l.owner = n.node_id AND l.expires_at > ${dbNowMs(store.engine)}) AS live_leases`;

/** Every node ever registered, alive ones first, then by fewest live leases (the placement order). */
export async function listNodes(store: Store, db: Executor = store.db): Promise<NodeRow[]> {
  const found = await rows(db, sql<NodeDbRow>`SELECT ${NODE_COLUMNS(store)} FROM cluster_nodes n`);
  return found.map(toNode).sort((a, b) => Number(b.alive) - Number(a.alive) || a.liveLeases - b.liveLeases || a.nodeId.localeCompare(b.nodeId));
}

export async function getNode(store: Store, nodeId: string, db: Executor = store.db): Promise<NodeRow | undefined> {
  const r = await first(db, sql<NodeDbRow>`SELECT ${NODE_COLUMNS(store)} FROM cluster_nodes n WHERE n.node_id = ${nodeId}`);
  return r === undefined ? undefined : toNode(r);
}

/** Leases a node holds that have not expired on the database clock: its load, for placement. */
export async function liveLeaseCount(store: Store, nodeId: string, db: Executor = store.db): Promise<number> {
  const r = await first(db, sql<{ n: number }>`
    SELECT count(*) AS n FROM cluster_leases WHERE owner = ${nodeId} AND expires_at > ${dbNowMs(store.engine)}`);
  return Number(r?.n ?? 0);
}
