// Cluster mode: callback surveys across two cells. Twenty orders are completed at once, so twenty
// surveys fall due together on one PostgreSQL; both nodes take due surveys. While survey calls are
// up, the node with the most of them is killed (SIGKILL). Every survey still ends completed with
// the citizen's answers exactly once: no survey was called by two nodes at once, none is lost,
// none has two completed attempts, and no channel id was created twice on either Asterisk.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCellAsterisk, type CellAsterisk } from '../../src/asterisk/cell.js';
import { configFromProcess } from '../../src/config.js';
import { rows } from '../../src/db/sql.js';
import { openStore, type Store } from '../../src/db/store.js';
import { watchChannels, type ChannelWatch } from '../../harness/ari-watch.js';
import { spawnService, TOKENS, waitUntil, type ServiceProcess } from '../../harness/service-process.js';
import { newPostgresDatabase } from '../support/engines.js';

const QUICK = '70111'; // duty phone: answers, presses 1 after 1 s
const CITIZEN = '7051121'; // answers, after 5 s keys 1, 2, 1 one second apart
const SURVEYS = 20;
const LEASE_SECONDS = 6;

let db: Store;
let cell2: CellAsterisk;
const nodes: ServiceProcess[] = [];
const watches: ChannelWatch[] = [];
let killed = '';
let killedAt = 0;

interface SurveyRow { id: string; status: string; attitude: string | null; speed: string | null; quality: string | null }

beforeAll(async () => {
  const url = await newPostgresDatabase();
  db = await openStore({ engine: 'postgres', url });
  cell2 = await startCellAsterisk(2);
  watches.push(await watchChannels(configFromProcess('dev'), `surveys-cell1-${process.pid}`), await watchChannels(cell2.config, `surveys-cell2-${process.pid}`));
  const env = (nodeId: string, extra: Record<string, string> = {}) => ({
    LIANDONG_DATABASE_URL: url, LIANDONG_NODE_ID: nodeId, LIANDONG_LEASE_SECONDS: String(LEASE_SECONDS),
    LIANDONG_SURVEY_DELAY_SECONDS: '0', LIANDONG_SURVEY_WINDOW: '00:00-23:59', LIANDONG_SURVEY_RETRY_SECONDS: '1',
    LIANDONG_SURVEY_RING_SECONDS: '10', LIANDONG_SURVEY_KEY_TIMEOUT_SECONDS: '8', LIANDONG_FOLLOWUP_RULE: 'off', LIANDONG_TRUNK_CHANNELS: '100', ...extra,
  });
  nodes.push(await spawnService('cluster-surveys-a', env('sv-1')));
  const a = nodes[0] as ServiceProcess;
  const list = await a.api<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>('GET', '/api/v1/departments', TOKENS.desk);
  const d = list.body.departments.find((x) => x.id === 'civil-affairs');
  if (!d) throw new Error('no civil-affairs department');
  const policy = { attemptsPerContact: 3, retryDelaySeconds: 1, ringTimeoutSeconds: 10, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 1, keyTimeoutSeconds: 12 };
  expect((await a.api('PUT', '/api/v1/departments/civil-affairs', TOKENS.admin, { name: d.name, categories: d.categories, contacts: [{ id: 'c1', name: 'duty', number: QUICK, priority: 1 }], policy })).status).toBe(200);
  nodes.push(await spawnService('cluster-surveys-b', env('sv-2', cell2.env)));
}, 180_000);

afterAll(async () => {
  for (const w of watches) w.close();
  for (const n of nodes) await n.stop();
  await db?.close();
  await cell2?.down();
});

describe(`${SURVEYS} callback surveys due at once on two cells, one killed mid-call`, () => {
  it('both nodes take due surveys; the node with the most survey calls up is killed', async () => {
    const ids: string[] = [];
    for (let i = 0; i < SURVEYS; i += 1) {
      const svc = nodes[i % 2] as ServiceProcess;
      const res = await svc.api<{ id: string }>('POST', '/api/v1/orders', TOKENS.desk, {
        externalId: `sv-${Date.now()}-${i}`, category: 'lost-child-or-elderly', departmentId: 'civil-affairs', summary: '老人求助', address: '城关镇', reporterPhone: CITIZEN, urgency: 'urgent',
      });
      if (res.status !== 201) throw new Error(`POST order: ${res.status} ${JSON.stringify(res.body)}`);
      ids.push(res.body.id);
    }
    const list = sql.join(ids);
    await waitUntil('all accepted', () => rows(db.db, sql<{ n: number }>`SELECT count(*) AS n FROM orders WHERE id IN (${list}) AND status = 'accepted'`), (r) => r[0]?.n === SURVEYS, 60_000, 200);
    await Promise.all(ids.map((id, i) => (nodes[i % 2] as ServiceProcess).api('POST', `/api/v1/orders/${id}/feedback`, TOKENS.department, { kind: 'completed' })));
    // Survey calls answered and not finished, per owning node.
    const live = await waitUntil(
      'survey calls up on both nodes',
      () => rows(db.db, sql<{ owner: string; n: number }>`
        SELECT l.owner, count(*) AS n FROM survey_attempts a JOIN cluster_leases l ON l.unit_key = 'survey:' || a.survey_id
        WHERE a.answered_at IS NOT NULL AND a.ended_at IS NULL AND l.owner IS NOT NULL GROUP BY l.owner`),
      (r) => r.reduce((s, x) => s + x.n, 0) >= 4,
      60_000,
      50,
    );
    const busiest = [...live].sort((x, y) => y.n - x.n)[0];
    killed = busiest?.owner ?? 'sv-1';
    killedAt = Date.now();
    await (nodes[killed === 'sv-1' ? 0 : 1] as ServiceProcess).kill();
    expect(busiest?.n).toBeGreaterThan(0);
  });

  it('every survey ends completed with the citizen\'s answers, exactly once', async () => {
    const done = await waitUntil(
      'all surveys completed',
      () => rows(db.db, sql<SurveyRow>`SELECT id, status, attitude, speed, quality FROM surveys`),
      (r) => r.length === SURVEYS && r.every((s) => s.status === 'completed'),
      120_000,
      500,
    );
    for (const s of done) expect(s).toMatchObject({ attitude: 'satisfied', speed: 'unsatisfied', quality: 'satisfied' });
    const completedTwice = await rows(db.db, sql<{ survey_id: string }>`SELECT survey_id FROM survey_attempts WHERE result = 'completed' GROUP BY survey_id HAVING count(*) > 1`);
    expect(completedTwice).toEqual([]);
    // The calls the killed node had up were ended interrupted and placed again by the other node.
    const interrupted = await rows(db.db, sql<{ n: number }>`SELECT count(*) AS n FROM survey_attempts WHERE result = 'interrupted'`);
    expect(interrupted[0]?.n).toBeGreaterThan(0);
    process.stdout.write(`[cluster-surveys] killed ${killed}; all ${SURVEYS} surveys completed ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill; ${interrupted[0]?.n} calls interrupted and placed again\n`);
  });

  it('no survey attempt id was created twice on either Asterisk', async () => {
    const attempts = await rows(db.db, sql<{ id: string }>`SELECT id FROM survey_attempts`);
    const counts = attempts.map((a) => watches.reduce((n, w) => n + (w.created.get(a.id) ?? 0), 0));
    expect(counts.filter((n) => n > 1)).toEqual([]);
    expect(counts.filter((n) => n === 1).length).toBeGreaterThanOrEqual(SURVEYS);
  });
});
