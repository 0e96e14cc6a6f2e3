// The inbound feedback line end to end: a simulated duty officer (dialplans/sim-phones.conf,
// 70DG<keys>) calls liandong through the dialplan context liandong-stasis, keys the order code and
// the feedback key; the feedback machine answers through ARI and commits to SQLite. The calls are
// placed with AMI Originate: the ;2 half of the Local channel runs the sim phone and presses keys,
// the ;1 half enters our Stasis app as an inbound call. All calls run at once.
// The caller check: CALLER is a contact of the units of the first three orders (it goes straight
// to the menu); OUTSIDER is no contact of any unit: it must key the unit's PIN, and is refused
// after three wrong ones or when the unit has no PIN.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeedbackIvrOutput } from '../../machines/feedback-ivr.machine.js';
import type { Services } from '../../src/composition.js';
import { first, rows } from '../../src/db/sql.js';
import { readCode, readMenuKey } from '../../src/feedback/inbound-line.js';
import type { CaseRecord } from '../../src/orders/case-record.js';
import type { CollectOptions, CollectResult, MediaUri, PlayResult, TelephonyPort } from '../../src/telephony/port.js';
import { startServices } from './support.js';

const DESK = { authorization: 'Bearer dev-desk-token' };
const ADMIN = { authorization: 'Bearer dev-admin-token' };
/** Short delays so the dispatch call is accepted within seconds. */
const FAST = { attemptsPerContact: 1, retryDelaySeconds: 1, ringTimeoutSeconds: 3, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 1, keyTimeoutSeconds: 3 };
const CALLER = '05770001234';
/** Not a contact of any unit. */
const OUTSIDER = '05770005555';
const PIN = '2468';
/** Order codes are 100000-999999: a code starting with 0 is never an order's. */
const NO_SUCH_CODES = ['000000', '012345', '098765'];

let s: Services | undefined;
const orders = { arrived: '', completed: '', unknownThenRight: '', pinRight: '', pinWrong: '', noPin: '' };
const codes = { arrived: '', completed: '', unknownThenRight: '', pinRight: '', pinWrong: '', noPin: '' };
type Call = keyof typeof orders | 'unknown' | 'hangup';
const outcomes = new Map<string, { resolve: (o: FeedbackIvrOutput) => void; promise: Promise<FeedbackIvrOutput> }>();
const channelOf = new Map<Call, string>();
const started = Date.now();

function services(): Services {
  if (!s) throw new Error('services did not start');
  return s;
}

async function api(method: 'GET' | 'POST' | 'PUT', url: string, headers: Record<string, string>, payload?: unknown) {
  return services().app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
}

async function configureDepartment(id: string, numbers: readonly string[]) {
  const list = (await api('GET', '/api/v1/departments', DESK)).json<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>();
  const dept = list.departments.find((d) => d.id === id);
  if (!dept) throw new Error(`no department ${id}`);
  const contacts = numbers.map((number, i) => ({ id: `c${i + 1}`, name: `duty ${i + 1}`, number, priority: i + 1 }));
  const res = await api('PUT', `/api/v1/departments/${id}`, ADMIN, { name: dept.name, categories: dept.categories, contacts, policy: FAST });
  expect(res.statusCode, res.body).toBe(200);
}

async function createOrder(name: string, departmentId: string): Promise<{ id: string; code: string }> {
  const res = await api('POST', '/api/v1/orders', DESK, {
    externalId: `fb-${name}-${Date.now()}`,
    category: 'water-main-burst',
    departmentId,
    summary: '水管爆裂',
    address: '城关镇',
    reporterPhone: '13800138000',
    urgency: 'urgent',
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string; code: string }>();
}

async function record(id: string): Promise<CaseRecord> {
  return (await api('GET', `/api/v1/orders/${id}`, DESK)).json<CaseRecord>();
}

/** A duty officer phoning the feedback line from a sim phone that presses `keys`. */
async function phoneIn(call: Call, simNumber: string, callerNumber = CALLER): Promise<void> {
  const channelId = `fb-${call}-${process.pid}-${Date.now().toString(36)}`;
  let resolve!: (o: FeedbackIvrOutput) => void;
  const promise = new Promise<FeedbackIvrOutput>((r) => (resolve = r));
  outcomes.set(channelId, { resolve, promise });
  channelOf.set(call, channelId);
  const res = await services().ami.action({
    Action: 'Originate',
    Channel: `Local/${simNumber}@sim-phones`,
    // What the liandong-stasis context does for a real inbound call, aimed at this process's
    // own Stasis app so parallel test runs stay apart.
    Application: 'Stasis',
    Data: `${services().config.ari.app},inbound,12110`,
    CallerID: `"Duty" <${callerNumber}>`,
    ChannelId: channelId,
    OtherChannelId: `${channelId}-sim`,
    Async: 'true',
  });
  expect(String(res.response).toLowerCase()).toBe('success');
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function outcome(call: Call, timeoutMs = 50_000): Promise<FeedbackIvrOutput> {
  const entry = outcomes.get(channelOf.get(call) ?? '');
  if (!entry) throw new Error(`no call ${call} was placed`);
  return Promise.race([
    entry.promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`feedback call ${call} did not end within ${timeoutMs} ms`)), timeoutMs)),
  ]);
}

describe('feedback line against the real Asterisk', () => {
  beforeAll(async () => {
    // The services start the feedback line themselves; the test only watches the outcomes.
    s = await startServices('feedback-line', {}, { feedbackLine: { onCallEnded: (call, output) => outcomes.get(call.channelId)?.resolve(output) } });
    const departments = { arrived: 'tourism', completed: 'education', unknownThenRight: 'civil-affairs', pinRight: 'health', pinWrong: 'transport', noPin: 'culture-media' } as const;
    const callerIsContact = new Set(['arrived', 'completed', 'unknownThenRight']);
    for (const [name, dept] of Object.entries(departments) as Array<[keyof typeof departments, string]>) {
      // 70111 accepts the dispatch call at once, so CALLER (the second contact) is never phoned.
      await configureDepartment(dept, callerIsContact.has(name) ? ['70111', CALLER] : ['70111']);
      const o = await createOrder(name, dept);
      orders[name] = o.id;
      codes[name] = o.code;
    }
    for (const dept of [departments.pinRight, departments.pinWrong]) {
      expect((await api('PUT', `/api/v1/departments/${dept}/pin`, ADMIN, { pin: PIN })).statusCode).toBe(200);
    }
    // The departments accept by phone first (70111 presses 1), as on a real shift.
    for (const id of Object.values(orders)) await until(async () => (await record(id)).status === 'accepted', 20_000, `order ${id} accepted`);
    // Keys land ~1.6 s apart (G=1), the first ~2.9 s after the answer.
    await phoneIn('arrived', `7021${codes.arrived}1`);
    await phoneIn('completed', `7021${codes.completed}3`);
    await phoneIn('unknownThenRight', `7021${NO_SUCH_CODES[0]}${codes.unknownThenRight}2`);
    // Three unknown codes in a row, keys ~0.6 s apart (G=0): unknown order, goodbye.
    await phoneIn('unknown', `7020${NO_SUCH_CODES.join('')}`, '05770009999');
    // Hangs up 2 s after answering, during the welcome.
    await phoneIn('hangup', '722', '05770008888');
    // Not a contact: the PIN (ended by #), then 1; three wrong PINs; a unit without a PIN.
    await phoneIn('pinRight', `7021${codes.pinRight}${PIN}#1`, OUTSIDER);
    await phoneIn('pinWrong', `7021${codes.pinWrong}1111#2222#3333#1`, OUTSIDER);
    await phoneIn('noPin', `7021${codes.noPin}1`, OUTSIDER);
  }, 120_000);

  afterAll(async () => {
    await s?.close();
    process.stdout.write(`[feedback-line] done after ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  });

  it('arrived: key 1 is committed; the case record and event log show it, status arrived', async () => {
    const out = await outcome('arrived');
    expect(out).toEqual({ result: 'recorded', orderId: orders.arrived, code: codes.arrived, kind: 'arrived' });
    const r = await record(orders.arrived);
    expect(r.status).toBe('arrived');
    expect(r.feedback).toEqual([{ kind: 'arrived', note: null, via: 'phone', actor: expect.stringMatching(/^phone:.*1234$/) as string, at: expect.any(String) as string, departmentId: 'tourism' }]);
    expect(r.feedback[0]?.actor).not.toContain(CALLER); // the case record shows the caller masked
    const kinds = r.events.map((e) => e.kind);
    expect(kinds).toContain('feedback_arrived');
    expect(kinds.indexOf('acceptance_committed')).toBeLessThan(kinds.indexOf('feedback_arrived'));
    expect(r.events.find((e) => e.kind === 'feedback_arrived')?.detail).toEqual({ via: 'phone', note: null });
    // Stored with the caller in full, for the linkage office.
    expect((await services().repo.feedback(orders.arrived)).map((f) => f.actor)).toEqual([`phone:${CALLER}`]);
  });

  it('completed: key 3 moves the case to completed', async () => {
    const out = await outcome('completed');
    expect(out).toEqual({ result: 'recorded', orderId: orders.completed, code: codes.completed, kind: 'completed' });
    const r = await record(orders.completed);
    expect(r.status).toBe('completed');
    expect(r.feedback).toEqual([expect.objectContaining({ kind: 'completed', via: 'phone' })]);
    expect(r.events.map((e) => e.kind)).toContain('feedback_completed');
  });

  it('an unknown code, then the right one: "unknown order", welcome again, then progress (2) is recorded', async () => {
    const out = await outcome('unknownThenRight');
    expect(out).toEqual({ result: 'recorded', orderId: orders.unknownThenRight, code: codes.unknownThenRight, kind: 'progress' });
    const r = await record(orders.unknownThenRight);
    expect(r.status).toBe('accepted'); // progress keeps the status
    expect(r.feedback).toEqual([expect.objectContaining({ kind: 'progress', via: 'phone' })]);
    expect(r.events.map((e) => e.kind)).toContain('feedback_progress');
  });

  it('unknown codes only: unknown_order, and no feedback is stored anywhere', async () => {
    const out = await outcome('unknown');
    expect(out).toEqual({ result: 'unknown_order', reason: `no order with code ${NO_SUCH_CODES[2]} (3 prompts)` });
    await Promise.all([outcome('arrived'), outcome('completed'), outcome('unknownThenRight'), outcome('hangup'), outcome('pinRight'), outcome('pinWrong'), outcome('noPin')]);
    const stored = await rows(services().store.db, sql<{ order_id: string; actor: string }>`SELECT order_id, actor FROM feedback ORDER BY id`);
    expect(stored.map((f) => f.order_id).sort()).toEqual([orders.arrived, orders.completed, orders.unknownThenRight, orders.pinRight].sort());
    expect(stored.map((f) => f.actor)).not.toContain('phone:05770009999');
  });

  it('a caller who is not a contact keys the unit\'s PIN: accepted, the feedback recorded with the caller as actor', async () => {
    const out = await outcome('pinRight');
    expect(out).toEqual({ result: 'recorded', orderId: orders.pinRight, code: codes.pinRight, kind: 'arrived' });
    const r = await record(orders.pinRight);
    expect(r.status).toBe('arrived');
    expect((await services().repo.feedback(orders.pinRight)).map((f) => f.actor)).toEqual([`phone:${OUTSIDER}`]);
    const kinds = r.events.map((e) => e.kind);
    expect(kinds).toContain('feedback_caller_verified');
    expect(kinds.indexOf('feedback_caller_verified')).toBeLessThan(kinds.indexOf('feedback_arrived'));
    expect(kinds).not.toContain('feedback_refused');
  });

  it('a caller who is not a contact and keys a wrong PIN three times: refused, every wrong entry an event, nothing stored', async () => {
    const out = await outcome('pinWrong');
    expect(out).toEqual({ result: 'refused', orderId: orders.pinWrong, code: codes.pinWrong, reason: 'wrong PIN 3 times' });
    const r = await record(orders.pinWrong);
    expect(r.feedback).toEqual([]);
    expect(r.status).toBe('accepted');
    const refusals = r.events.filter((e) => e.kind === 'feedback_refused').map((e) => e.detail.reason);
    expect(refusals).toEqual(['wrong PIN (entry 1)', 'wrong PIN (entry 2)', 'wrong PIN (entry 3)', 'wrong PIN 3 times']);
    // The case record shows the caller masked.
    for (const e of r.events.filter((x) => x.kind === 'feedback_refused')) expect(e.actor).not.toContain(OUTSIDER);
  });

  it('a caller who is not a contact, for a unit without a PIN: refused at once, recorded as an event', async () => {
    const out = await outcome('noPin');
    expect(out).toEqual({ result: 'refused', orderId: orders.noPin, code: codes.noPin, reason: 'caller is not a contact of the unit and the unit has no PIN' });
    const r = await record(orders.noPin);
    expect(r.feedback).toEqual([]);
    expect(r.events.filter((e) => e.kind === 'feedback_refused').map((e) => e.detail.reason)).toEqual(['caller is not a contact of the unit and the unit has no PIN']);
  });

  it('the caller hangs up during the welcome: hangup, nothing stored', async () => {
    const out = await outcome('hangup');
    expect(out).toEqual({ result: 'hangup' });
    const stored = await first(services().store.db, sql<{ n: number }>`SELECT count(*) AS n FROM feedback WHERE actor = ${'phone:05770008888'}`);
    expect(stored?.n).toBe(0);
  });
});

/** A scripted port for the keypad effects: each play/prompt/collect takes the next scripted answer. */
function scriptedPort(script: { plays?: PlayResult[]; collects: CollectResult[] }) {
  const calls: string[] = [];
  const plays = [...(script.plays ?? [])];
  const collects = [...script.collects];
  const next = <T>(list: T[], what: string): T => {
    const v = list.shift();
    if (v === undefined) throw new Error(`unscripted ${what}`);
    return v;
  };
  const port: Pick<TelephonyPort, 'prompt' | 'play' | 'collect'> = {
    prompt: (_id: string, media: readonly MediaUri[], o: CollectOptions) => {
      calls.push(`prompt:${media.join('+')}:${o.firstDigitTimeoutMs}`);
      return Promise.resolve(next(collects, 'prompt'));
    },
    play: (_id: string, media: readonly MediaUri[]) => {
      calls.push(`play:${media.join('+')}`);
      return Promise.resolve(next(plays, 'play'));
    },
    collect: (_id: string, o: CollectOptions) => {
      calls.push(`collect:${o.firstDigitTimeoutMs}`);
      return Promise.resolve(next(collects, 'collect'));
    },
  };
  return { port, calls };
}

const key = (digits: string): CollectResult => ({ status: 'complete', digits });
const T = { firstDigitTimeoutMs: 8000, interDigitTimeoutMs: 3000 };

describe('keypad effects of the feedback line (scripted port)', () => {
  it('reads six digits one key at a time, the first with the welcome', async () => {
    const { port, calls } = scriptedPort({ collects: ['1', '2', '3', '4', '5', '6'].map(key) });
    expect(await readCode(port, 'c', ['sound:w'], T)).toEqual({ status: 'digits', digits: '123456' });
    expect(calls).toEqual(['prompt:sound:w:8000', 'collect:3000', 'collect:3000', 'collect:3000', 'collect:3000', 'collect:3000']);
  });

  it('# ends the code early; * starts it again; other keys are ignored', async () => {
    const { port } = scriptedPort({ collects: ['9', '9', '*', '1', 'A', '2', '#'].map(key) });
    expect(await readCode(port, 'c', ['sound:w'], T)).toEqual({ status: 'digits', digits: '12' });
  });

  it('after * the first-digit timeout applies again', async () => {
    const { port, calls } = scriptedPort({ collects: [key('5'), key('*'), { status: 'timeout', digits: '' }] });
    expect(await readCode(port, 'c', ['sound:w'], T)).toEqual({ status: 'timeout' });
    expect(calls).toEqual(['prompt:sound:w:8000', 'collect:3000', 'collect:8000']);
  });

  it('when the keys stop, what was keyed is the code; nothing keyed is a timeout; # alone is an empty code', async () => {
    expect(await readCode(scriptedPort({ collects: [key('1'), key('2'), { status: 'timeout', digits: '' }] }).port, 'c', [], T)).toEqual({ status: 'digits', digits: '12' });
    expect(await readCode(scriptedPort({ collects: [{ status: 'timeout', digits: '' }] }).port, 'c', [], T)).toEqual({ status: 'timeout' });
    expect(await readCode(scriptedPort({ collects: [key('#')] }).port, 'c', [], T)).toEqual({ status: 'digits', digits: '' });
  });

  it('reports a hangup, and throws on a failed prompt', async () => {
    expect(await readCode(scriptedPort({ collects: [key('1'), { status: 'hangup', digits: '' }] }).port, 'c', [], T)).toEqual({ status: 'hangup' });
    await expect(readCode(scriptedPort({ collects: [{ status: 'failed', digits: '', reason: 'no media' }] }).port, 'c', [], T)).rejects.toThrow('no media');
  });

  const MENU: CollectOptions = { maxDigits: 1, firstDigitTimeoutMs: 8000, interDigitTimeoutMs: 3000 };

  it('first menu: keeps a key typed ahead', async () => {
    const { port, calls } = scriptedPort({ plays: [{ status: 'finished' }], collects: [key('3')] });
    expect(await readMenuKey(port, 'c', ['sound:m'], MENU, true)).toEqual({ status: 'key', key: '3' });
    expect(calls).toEqual(['play:sound:m', 'collect:8000']);
  });

  it('first menu: skips the # that ended the code; reads the menu again if it cut it short', async () => {
    const queued = scriptedPort({ plays: [{ status: 'finished' }], collects: [key('#'), key('1')] });
    expect(await readMenuKey(queued.port, 'c', ['sound:m'], MENU, true)).toEqual({ status: 'key', key: '1' });
    expect(queued.calls).toEqual(['play:sound:m', 'collect:8000', 'collect:8000']);
    const barged = scriptedPort({ plays: [{ status: 'interrupted', key: '#' }, { status: 'interrupted', key: '2' }], collects: [key('#'), key('2')] });
    expect(await readMenuKey(barged.port, 'c', ['sound:m'], MENU, true)).toEqual({ status: 'key', key: '2' });
    expect(barged.calls).toEqual(['play:sound:m', 'collect:8000', 'play:sound:m', 'collect:8000']);
    // Only once: a second # is an answer (an invalid one).
    const twice = scriptedPort({ plays: [{ status: 'finished' }], collects: [key('#'), key('#')] });
    expect(await readMenuKey(twice.port, 'c', ['sound:m'], MENU, true)).toEqual({ status: 'key', key: '#' });
  });

  it('later menus drop earlier keys (prompt), and map timeouts and hangups', async () => {
    const again = scriptedPort({ collects: [{ status: 'timeout', digits: '' }] });
    expect(await readMenuKey(again.port, 'c', ['sound:m'], MENU, false)).toEqual({ status: 'timeout' });
    expect(again.calls).toEqual(['prompt:sound:m:8000']);
    expect(await readMenuKey(scriptedPort({ plays: [{ status: 'hangup' }], collects: [] }).port, 'c', [], MENU, true)).toEqual({ status: 'hangup' });
    await expect(readMenuKey(scriptedPort({ plays: [{ status: 'failed', reason: 'gone' }], collects: [] }).port, 'c', [], MENU, true)).rejects.toThrow('gone');
  });
});
