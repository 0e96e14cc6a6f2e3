// Two cluster nodes for the service tests (surveys, reminder rounds): each a LeaseManager on a
// store of its own (cluster-fixtures.ts) with a ClusterOwnership that polls for takeovers, and an
// Asterisk of its own whose ARI only records the hang-ups other nodes ask of it. A node is
// "killed" as SIGKILL would: its renewals and polls stop, nothing is cleaned up.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ClusterOwnership } from '../../src/cluster/ownership.js';
import type { LeaseManager } from '../../src/cluster/leases.js';
import type { Store } from '../../src/db/store.js';
import { WriteQueue } from '../../src/db/write-queue.js';
import { createLogger } from '../../src/logging.js';
import { sleep, type TestCluster } from './cluster-fixtures.js';

/** Lease TTL of these tests, ms: renewals every 300 ms, takeover polls every 300 ms. */
export const SERVICE_TTL_MS = 900;

export interface FakeAri {
  readonly url: string;
  /** Channels hung up through this ARI (DELETE /ari/channels/{id}), with the time they were asked for. */
  readonly deleted: Array<{ channelId: string; at: number }>;
  close(): Promise<void>;
}

/** A node's Asterisk as another node reaches it at takeover: every DELETE of a channel answers 204. */
export async function fakeAri(): Promise<FakeAri> {
  const deleted: FakeAri['deleted'] = [];
  const server = http.createServer((req, res) => {
    const m = /^\/ari\/channels\/([^/?]+)$/.exec(req.url ?? '');
    if (req.method === 'DELETE' && m?.[1]) {
      deleted.push({ channelId: decodeURIComponent(m[1]), at: performance.now() });
      res.writeHead(204).end();
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    deleted,
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}

export interface TestNode {
  readonly nodeId: string;
  readonly leases: LeaseManager;
  readonly ownership: ClusterOwnership;
  readonly ari: FakeAri;
  /** Channels this node hung up on its own Asterisk through the ownership (its own previous life). */
  readonly localHangups: string[];
  /** SIGKILL: no more renewals or takeover polls; leases, rows and calls are left as they are. */
  kill(): Promise<void>;
}

export async function testNode(cluster: TestCluster, nodeId: string): Promise<TestNode> {
  const ari = await fakeAri();
  const leases = await cluster.openNode(nodeId, { ttlMs: SERVICE_TTL_MS, ariUrl: ari.url });
  const localHangups: string[] = [];
  const ownership = new ClusterOwnership({
    leases,
    logger: createLogger('silent'),
    hangUpLocal: (channelId) => {
      localHangups.push(channelId);
      return Promise.resolve({ status: 'hung_up' });
    },
    ariCredentials: { username: 'liandong', password: 'test' },
  });
  return {
    nodeId, leases, ownership, ari, localHangups,
    async kill() {
      ownership.stop();
      await leases.stop(); // no handOver: the leases run out on the database clock
    },
  };
}

/** A node's write queue for a service test, grouping its posted writes as in production, its failures collected (the test expects none). */
export function nodeWrites(store: Store): { writes: WriteQueue; failures: string[] } {
  const failures: string[] = [];
  return { writes: new WriteQueue((label, reason) => failures.push(`${label}: ${reason}`), { store, windowMs: 20 }), failures };
}

/**
 * The end of a node's teardown, once its service and ownership were stopped (in the order the
 * test needs): held prompts answered, queued writes drained, a poll in flight let end, then the
 * ownership stopped again (that poll re-armed its timer) and the node's ARI closed.
 */
export async function settleNode(r: { node: TestNode; phone: { releaseHeld(): void }; writes: WriteQueue }): Promise<void> {
  r.phone.releaseHeld();
  await r.writes.drain();
  await sleep(20);
  r.node.ownership.stop();
  await r.node.ari.close();
}
