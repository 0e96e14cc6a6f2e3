// The cluster-wide call-start gate PacedTelephony asks before each originate (cluster mode): the
// trunk's LIANDONG_TRUNK_CALLS_PER_SECOND holds for all nodes together, through the row-locked
// bucket of trunk.ts on the database clock. A node that lost its leases places no call at all.
import { setTimeout as sleep } from 'node:timers/promises';
import { TelephonyError } from '../telephony/port.js';
import type { ClusterTrunk } from './trunk.js';

/** Longest single wait (ms) between two asks, so a call does not oversleep a freed slot. */
const MAX_WAIT_MS = 250;

export function clusterCallGate(trunk: Pick<ClusterTrunk, 'takeCallStart'>): (channelId: string) => Promise<void> {
  return async (channelId) => {
    for (;;) {
      const start = await trunk.takeCallStart();
      if (start.ok) return;
      if (start.reason === 'not-renewing') throw new TelephonyError('not_connected', `call ${channelId} not placed: this node lost its cluster leases`);
      await sleep(Math.min(MAX_WAIT_MS, Math.max(1, start.retryInMs)));
    }
  };
}
