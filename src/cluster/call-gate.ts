// The cluster-wide gate PacedTelephony asks before each originate (cluster mode): a trunk line
// (LIANDONG_TRUNK_CHANNELS for all nodes together) and then a call start
// (LIANDONG_TRUNK_CALLS_PER_SECOND for all nodes together, the row-locked bucket of trunk.ts on the
// database clock). A node that lost its leases places no call at all.
import { setTimeout as sleep } from 'node:timers/promises';
import { TelephonyError } from '../telephony/port.js';
import type { ClusterTrunk } from './trunk.js';

/** Longest single wait (ms) between two asks, so a call does not oversleep a freed slot. */
const MAX_WAIT_MS = 250;

/** Ms between two asks for a line while the cluster's trunk is full. */
const LINE_POLL_MS = 100;

/**
 * linesUnit: the lease the node holds its lines under (one per process: when the process dies the
 * lease expires, its lines stop counting, and the node that takes the lease over hangs them up).
 */
export function clusterCallGate(trunk: Pick<ClusterTrunk, 'takeCallStart' | 'holdLine'>, linesUnit: string): (channelId: string) => Promise<void> {
  return async (channelId) => {
    for (;;) {
      const line = await trunk.holdLine(linesUnit, channelId);
      if (line.ok) break;
      if (line.reason !== 'full') throw new TelephonyError(line.reason === 'duplicate' ? 'duplicate_channel' : 'not_connected', `call ${channelId} not placed: ${line.detail}`);
      await sleep(LINE_POLL_MS);
    }
    for (;;) {
      const start = await trunk.takeCallStart();
      if (start.ok) return;
      if (start.reason === 'not-renewing') throw new TelephonyError('not_connected', `call ${channelId} not placed: this node lost its cluster leases`);
      await sleep(Math.min(MAX_WAIT_MS, Math.max(1, start.retryInMs)));
    }
  };
}
