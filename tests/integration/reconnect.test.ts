// Supervision: the port notices Asterisk going away, reconnects when it is back (never gives
// up), reports it in /healthz, and places calls again. Also AMI admin actions for real.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asteriskDown, asteriskUp } from '../../src/asterisk/index.js';
import type { Services } from '../../src/composition.js';
import type { TelephonyHealth } from '../../src/telephony/port.js';
import { channelId, EventLog, startServices } from './support.js';

let s: Services;
beforeAll(async () => {
  s = await startServices('reconnect');
});
afterAll(async () => {
  await s?.close();
});

describe('AMI', () => {
  it('answers Ping and runs a CLI command', async () => {
    expect(await s.ami.ping()).toBe(true);
    expect(await s.ami.command('core show version')).toMatch(/Asterisk 22\./);
  });
});

describe('ARI supervision across asterisk down / up', () => {
  it('reports healthy, then degraded while Asterisk is down, then reconnects and calls again', async () => {
    const healthy = await s.app.inject({ method: 'GET', url: '/healthz' });
    expect(healthy.statusCode).toBe(200);
    expect(healthy.json()).toMatchObject({ status: 'ok', database: { ok: true }, ari: { ok: true }, ami: { ok: true } });

    const changes: TelephonyHealth[] = [];
    s.telephony.onHealthChange((h) => changes.push(h));
    // A live call when Asterisk goes away must end, as "lost" or a hangup, never hang forever.
    const live = new EventLog();
    const liveId = channelId();
    await s.telephony.originate({ channelId: liveId, number: '710', ringTimeoutSeconds: 5 }, live.listener);
    await live.next('answered');

    const quiet = () => undefined;
    await asteriskDown(s.config, quiet);
    const ended = await live.next('hangup', 15_000);
    expect(['lost', 'normal', 'unknown']).toContain(ended.cause.kind);
    await expect.poll(() => s.telephony.health().connected, { timeout: 5_000 }).toBe(false);
    const degraded = await s.app.inject({ method: 'GET', url: '/healthz' });
    expect(degraded.statusCode).toBe(503);
    expect(degraded.json()).toMatchObject({ status: 'degraded', ari: { ok: false } });

    await asteriskUp(s.config, quiet);
    await s.telephony.waitConnected(30_000);
    // Down first (possibly several times, as the reason changes), then up once.
    expect(changes[0]?.connected).toBe(false);
    expect(changes.filter((c) => c.connected)).toHaveLength(1);
    expect(changes.at(-1)?.connected).toBe(true);

    const after = new EventLog();
    const id = channelId();
    await s.telephony.originate({ channelId: id, number: '70111', ringTimeoutSeconds: 10 }, after.listener);
    await after.next('answered');
    expect(await s.telephony.collect(id, { maxDigits: 1, firstDigitTimeoutMs: 5000, interDigitTimeoutMs: 1000 })).toEqual({ status: 'complete', digits: '1' });
    await s.telephony.hangup(id);
    await after.next('hangup');
    const back = await s.app.inject({ method: 'GET', url: '/healthz' });
    expect(back.statusCode).toBe(200);
  });
});
