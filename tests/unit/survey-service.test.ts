// The survey service on both engines with a scripted telephone (no Asterisk): a due survey is
// taken and called once even by two services on one store (two nodes), each answer is committed
// before the next question is asked, and the end of the call settles the survey (flag, follow-up).
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { capturedLogger } from './captured-log.js';
import { surveyCallMachine } from '../../machines/survey-call.machine.js';
import { loadConfig } from '../../src/config.js';
import { first, rows } from '../../src/db/sql.js';
import type { Store } from '../../src/db/store.js';
import { WriteQueue } from '../../src/db/write-queue.js';
import { createLogger, type Logger } from '../../src/logging.js';
import { SurveyRepository } from '../../src/survey/survey-repository.js';
import { SurveyService, type SurveyServiceDeps } from '../../src/survey/survey-service.js';
import type { CollectResult, TelephonyPort } from '../../src/telephony/port.js';
import { ENGINES, openTestStore } from '../support/engines.js';
import { beepPrompts, scriptedTelephone } from './fake-telephony.js';
import { Fixture } from './reports-fixtures.js';

/** A telephone whose citizen answers at once and keys `keys` in turn; `beforeKey` runs as each question is asked. */
function scriptedPhone(keys: string[], beforeKey: () => Promise<void>) {
  const { port, originated } = scriptedTelephone(async (): Promise<CollectResult> => {
    await beforeKey();
    const key = keys.shift();
    return key === undefined ? { status: 'timeout', digits: '' } : { status: 'complete', digits: key };
  });
  return { port, originated };
}

const prompts = beepPrompts;

describe.each(ENGINES)('survey service on %s', (engine) => {
  let store: Store;
  const services: SurveyService[] = [];
  const failures: string[] = [];
  beforeEach(async () => {
    store = await openTestStore(engine);
    failures.length = 0;
    await Fixture.over(store).order('o1', 'tourism', '2026-11-20T01:00:00.000Z', 'completed').flush();
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const s of services.splice(0)) s.stop();
    await store.close();
  });

  function service(telephony: TelephonyPort, logger: Logger = createLogger('silent')): { service: SurveyService; writes: WriteQueue } {
    const config = loadConfig({ LIANDONG_SURVEY_WINDOW: '00:00-00:00', LIANDONG_SURVEY_DELAY_SECONDS: '0', LIANDONG_FOLLOWUP_DELAY_SECONDS: '3600' }, 'dev');
    const writes = new WriteQueue((label, reason) => failures.push(`${label}: ${reason}`), { store, windowMs: 20 });
    const orders = {
      getOrder: (id: string) => first(store.db, sql<{ id: string; code: string; status: string; callback: number; reporter_phone: string; created_at: string }>`SELECT * FROM orders WHERE id = ${id}`),
      events: () => Promise.resolve([]),
      advanceStatus: () => Promise.resolve(),
    } as unknown as SurveyServiceDeps['orders'];
    const s = new SurveyService({
      config, orders, telephony, prompts, writes, logger, surveys: new SurveyRepository(store),
      departments: { current: () => { throw new Error('not read here'); } } as unknown as SurveyServiceDeps['departments'],
    });
    services.push(s);
    return { service: s, writes };
  }

  const survey = async () => first(store.db, sql<{ id: string; status: string; attitude: string | null; speed: string | null; quality: string | null; attempts: number }>`SELECT * FROM surveys WHERE order_id = 'o1' AND kind = 'callback'`);

  it('calls a due survey once, commits each answer before the next question, then flags and schedules the follow-up', async () => {
    const seenAtQuestion: Array<string | null> = [];
    const phone = scriptedPhone(['1', '2', '1'], async () => {
      const s = await survey();
      seenAtQuestion.push(s ? [s.attitude, s.speed, s.quality].map((a) => a ?? '-').join(' ') : null);
    });
    const a = service(phone.port);
    const b = service(phone.port); // a second node on the same store
    // Both started first: start() takes over surveys left `calling`, which on a cluster would be
    // another node's live call (leases decide that, later); here both only race for the due one.
    await a.service.start();
    await b.service.start();
    const { survey: view, created } = await a.service.scheduleForOrder('o1', 'callback'); // wakes a
    expect(created).toBe(true);
    expect(view).toMatchObject({ kind: 'callback', status: 'scheduled', attempts: [] });
    b.service.wake();
    // The follow-up is the last thing the end of the call writes.
    await expect.poll(async () => (await a.service.forOrder('o1')).length, { timeout: 10_000, interval: 50 }).toBe(2);
    await a.writes.drain();
    expect(phone.originated).toEqual([`${view.id}-c1`]);
    expect(seenAtQuestion).toEqual(['- - -', 'satisfied - -', 'satisfied unsatisfied -']);
    expect(await survey()).toMatchObject({ attitude: 'satisfied', speed: 'unsatisfied', quality: 'satisfied', attempts: 1 });
    const events = (await rows(store.db, sql<{ kind: string }>`SELECT kind FROM order_events WHERE order_id = 'o1' ORDER BY id`)).map((e) => e.kind);
    expect(events.filter((k) => k.startsWith('survey_') || k === 'flagged_unsatisfied')).toEqual([
      'survey_scheduled', 'survey_call_started',
      'survey_key', 'survey_answer', 'survey_key', 'survey_answer', 'survey_key', 'survey_answer',
      'survey_finished', 'flagged_unsatisfied', 'survey_scheduled',
    ]);
    const [forOrder] = await a.service.forOrder('o1');
    expect(forOrder?.attempts).toEqual([expect.objectContaining({ seq: 1, via: 'outbound', result: 'completed' })]);
    expect(forOrder?.attempts[0]?.answeredAt).not.toBeNull();
    expect((await a.service.flags(10, 0)).flags).toEqual([expect.objectContaining({ orderId: 'o1', reason: 'not satisfied: speed', status: 'open' })]);
    expect((await a.service.forOrder('o1')).map((s) => [s.kind, s.status])).toEqual([['callback', 'completed'], ['follow_up', 'scheduled']]);
    expect(failures).toEqual([]);
  });

  it('an inbound call answers the open survey once; a second inbound call for it is refused', async () => {
    const phone = scriptedPhone(['1', '1', '1'], () => Promise.resolve());
    const { service: s, writes } = service(phone.port);
    await s.scheduleForOrder('o1', 'callback', 3600); // due in an hour: open, not yet called
    const [one, two] = await Promise.all([
      s.answerInbound('chan-1', { number: '13800138000' }, true, '13800138000'),
      s.answerInbound('chan-2', { orderId: 'o1' }, true, '13800138000'),
    ]);
    expect([one, two].sort()).toEqual([false, true]);
    await expect.poll(async () => (await survey())?.status, { timeout: 10_000, interval: 50 }).toBe('completed');
    await writes.drain();
    const [view] = await s.forOrder('o1');
    expect(view?.attempts).toEqual([expect.objectContaining({ seq: 1, via: 'inbound', result: 'completed' })]);
    expect(await s.answerInbound('chan-3', { number: '13800138000' }, true, '13800138000')).toBe(false);
    expect(failures).toEqual([]);
  });

  it('provides the survey-call machine once per service, logs one summary line per call at info, and holds nothing of a call after it', async () => {
    const provided = vi.spyOn(surveyCallMachine, 'provide');
    const log = capturedLogger('info');
    const phone = scriptedPhone(['1', '1', '1'], () => Promise.resolve());
    const { service: s, writes } = service(phone.port, log.logger);
    expect(provided).toHaveBeenCalledTimes(1);
    await s.start();
    await s.scheduleForOrder('o1', 'callback');
    await expect.poll(async () => (await survey())?.status, { timeout: 10_000, interval: 50 }).toBe('completed');
    expect(await s.answerInbound('chan-1', { orderId: 'o1' }, true, '13800138000')).toBe(false); // nothing open any more
    await writes.drain();
    expect(provided).toHaveBeenCalledTimes(1);
    expect(s.liveState()).toEqual({ surveys: 0, calls: 0, traces: 0 });
    const lines = log.lines();
    const ended = lines.filter((l) => l.msg === 'survey call ended');
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ level: 30, orderId: 'o1', via: 'outbound', result: 'completed', answers: { attitude: 'satisfied', speed: 'satisfied', quality: 'satisfied' } });
    for (const ms of ['queuedMs', 'ringMs', 'firstPromptMs', 'keyMs', 'totalMs']) expect(ended[0]?.[ms], ms).toEqual(expect.any(Number));
    expect(lines.filter((l) => ['survey call answered', 'survey key', 'greeting requested'].includes(String(l.msg)))).toEqual([]);
    expect(log.text()).not.toContain('13800138000');
    expect(failures).toEqual([]);
  });
});
