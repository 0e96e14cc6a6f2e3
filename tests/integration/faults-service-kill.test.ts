// kill -9 of the service itself, mid-dispatch and mid-survey. The production service runs as a
// child process on a file database; it is killed while three calls are up in Asterisk:
//   O1  the duty officer has answered and not pressed yet (70911: presses 1 after 9 s);
//   O2  the officer pressed 1, the acceptance is committed, the confirmation is playing (its
//       attempt stays `accepted`, reason `confirmation interrupted`);
//   S   the citizen answered the callback survey and has not answered a question yet.
// On restart the service reloads them from SQLite, hangs up the channels the dead process left
// in Asterisk, ends those attempts `interrupted`, and goes on with new attempt ids: O1 is called
// again and accepted, O2 is not called again, the survey is retried and completed. No channel id
// is ever originated twice, no acknowledgement is lost or doubled, and the logs of the whole run
// hold no phone number or secret in clear.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromProcess, DEV_DEFAULTS } from '../../src/config.js';
import { ari, ARTIFACTS, logLines, spawnService, TOKENS, waitUntil, type ServiceProcess } from '../../harness/service-process.js';

const SLOW = '70911'; // answers, presses 1 after 9 s
const QUICK = '70111'; // answers, presses 1 after 1 s
const CITIZEN = '7051121'; // answers, after 5 s keys 1, 2, 1 one second apart
const REPORTER = '13912345678';
const POLICY = { attemptsPerContact: 3, retryDelaySeconds: 1, ringTimeoutSeconds: 10, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 1, keyTimeoutSeconds: 12 };

let svc: ServiceProcess;
const asterisk = ari(configFromProcess('dev'));
const ids = { o1: '', o2: '', o3: '' };
let leftInAsterisk: string[] = [];
let survey: { id: string; attempt: string } = { id: '', attempt: '' };
let duplicateStatus = 0;
let restartedAt = 0;

/** Read-only view of the service's database (WAL: readers never block the service). */
function query<T>(sql: string, ...args: unknown[]): T[] {
  const db = new Database(svc.dbFile, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...args) as T[];
  } finally {
    db.close();
  }
}

interface AttemptRow { id: string; order_id: string; seq: number; result: string | null; answered_at: string | null; ended_at: string | null; reason: string | null }

async function configure(departmentId: string, number: string): Promise<void> {
  const list = await svc.api<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>('GET', '/api/v1/departments', TOKENS.desk);
  const d = list.body.departments.find((x) => x.id === departmentId);
  if (!d) throw new Error(`no department ${departmentId}`);
  const res = await svc.api('PUT', `/api/v1/departments/${departmentId}`, TOKENS.admin, {
    name: d.name, categories: d.categories, contacts: [{ id: 'c1', name: 'duty', number, priority: 1 }], policy: POLICY,
  });
  if (res.status !== 200) throw new Error(`PUT department ${departmentId}: ${res.status} ${JSON.stringify(res.body)}`);
}

async function order(externalId: string, departmentId: string, reporterPhone = REPORTER): Promise<string> {
  const res = await svc.api<{ id: string }>('POST', '/api/v1/orders', TOKENS.desk, {
    externalId, category: 'water-main-burst', departmentId, summary: '水管爆裂', address: '城关镇', reporterPhone, urgency: 'urgent',
  });
  if (res.status !== 201) throw new Error(`POST order: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id;
}

beforeAll(async () => {
  svc = await spawnService('faults-service-kill', {
    LIANDONG_SURVEY_DELAY_SECONDS: '0',
    LIANDONG_SURVEY_WINDOW: '00:00-23:59',
    LIANDONG_SURVEY_RETRY_SECONDS: '1',
    LIANDONG_SURVEY_RING_SECONDS: '10',
    LIANDONG_SURVEY_KEY_TIMEOUT_SECONDS: '8',
    LIANDONG_FOLLOWUP_RULE: 'off',
  });
  const directory = { commandCentre: { id: 'command-centre', name: { 'zh-CN': '指挥中心', en: 'Command centre' }, number: QUICK }, leaders: [] };
  expect((await svc.api('PUT', '/api/v1/directory', TOKENS.admin, directory)).status).toBe(200);
  await configure('tourism', SLOW);
  await configure('education', QUICK);
  await configure('civil-affairs', QUICK);

  // O3 is accepted and completed first: its callback survey goes to the citizen.
  ids.o3 = await order('kill-o3', 'civil-affairs', CITIZEN);
  await waitUntil('O3 accepted', () => query<{ status: string }>('SELECT status FROM orders WHERE id = ?', ids.o3)[0]?.status, (s) => s === 'accepted', 30_000);
  expect((await svc.api('POST', `/api/v1/orders/${ids.o3}/feedback`, TOKENS.department, { kind: 'completed' })).status).toBe(201);
  ids.o1 = await order('kill-o1', 'tourism');
  ids.o2 = await order('kill-o2', 'education');

  // Kill when O1 is answered (no key yet), O2's acceptance is committed (confirmation playing),
  // and the survey call is answered (no answer yet).
  await waitUntil(
    'the three calls in the right phase',
    () => ({
      o1: query<AttemptRow>('SELECT * FROM attempts WHERE order_id = ?', ids.o1),
      o2: query<AttemptRow>('SELECT * FROM attempts WHERE order_id = ?', ids.o2),
      o2acks: query('SELECT 1 FROM acknowledgements WHERE order_id = ?', ids.o2).length,
      s: query<{ id: string; survey_id: string; answered_at: string | null; ended_at: string | null }>(
        'SELECT a.* FROM survey_attempts a JOIN surveys s ON s.id = a.survey_id WHERE s.order_id = ?', ids.o3),
    }),
    (v) => v.o1[0]?.answered_at != null && v.o2acks === 1 && v.o2[0]?.ended_at == null && v.s[0]?.answered_at != null && v.s[0]?.ended_at == null,
    30_000,
    50,
  ).then((v) => {
    survey = { id: v.s[0]?.survey_id as string, attempt: v.s[0]?.id as string };
  });
  await svc.kill();
  leftInAsterisk = await asterisk.channelIds();
  // The dead service's channels are still up; a second originate with one of their ids is refused.
  duplicateStatus = (await asterisk.call('POST', `/channels/${ids.o1}-a1?endpoint=${encodeURIComponent(`Local/${QUICK}@sim-phones`)}&app=${svc.env.ARI_APP}`)).status;
  restartedAt = Date.now();
  await svc.restart();
}, 120_000);

afterAll(async () => {
  await svc?.stop();
  svc?.removeDatabase();
});

describe('kill -9 of the service mid-dispatch and mid-survey', () => {
  it('left the live calls up in Asterisk, where a repeated channel id is refused', () => {
    expect(leftInAsterisk).toEqual(expect.arrayContaining([`${ids.o1}-a1`, `${ids.o2}-a1`, survey.attempt]));
    expect(duplicateStatus).toBe(409);
  });

  it('reconciles: the channels the dead process left are hung up within seconds of the restart', async () => {
    const left = [`${ids.o1}-a1`, `${ids.o2}-a1`, survey.attempt];
    await waitUntil('leftover channels hung up', () => asterisk.channelIds(), (present) => left.every((id) => !present.includes(id)), 10_000);
    const ms = Date.now() - restartedAt;
    fs.writeFileSync(path.join(ARTIFACTS, 'faults-service-kill.timings.json'), `${JSON.stringify({ restartToLeftoversHungUpMs: ms }, null, 2)}\n`);
    expect(ms).toBeLessThan(30_000);
  });

  it('O1 (answered, no key yet): interrupted, called again with a new id, accepted once', async () => {
    await waitUntil('O1 accepted', () => query<{ status: string }>('SELECT status FROM orders WHERE id = ?', ids.o1)[0]?.status, (s) => s === 'accepted', 60_000);
    // The acceptance is committed before the confirmation; the attempt ends after it.
    await waitUntil('O1 calls ended', () => query<AttemptRow>('SELECT * FROM attempts WHERE order_id = ?', ids.o1), (a) => a.every((x) => x.ended_at !== null), 30_000);
    const attempts = query<AttemptRow>('SELECT * FROM attempts WHERE order_id = ? ORDER BY seq', ids.o1);
    expect(attempts.map((a) => [a.id, a.result])).toEqual([
      [`${ids.o1}-a1`, 'interrupted'],
      [`${ids.o1}-a2`, 'accepted'],
    ]);
    const acks = query<{ attempt_id: string }>('SELECT attempt_id FROM acknowledgements WHERE order_id = ?', ids.o1);
    expect(acks.map((a) => a.attempt_id)).toEqual([`${ids.o1}-a2`]);
    const events = query<{ kind: string; detail: string }>('SELECT kind, detail FROM order_events WHERE order_id = ? ORDER BY id', ids.o1);
    expect(events.find((e) => e.kind === 'attempt_interrupted')?.detail).toContain('"channelStillUp":true');
    expect(events.map((e) => e.kind)).toContain('dispatch_resumed');
  });

  it('O2 (accepted before the kill): the acknowledgement is kept, the attempt stays accepted (confirmation interrupted), nobody called again', async () => {
    await waitUntil('O2 attempt ended', () => query<AttemptRow>('SELECT * FROM attempts WHERE order_id = ?', ids.o2), (a) => a.every((x) => x.ended_at !== null), 30_000);
    const attempts = query<AttemptRow>('SELECT * FROM attempts WHERE order_id = ? ORDER BY seq', ids.o2);
    expect(attempts.map((a) => [a.id, a.result, a.reason])).toEqual([[`${ids.o2}-a1`, 'accepted', 'confirmation interrupted']]);
    expect(query<{ kind: string }>('SELECT kind FROM order_events WHERE order_id = ?', ids.o2).map((e) => e.kind)).toContain('confirmation_interrupted');
    expect(query<{ attempt_id: string }>('SELECT attempt_id FROM acknowledgements WHERE order_id = ?', ids.o2).map((a) => a.attempt_id)).toEqual([`${ids.o2}-a1`]);
    expect(query<{ status: string }>('SELECT status FROM orders WHERE id = ?', ids.o2)[0]?.status).toBe('accepted');
  });

  it('the survey: interrupted, retried with a new id, completed with the answers', async () => {
    const done = await waitUntil(
      'survey completed',
      () => query<{ status: string; attitude: string; speed: string; quality: string; attempts: number }>('SELECT * FROM surveys WHERE id = ?', survey.id)[0],
      (s) => s?.status === 'completed',
      60_000,
    );
    expect(done).toMatchObject({ attitude: 'satisfied', speed: 'unsatisfied', quality: 'satisfied' });
    const attempts = query<{ id: string; result: string }>('SELECT id, result FROM survey_attempts WHERE survey_id = ? ORDER BY seq', survey.id);
    expect(attempts.map((a) => a.result)).toEqual(['interrupted', 'completed']);
    expect(attempts[0]?.id).toBe(survey.attempt);
    expect(attempts[1]?.id).not.toBe(survey.attempt);
  });

  it('never originated one channel id twice, across both processes', async () => {
    await waitUntil('all calls ended', () => asterisk.channelIds(), (present) => !present.some((id) => [ids.o1, ids.o2, ids.o3].some((o) => id.startsWith(o)) || id.startsWith(survey.id)), 40_000, 250);
    const originates = logLines(svc.logFile).filter((l) => l.msg === 'originate').map((l) => l.channelId as string);
    expect(originates.length).toBeGreaterThanOrEqual(6);
    expect(new Set(originates).size).toBe(originates.length);
    const attemptIds = [
      ...query<{ id: string }>('SELECT id FROM attempts').map((a) => a.id),
      ...query<{ id: string }>('SELECT id FROM survey_attempts').map((a) => a.id),
    ];
    expect([...originates].sort()).toEqual([...attemptIds].sort());
  });

  it('every attempt of the run has a final result', () => {
    expect(query<{ id: string }>('SELECT id FROM attempts WHERE ended_at IS NULL OR result IS NULL')).toEqual([]);
    expect(query<{ id: string }>('SELECT id FROM survey_attempts WHERE ended_at IS NULL OR result IS NULL')).toEqual([]);
  });

  it('the logs of the whole run hold no phone number, token or password in clear', () => {
    const text = fs.readFileSync(svc.logFile, 'utf8');
    expect(text.length).toBeGreaterThan(10_000);
    const secrets = [DEV_DEFAULTS.ARI_PASSWORD, DEV_DEFAULTS.AMI_SECRET, ...(DEV_DEFAULTS.LIANDONG_API_TOKENS ?? '').split(',').map((t) => t.split(':')[1])];
    for (const secret of secrets) expect(text, 'a secret').not.toContain(secret as string);
    for (const number of [SLOW, QUICK, CITIZEN, REPORTER]) {
      expect(text, number).not.toMatch(new RegExp(`(?<![0-9])${number}(?![0-9])`));
    }
  });
});
