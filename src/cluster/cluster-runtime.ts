// The cluster pieces of one controller process, built by the composition root when the store is
// PostgreSQL: this node's leases (renewed on a pool of their own, so a busy node's queries never
// delay its renewal), the ownership the services ask before they call, the cluster-wide
// call-start gate, and what /healthz says about this node. On SQLite a node is alone: none of this.
import type { Config } from '../config.js';
import { openStore, type Store } from '../db/store.js';
import type { ClusterHealth } from '../http/health.routes.js';
import type { Logger } from '../logging.js';
import { TelephonyError, type TelephonyPort } from '../telephony/port.js';
import type { RemoteHangup } from '../telephony/ari/remote-hangup.js';
import { clusterCallGate } from './call-gate.js';
import { LeaseManager } from './leases.js';
import { ClusterOwnership } from './ownership.js';
import { ClusterTrunk } from './trunk.js';

export interface ClusterRuntime {
  readonly leases: LeaseManager;
  readonly ownership: ClusterOwnership;
  /** PacedTelephony.clusterGate: a line and a call start granted cluster-wide. */
  readonly gate: (channelId: string) => Promise<void>;
  /** PacedTelephony.clusterRelease: the call's line back to the cluster. */
  readonly releaseLine: (channelId: string) => void;
  /** Registers the node; the leases a previous process of this node id left expire now. */
  start(): Promise<void>;
  /** Starts taking over expired work (call once Asterisk answers: the takeover places calls). */
  beginTakeovers(): void;
  health(): Promise<ClusterHealth>;
  /** Graceful: this node's leases expire now, so another node takes its work at once. */
  close(): Promise<void>;
}

export async function openClusterRuntime(config: Config, store: Store, telephony: TelephonyPort, logger: Logger): Promise<ClusterRuntime> {
  const renewalStore = await openStore(config.database, (detail) => logger.warn({ pool: 'lease renewal' }, detail));
  const leases = new LeaseManager({
    store,
    renewalStore,
    nodeId: config.cluster.nodeId,
    ttlMs: config.cluster.leaseSeconds * 1000,
    ariUrl: config.ari.url,
    httpAddress: `http://${config.http.host}:${config.http.port}`,
  });
  const hangUpLocal = async (channelId: string): Promise<RemoteHangup> => {
    try {
      await telephony.hangup(channelId);
      return { status: 'hung_up' };
    } catch (err) {
      if (err instanceof TelephonyError && err.code === 'no_such_channel') return { status: 'gone' };
      return { status: 'unreachable', reason: err instanceof Error ? err.message : String(err) };
    }
  };
  // Placement: a node runs at most twice as many units as the trunk has channels (a short queue
  // waits for lines where it was received; +1: its own lines lease). A new order beyond that is
  // offered to the cluster and taken by a node with room.
  const ownership = new ClusterOwnership({ leases, logger, hangUpLocal, ariCredentials: config.ari, capacity: 2 * config.pacing.maxChannels + 1 });
  const trunk = new ClusterTrunk(leases, { callsPerSecond: config.pacing.callsPerSecond, channels: config.pacing.maxChannels });
  // This process's lines are held under a lease of its own: a later process of the same node id
  // does not inherit them; whoever takes this one over after a crash hangs its calls up.
  let linesId = '';
  // A node that lost its leases (a database outage) and renews again claims a fresh lines lease.
  const linesUnit = async (): Promise<string> => {
    if (linesId && leases.lease(`lines:${linesId}`)) return `lines:${linesId}`;
    linesId = `${config.cluster.nodeId}:${Date.now().toString(36)}`;
    if (!(await ownership.claim('lines', linesId))) throw new TelephonyError('not_connected', `this node could not claim its trunk lines lease lines:${linesId}`);
    return `lines:${linesId}`;
  };
  const log = logger.child({ component: 'cluster', nodeId: config.cluster.nodeId });
  let taking = false;
  return {
    leases,
    ownership,
    gate: async (channelId) => clusterCallGate(trunk, await linesUnit())(channelId),
    releaseLine: (channelId) => {
      trunk.releaseLine(channelId).catch((err: unknown) => log.error({ channelId, reason: err instanceof Error ? err.message : String(err) }, 'freeing a cluster trunk line failed; it is freed when this node\'s lines lease ends'));
    },
    start: async () => {
      await leases.start({ restarted: true });
      // Lines left by a process that died. Its units' leases may expire up to a renewal period later
      // than this one (claimed after its last renewal): each unit's takeover hangs up its own calls and
      // records them. What no unit took care of is hung up one lease time later.
      ownership.handle('lines', async (id, takeover) => {
        await ownership.release('lines', id);
        if (takeover.channels.length === 0) return;
        const sweep = setTimeout(() => {
          void (async () => {
            for (const channelId of takeover.channels) {
              const result = await ownership.hangUpLeft(channelId, takeover);
              if (result.status === 'hung_up') log.warn({ channelId, from: takeover.previousOwner }, 'hung up a call a dead process left that no unit took over');
            }
          })();
        }, leases.ttlMs);
        sweep.unref();
      });
      await linesUnit();
    },
    beginTakeovers: () => {
      if (taking) return;
      taking = true;
      ownership.start();
    },
    health: async () => {
      const status = leases.status();
      const nodes = await leases.nodes().then(
        (all) => all.filter((n) => n.alive).map((n) => n.nodeId),
        () => [] as string[],
      );
      const ok = status.canOriginate;
      return {
        ok,
        ...(ok ? {} : { detail: status.lastError ?? `no lease renewal confirmed for ${Math.round(status.msSinceConfirmedRenewal)} ms` }),
        nodeId: leases.nodeId,
        leases: ok ? 'holding' : 'lost',
        owned: status.held,
        liveNodes: nodes,
      };
    },
    close: async () => {
      ownership.stop();
      await leases.stop({ handOver: true });
      await renewalStore.close();
    },
  };
}
