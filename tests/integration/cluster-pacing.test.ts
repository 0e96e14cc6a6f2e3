// Cluster pacing: LIANDONG_TRUNK_CALLS_PER_SECOND holds for all nodes together. Two cells on one
// PostgreSQL each get a burst of twice the limit at once; the call starts, seen as ChannelCreated
// on both Asterisks, are never more than the limit in any second between them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCellAsterisk, type CellAsterisk } from '../../src/asterisk/cell.js';
import { configFromProcess } from '../../src/config.js';
import { watchChannels, type ChannelWatch } from '../../harness/ari-watch.js';
import { spawnService, TOKENS, waitUntil, type ServiceProcess } from '../../harness/service-process.js';
import { newPostgresDatabase } from '../support/engines.js';

const LIMIT = 4; // call starts per second, for the whole cluster
const PHONE = '721'; // answers, hangs up after 1 s
/**
 * Ms of slack per window: a start is granted on the database clock and reaches Asterisk a few ms
 * later, and that delay varies from call to call (the grant is what the limit binds).
 */
const DELIVERY_SLACK_MS = 60;

let cell2: CellAsterisk;
let a: ServiceProcess;
let b: ServiceProcess;
const watches: ChannelWatch[] = [];

beforeAll(async () => {
  const url = await newPostgresDatabase();
  cell2 = await startCellAsterisk(2);
  watches.push(await watchChannels(configFromProcess('dev'), `pace-cell1-${process.pid}`), await watchChannels(cell2.config, `pace-cell2-${process.pid}`));
  const env = (nodeId: string, extra: Record<string, string> = {}) => ({
    LIANDONG_DATABASE_URL: url, LIANDONG_NODE_ID: nodeId, LIANDONG_TRUNK_CALLS_PER_SECOND: String(LIMIT), LIANDONG_TRUNK_CHANNELS: '100', LIANDONG_SURVEY_DELAY_SECONDS: '3600', ...extra,
  });
  a = await spawnService('cluster-pace-a', env('pace-1'));
  const list = await a.api<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>('GET', '/api/v1/departments', TOKENS.desk);
  const d = list.body.departments.find((x) => x.id === 'tourism');
  if (!d) throw new Error('no tourism department');
  const policy = { attemptsPerContact: 1, retryDelaySeconds: 1, ringTimeoutSeconds: 10, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 0, keyTimeoutSeconds: 3 };
  expect((await a.api('PUT', '/api/v1/departments/tourism', TOKENS.admin, { name: d.name, categories: d.categories, contacts: [{ id: 'duty', name: '值班室', number: PHONE, priority: 1 }], policy })).status).toBe(200);
  b = await spawnService('cluster-pace-b', env('pace-2', cell2.env));
}, 180_000);

afterAll(async () => {
  for (const w of watches) w.close();
  await a?.stop();
  await b?.stop();
  await cell2?.down();
});

describe('two cells bursting at twice the trunk limit each', () => {
  it('never start more than the limit of calls in any second, summed over both Asterisks', async () => {
    const burst = (svc: ServiceProcess, tag: string) =>
      Promise.all(Array.from({ length: 2 * LIMIT }, (_, i) => svc.api<{ id: string }>('POST', '/api/v1/orders', TOKENS.desk, {
        externalId: `${tag}-${i}`, category: 'water-main-burst', departmentId: 'tourism', summary: '水管爆裂', address: '城关镇', reporterPhone: '13800138000', urgency: 'urgent',
      })));
    const posted = (await Promise.all([burst(a, `pace-a-${Date.now()}`), burst(b, `pace-b-${Date.now()}`)])).flat();
    expect(posted.every((r) => r.status === 201)).toBe(true);
    const ids = posted.map((r) => r.body.id);
    const starts = () => watches.flatMap((w) => w.createdAt).filter((e) => ids.some((id) => e.id === `${id}-a1`)).map((e) => e.at).sort((x, y) => x - y);
    await waitUntil('every order called once', async () => Promise.resolve(starts()), (s) => s.length === ids.length, 30_000, 100);
    const t = starts();
    // Both cells placed calls: the limit was shared, not met by one node alone.
    const perCell = watches.map((w) => w.createdAt.filter((e) => ids.some((id) => e.id === `${id}-a1`)).length);
    expect(perCell.every((n) => n > 0)).toBe(true);
    // LIMIT + 1 consecutive starts always span at least a second (less the delivery slack).
    const spans = t.slice(LIMIT).map((at, i) => at - (t[i] as number));
    expect(Math.min(...spans)).toBeGreaterThanOrEqual(1000 - DELIVERY_SLACK_MS);
    // And the limit is not met by starving the trunk: at least half the rate is reached (16 starts
    // at 4/s take ~3.75 s; a grant that comes late is not caught up, by design, so under a loaded
    // test machine the two nodes' waits add up: 6.3 s was seen in a full suite run).
    expect((t.at(-1) as number) - (t[0] as number)).toBeLessThan((ids.length / (LIMIT / 2)) * 1000);
  });
});
