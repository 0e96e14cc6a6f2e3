import { describe, expect, it } from 'vitest';
import { clusterCallGate } from '../../src/cluster/call-gate.js';
import type { CallStartResult, HoldLineResult } from '../../src/cluster/trunk.js';
import { TelephonyError } from '../../src/telephony/port.js';

/** A trunk that answers from scripts, recording what was asked in order. */
function scripted(lines: HoldLineResult[], starts: CallStartResult[]) {
  const asked: string[] = [];
  return {
    asked,
    trunk: {
      holdLine: (unit: string, channel: string) => {
        asked.push(`line ${unit} ${channel}`);
        return Promise.resolve(lines.shift() ?? { ok: true as const, inUse: 1 });
      },
      takeCallStart: () => {
        asked.push('start');
        return Promise.resolve(starts.shift() ?? { ok: true as const, at: 0 });
      },
    },
  };
}

describe('the cluster call gate', () => {
  it('takes a line under the node\'s lines lease first, then a call start, waiting while the trunk is full or paced', async () => {
    const { asked, trunk } = scripted(
      [{ ok: false, reason: 'full', inUse: 30 }, { ok: true, inUse: 30 }],
      [{ ok: false, reason: 'paced', retryInMs: 20 }, { ok: true, at: 1 }],
    );
    await clusterCallGate(trunk, 'lines:cell-1:x')('o1-a1');
    expect(asked).toEqual(['line lines:cell-1:x o1-a1', 'line lines:cell-1:x o1-a1', 'start', 'start']);
  });

  it('places no call when the node lost its leases, or when another node holds the channel id', async () => {
    const lost = scripted([{ ok: false, reason: 'lease-lost', detail: 'no lease' }], []);
    await expect(clusterCallGate(lost.trunk, 'lines:a')('o1-a1')).rejects.toMatchObject({ code: 'not_connected' });
    const dup = scripted([{ ok: false, reason: 'duplicate', detail: 'held by cell-2' }], []);
    await expect(clusterCallGate(dup.trunk, 'lines:a')('o1-a1')).rejects.toMatchObject({ code: 'duplicate_channel' });
    const stopped = scripted([], [{ ok: false, reason: 'not-renewing', retryInMs: 2000 }]);
    const err = await clusterCallGate(stopped.trunk, 'lines:a')('o1-a1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TelephonyError);
    expect(stopped.asked).toEqual(['line lines:a o1-a1', 'start']);
  });
});
