// The survey repository on both engines: scheduled once, due surveys taken exactly once (also by
// two takers at once), an attempt started once from the row as read, answers kept as first given,
// case events and their hook in one commit, flags raised once.
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rows } from '../../src/db/sql.js';
import type { Store } from '../../src/db/store.js';
import { SurveyRepository, type SurveyRow } from '../../src/survey/survey-repository.js';
import { ENGINES, openTestStore } from '../support/engines.js';
import { Fixture } from './reports-fixtures.js';

const T0 = Date.parse('2026-11-20T02:00:00.000Z');

describe.each(ENGINES)('survey repository on %s', (engine) => {
  let store: Store;
  let repo: SurveyRepository;
  let now = T0;
  beforeEach(async () => {
    store = await openTestStore(engine);
    now = T0;
    repo = new SurveyRepository(store, () => now);
    await Fixture.over(store).order('o1', 'tourism', '2026-11-20T01:00:00.000Z', 'completed').order('o2', 'tourism', '2026-11-20T01:05:00.000Z', 'completed')
      .order('o3', 'education', '2026-11-20T01:10:00.000Z', 'completed').flush();
  });
  afterEach(async () => {
    await store.close();
  });

  const kinds = async (orderId: string) =>
    (await rows(store.db, sql<{ kind: string }>`SELECT kind FROM order_events WHERE order_id = ${orderId} ORDER BY id`)).map((e) => e.kind);

  it('schedules a survey of a kind once per order; a number that opted out is never scheduled', async () => {
    const first = await repo.schedule('o1', 'callback', '13800138000', T0 + 60_000);
    expect(first).toMatchObject({ created: true, row: { order_id: 'o1', kind: 'callback', status: 'scheduled', attempts: 0, due_at: '2026-11-20T02:01:00.000Z' } });
    const again = await repo.schedule('o1', 'callback', '13800138000', T0 + 120_000);
    expect(again).toEqual({ created: false, row: first.row });
    expect((await repo.schedule('o1', 'follow_up', '13800138000', T0)).created).toBe(true);
    await repo.commitOptOut(first.row.id, `${first.row.id}-c1`);
    expect(await repo.isOptedOut('13800138000')).toBe(true);
    const refused = await repo.schedule('o2', 'callback', '13800138000', T0);
    expect(refused.row).toMatchObject({ status: 'opted_out', finished_at: '2026-11-20T02:00:00.000Z' });
    expect(await kinds('o2')).toEqual(['order_created', 'survey_not_scheduled_opted_out']);
    expect((await repo.forOrder('o1')).map((s) => s.kind)).toEqual(['callback', 'follow_up']);
  });

  it('takes due surveys earliest first, at most the limit, and each only once even when two take at once', async () => {
    const due: SurveyRow[] = [];
    for (const [order, at] of [['o1', T0 - 3000], ['o2', T0 - 1000], ['o3', T0 - 2000]] as const) due.push((await repo.schedule(order, 'callback', `1380013800${order.slice(1)}`, at)).row);
    const later = (await repo.schedule('o1', 'follow_up', '13800138001', T0 + 60_000)).row;
    expect(await repo.nextDueAt()).toBe(T0 - 3000);
    expect((await repo.claimDue(T0, 2)).map((s) => [s.order_id, s.status])).toEqual([['o1', 'calling'], ['o3', 'calling']]);
    expect((await repo.claimDue(T0, 10)).map((s) => s.order_id)).toEqual(['o2']);
    expect(await repo.claimDue(T0, 10)).toEqual([]);
    expect((await repo.calling()).map((s) => s.id).sort()).toEqual(due.map((s) => s.id).sort());

    // Back to scheduled, then two takers race: every due survey goes to exactly one of them.
    for (const s of due) await repo.reschedule(s.id, T0 - 1000);
    const [a, b] = await Promise.all([repo.claimDue(T0, 10), repo.claimDue(T0, 10)]);
    const taken = [...(a ?? []), ...(b ?? [])].map((s) => s.id);
    expect(taken.sort()).toEqual(due.map((s) => s.id).sort());
    expect((await repo.get(later.id))?.status).toBe('scheduled');
  });

  it('starts an attempt only from the row as it was read: a second start (another call) gets nothing', async () => {
    const { row } = await repo.schedule('o1', 'callback', '13800138000', T0 - 1000);
    const [claimed] = await repo.claimDue(T0, 1);
    if (!claimed) throw new Error('nothing claimed');
    const started: string[] = [];
    repo.onAttempt = (e) => started.push(`${e.phase} ${e.attemptId}`);
    // An inbound call that read the survey while it was still scheduled loses to the claim.
    expect(await repo.startAttempt(row, 'inbound', '13800138000')).toBeUndefined();
    expect(await repo.startAttempt(claimed)).toBe(`${row.id}-c1`);
    expect(await repo.startAttempt(claimed)).toBeUndefined();
    expect(await repo.get(row.id)).toMatchObject({ status: 'calling', attempts: 1 });
    expect((await repo.openAttempts(row.id)).map((a) => a.id)).toEqual([`${row.id}-c1`]);
    await repo.markAnswered(`${row.id}-c1`, T0 + 5000);
    await repo.endAttempt(`${row.id}-c1`, { result: 'completed', endedAt: T0 + 60_000, answeredAt: T0 + 9000, cause: { code: 16, text: 'Normal Clearing' } });
    await repo.endAttempt(`${row.id}-c1`, { result: 'failed', endedAt: T0 + 70_000 }); // already ended: nothing changes
    expect(started).toEqual([`started ${row.id}-c1`, `ended ${row.id}-c1`]);
    expect(await repo.attempts(row.id)).toEqual([expect.objectContaining({
      seq: 1, via: 'outbound', answered_at: '2026-11-20T02:00:05.000Z', ended_at: '2026-11-20T02:01:00.000Z', result: 'completed', reason: null, cause_code: 16, cause_text: 'Normal Clearing',
    })]);
    expect(await repo.openAttempts(row.id)).toEqual([]);
    expect(await kinds('o1')).toEqual(['order_created', 'survey_scheduled', 'survey_call_started']);
  });

  it('keeps an answer as first given; the answer, its event and what the hook writes commit together or not at all', async () => {
    const { row } = await repo.schedule('o1', 'callback', '13800138000', T0);
    const seen: string[] = [];
    repo.onEvent = async (e, inTx) => {
      seen.push(e.kind);
      if (e.kind === 'survey_answer' && e.detail.question === 'speed') throw new Error('hook refused');
      // The hook writes through the transaction's view: it commits with the event.
      await sql`INSERT INTO order_events (order_id, at, actor, kind, detail) VALUES (${e.orderId}, 'x', 'hook', ${`hooked ${e.kind}`}, '{}')`.execute(inTx.db);
    };
    await repo.commitAnswer(row.id, `${row.id}-c1`, 'attitude', 'satisfied');
    await repo.commitAnswer(row.id, `${row.id}-c2`, 'attitude', 'unsatisfied');
    await expect(repo.commitAnswer(row.id, `${row.id}-c2`, 'speed', 'unsatisfied')).rejects.toThrow('hook refused');
    expect(await repo.get(row.id)).toMatchObject({ attitude: 'satisfied', speed: null, quality: null });
    expect(seen).toEqual(['survey_answer', 'survey_answer', 'survey_answer']);
    expect(await kinds('o1')).toEqual(['order_created', 'survey_scheduled', 'survey_answer', 'hooked survey_answer', 'survey_answer', 'hooked survey_answer']);
  });

  it('finds the open survey of a number or an order, newest first; finished ones are not open', async () => {
    const a = (await repo.schedule('o1', 'callback', '13800138000', T0)).row;
    now += 1000;
    const b = (await repo.schedule('o2', 'callback', '13800138000', T0)).row;
    expect((await repo.openSurvey({ number: '13800138000' }))?.id).toBe(b.id);
    await repo.finish(b.id, 'completed');
    expect((await repo.openSurvey({ number: '13800138000' }))?.id).toBe(a.id);
    await repo.finish(a.id, 'unreachable');
    expect((await repo.openSurvey({ orderId: 'o1' }))?.id).toBe(a.id); // unreachable: the citizen may still call in
    expect(await repo.openSurvey({ orderId: 'o2' })).toBeUndefined();
    expect(await repo.openSurvey({ number: '13900000000' })).toBeUndefined();
  });

  it('raises a flag once per survey, newest first in the list', async () => {
    const a = (await repo.schedule('o1', 'callback', '13800138000', T0)).row;
    const b = (await repo.schedule('o2', 'callback', '13800138002', T0)).row;
    expect(await repo.flag('o1', a.id, 'not satisfied: quality')).toBe(true);
    expect(await repo.flag('o1', a.id, 'not satisfied: quality')).toBe(false);
    now += 1000;
    expect(await repo.flag('o2', b.id, 'not satisfied: speed')).toBe(true);
    expect((await repo.flags(10, 0)).map((f) => [f.order_id, f.reason, f.status, f.owner])).toEqual([['o2', 'not satisfied: speed', 'open', null], ['o1', 'not satisfied: quality', 'open', null]]);
    expect((await repo.flags(1, 1)).map((f) => f.order_id)).toEqual(['o1']);
    expect((await kinds('o1')).filter((k) => k === 'flagged_unsatisfied')).toHaveLength(1);
  });
});
