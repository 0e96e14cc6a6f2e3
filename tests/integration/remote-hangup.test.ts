// Hanging up through another Asterisk's ARI (takeover): hung up, gone, or that Asterisk is down.
import { describe, expect, it } from 'vitest';
import { configFromProcess } from '../../src/config.js';
import { hangupThrough } from '../../src/telephony/ari/remote-hangup.js';
import { ari, waitUntil } from '../../harness/service-process.js';

const config = configFromProcess('dev');
const asterisk = ari(config);

describe('hanging up a channel through an Asterisk we hold no connection to', () => {
  it('hangs up a live channel, reports one already gone, and one behind a dead address as unreachable', async () => {
    const id = `remote-hangup-${process.pid}`;
    // Two simulated phones talking (sim-phones 70911 answers and waits 9 s before its key).
    const created = await asterisk.call('POST', `/channels?endpoint=${encodeURIComponent('Local/70911@sim-phones')}&context=sim-phones&extension=70911&priority=1&channelId=${id}`);
    expect(created.status).toBe(200);
    await waitUntil('channel present', () => asterisk.channelIds(), (ids) => ids.includes(id), 5000);
    expect(await hangupThrough(config.ari.url, config.ari, id)).toEqual({ status: 'hung_up' });
    await waitUntil('channel gone', () => asterisk.channelIds(), (ids) => !ids.includes(id), 5000);
    expect(await hangupThrough(config.ari.url, config.ari, id)).toEqual({ status: 'gone' });
    const dead = await hangupThrough('http://127.0.0.254:1', config.ari, id, 500);
    expect(dead.status).toBe('unreachable');
  });
});
