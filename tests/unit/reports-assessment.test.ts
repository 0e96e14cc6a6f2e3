// Report arithmetic on fixtures in a fresh store of each engine: the SQL that reads the facts and
// the pure arithmetic on them, with the edge cases the supervision bureau would ask about. The
// same fixture gives the same report, figure for figure, on SQLite and PostgreSQL.
import { describe, expect, it } from 'vitest';
import { parseRankingWeights } from '../../src/config.js';
import { loadCatalog } from '../../src/departments/catalog.js';
import { OrderRepository } from '../../src/orders/order-repository.js';
import { assessQuarter, compareForRanking, figuresOf, type DepartmentAssessment } from '../../src/reports/assessment.js';
import { AssessmentService } from '../../src/reports/assessment-service.js';
import { loadOrderFacts } from '../../src/reports/assessment-facts.js';
import { parseQuarter, type Quarter } from '../../src/reports/quarter.js';
import { ENGINES } from '../support/engines.js';
import { Fixture, fixturesOn } from './reports-fixtures.js';

const SH = 'Asia/Shanghai';
const Q4 = parseQuarter('2026Q4', SH);
const catalog = loadCatalog();
const NOW = Date.parse('2027-01-05T02:00:00.000Z');

/** The service over the fixture's store, once its rows are written. */
async function service(f: Fixture): Promise<AssessmentService> {
  await f.flush();
  return new AssessmentService({ store: f.store, departments: { current: () => catalog }, config: { timezone: SH, language: 'zh-CN' }, now: () => NOW });
}
async function reportOf(f: Fixture, quarter: Quarter = Q4) {
  return (await service(f)).report(quarter);
}
async function factsOf(f: Fixture, quarter: Quarter = Q4) {
  await f.flush();
  return loadOrderFacts(f.store.db, quarter.from, quarter.to);
}
function department(report: { departments: readonly DepartmentAssessment[] }, id: string): DepartmentAssessment {
  const d = report.departments.find((x) => x.departmentId === id);
  if (!d) throw new Error(`no row for ${id}`);
  return d;
}

describe.each(ENGINES)('assessment on %s', (engine) => {
  const openFixture = fixturesOn(engine);

  describe('with no orders', () => {
    it('lists every department with zero counts, no rates and no rank', async () => {
      const report = await reportOf(await openFixture());
      expect(report.departments).toHaveLength(catalog.departments.length);
      expect(report.departments.map((d) => d.departmentId)).toEqual(catalog.departments.map((d) => d.id));
      for (const d of report.departments) {
        expect(d).toMatchObject({ rank: null, received: 0, accepted: 0, unacknowledged: 0, acceptanceRate: null, medianSecondsToAccept: null, p90SecondsToAccept: null, attemptsPerAcceptance: null, completionRate: null, surveyResponseRate: null });
        expect(d.satisfaction.quality).toEqual({ satisfied: 0, unsatisfied: 0, rate: null });
      }
      expect(report.totals.received).toBe(0);
      expect(report).toMatchObject({ quarter: '2026Q4', timezone: SH, from: '2026-09-30T16:00:00.000Z', to: '2026-12-31T16:00:00.000Z', generatedAt: '2027-01-05T02:00:00.000Z' });
    });
  });

  describe('when nothing was acknowledged', () => {
    it('counts every order unacknowledged: acceptance rate 0, no times, still ranked (last among ranked)', async () => {
      const f = await openFixture();
      for (const id of ['u1', 'u2', 'u3']) {
        f.order(id, 'tourism', '2026-11-0' + id.slice(1) + 'T02:00:00.000Z', 'unacknowledged').attempt(id, 'no_answer').attempt(id, 'busy', { contactIndex: 1 }).attempt(id, 'accepted', { script: 'alarm' }).event(id, 'chain_exhausted');
        f.acceptance(id, 40, { script: 'alarm' }); // the command centre confirming the alarm is not the department accepting
      }
      f.order('ok', 'education', '2026-11-02T02:00:00.000Z').attempt('ok', 'accepted').acceptance('ok', 12);
      const report = await reportOf(f);
      expect(department(report, 'tourism')).toMatchObject({
        rank: 2, received: 3, accepted: 0, unacknowledged: 3, pending: 0, acceptanceRate: 0, medianSecondsToAccept: null, p90SecondsToAccept: null,
        attemptsPerAcceptance: null, escalations: 3, completed: 0, completionRate: 0,
      });
      expect(department(report, 'education')).toMatchObject({ rank: 1, acceptanceRate: 1, medianSecondsToAccept: 12, attemptsPerAcceptance: 1 });
      expect(report.totals).toMatchObject({ received: 4, accepted: 1, unacknowledged: 3, acceptanceRate: 0.25 });
    });
  });

  describe('quarter boundaries at Shanghai midnight', () => {
    it('takes orders from 00:00 on 1 October to just before 00:00 on 1 January, Shanghai time', async () => {
      const f = (await openFixture())
        .order('q3-last', 'tourism', '2026-09-30T15:59:59.999Z') // 30 Sep 23:59:59.999 in Shanghai
        .order('q4-first', 'tourism', '2026-09-30T16:00:00.000Z') // 1 Oct 00:00 in Shanghai
        .order('q4-last', 'tourism', '2026-12-31T15:59:59.999Z')
        .order('q1-first', 'tourism', '2026-12-31T16:00:00.000Z'); // 1 Jan 2027 00:00 in Shanghai, still 2026 in UTC
      for (const id of ['q3-last', 'q4-first', 'q4-last', 'q1-first']) f.acceptance(id, 5);
      expect((await factsOf(f)).map((o) => o.id)).toEqual(['q4-first', 'q4-last']);
      expect((await reportOf(f)).totals.received).toBe(2);
      expect((await reportOf(f, parseQuarter('2027Q1', SH))).totals.received).toBe(1);
      expect((await reportOf(f, parseQuarter('2026Q3', SH))).totals.received).toBe(1);
    });
  });

  describe('medians and p90', () => {
    it('even counts take the mean of the two middle values; p90 is the nearest rank', async () => {
      const f = await openFixture();
      const seconds = [30, 10, 100, 20]; // sorted 10 20 30 100: median 25, p90 = sorted[ceil(3.6) - 1] = 100
      seconds.forEach((s, i) => {
        const id = `m${i}`;
        f.order(id, 'water-supply', `2026-10-1${i}T00:00:00.000Z`).attempt(id, 'accepted').acceptance(id, s);
      });
      // Arrivals 10 and 15 minutes after the order: median 12.5 (two values).
      f.feedback('m0', 'arrived', '2026-10-10T00:10:00.000Z').feedback('m1', 'arrived', '2026-10-11T00:15:00.000Z');
      const d = department(await reportOf(f), 'water-supply');
      expect(d).toMatchObject({ accepted: 4, medianSecondsToAccept: 25, p90SecondsToAccept: 100, arrivalsReported: 2, medianMinutesToArrival: 12.5 });
    });
  });

  describe('every figure of one department', () => {
    async function fixture(): Promise<Fixture> {
      const f = await openFixture();
      const at = (day: number) => `2026-11-${String(day).padStart(2, '0')}T01:00:00.000Z`;
      // a: accepted on the first call, arrived after 20 min, completed, callback all satisfied.
      f.order('a', 'water-supply', at(1), 'surveyed').attempt('a', 'accepted').acceptance('a', 8)
        .feedback('a', 'arrived', '2026-11-01T01:20:00.000Z').feedback('a', 'completed', '2026-11-01T03:00:00.000Z')
        .survey('a', 'callback', 'completed', { attitude: 'satisfied', speed: 'satisfied', quality: 'satisfied' });
      // b: first contact no answer twice, backup accepted under dispute (key 3); callback unsatisfied on quality → flag + follow-up.
      f.order('b', 'water-supply', at(2), 'surveyed').attempt('b', 'no_answer').attempt('b', 'no_answer').attempt('b', 'accepted', { contactIndex: 1 }).acceptance('b', 95, { disputed: true })
        .feedback('b', 'arrived', '2026-11-02T02:00:00.000Z').feedback('b', 'completed', '2026-11-02T05:00:00.000Z')
        .survey('b', 'callback', 'partial', { attitude: 'satisfied', speed: 'unsatisfied', quality: 'unsatisfied' }).flag('b').survey('b', 'follow_up', 'scheduled');
      // c: accepted through feedback while still being phoned (no key), callback unreachable.
      f.order('c', 'water-supply', at(3), 'completed').attempt('c', 'no_answer').acceptance('c', 300, { via: 'feedback' })
        .feedback('c', 'completed', '2026-11-03T04:00:00.000Z').survey('c', 'callback', 'unreachable');
      // d: chain exhausted (second pass too), a late acceptance afterwards does not count; cancelled afterwards still counts.
      f.order('d', 'water-supply', at(4), 'cancelled').attempt('d', 'busy').attempt('d', 'busy', { loop: 1 }).event('d', 'chain_exhausted').acceptance('d', 900, { late: true });
      // e: withdrawn by the desk while still being phoned: not the department's to answer for.
      f.order('e', 'water-supply', at(5), 'cancelled').attempt('e', 'cancelled').event('e', 'cancelled');
      // g: still being phoned when the report is read.
      f.order('g', 'water-supply', at(6), 'dispatching').attempt('g', null);
      // h: accepted, callback opted out; i: accepted, callback still scheduled (not finished, not counted).
      f.order('h', 'water-supply', at(7)).attempt('h', 'accepted').acceptance('h', 20).survey('h', 'callback', 'opted_out');
      f.order('i', 'water-supply', at(8)).attempt('i', 'accepted').acceptance('i', 30).survey('i', 'callback', 'scheduled');
      // 督查催办: a arrived in time; b missed its arrival deadline (two rounds to two contacts in
      // round 1, one in round 2, then the leader) and its completion deadline (one round, plus a help
      // alarm to the 110 centre, which is not a round to the department); h missed nothing yet.
      f.deadline('a', 'arrival', false).deadline('a', 'completion', false);
      f.deadline('b', 'arrival', true, 'overdue').reminderCall('b', 'arrival', 1).reminderCall('b', 'arrival', 1).reminderCall('b', 'arrival', 2).reminderCall('b', 'arrival', 2, 'leader');
      f.deadline('b', 'completion', true).reminderCall('b', 'completion', 1).reminderCall('b', 'completion', 1, 'command_centre');
      f.deadline('h', 'arrival', false, 'pending');
      // Another department's order never leaks into this one.
      f.order('x', 'tourism', at(9)).attempt('x', 'accepted').acceptance('x', 1);
      // Disputes count for the unit that raised them: b's was rejected; x (now tourism's) was
      // water-supply's until its dispute was upheld and the order reassigned.
      f.dispute('b', 'water-supply', 'rejected').dispute('x', 'water-supply', 'upheld');
      return f;
    }

    it('counts, rates, times, calls, escalations, feedback and the three satisfactions', async () => {
      const d = department(await reportOf(await fixture()), 'water-supply');
      expect(d).toEqual({
        rank: 2,
        departmentId: 'water-supply',
        name: catalog.departmentsById.get('water-supply')?.name,
        received: 7, // a b c d g h i (e withdrawn)
        withdrawn: 1,
        accepted: 5, // a b c h i
        unacknowledged: 1, // d
        pending: 1, // g
        disputed: 1,
        acceptanceRate: 0.8333, // 5 / 6
        medianSecondsToAccept: 30, // 8 20 30 95 300
        p90SecondsToAccept: 300, // ceil(4.5) = 5th
        attemptsPerAcceptance: 1.4, // (1 + 3 + 1 + 1 + 1) / 5
        escalations: 2, // b (backup), d (second pass)
        arrivalsReported: 2,
        medianMinutesToArrival: 40, // 20 and 60
        completed: 3, // a b c
        completionRate: 0.5, // 3 / 6
        callbacksFinished: 4, // a completed, b partial, c unreachable, h opted out (i still scheduled)
        callbacksAnswered: 2, // a, b
        surveyResponseRate: 0.5,
        satisfaction: {
          attitude: { satisfied: 2, unsatisfied: 0, rate: 1 },
          speed: { satisfied: 1, unsatisfied: 1, rate: 0.5 },
          quality: { satisfied: 1, unsatisfied: 1, rate: 0.5 },
        },
        unsatisfiedFollowUps: 1,
        flagged: 1,
        overdueArrivals: 1, // b
        overdueCompletions: 1, // b
        reminderRounds: 4, // b: arrival rounds 1, 2 and the leader's; completion round 1
        disputesOpen: 0,
        disputesUpheld: 1, // x
        disputesRejected: 1, // b
      });
    });

    it('totals are computed over all orders, not averaged over departments', async () => {
      const report = await reportOf(await fixture());
      expect(report.totals).toMatchObject({ received: 8, accepted: 6, unacknowledged: 1, acceptanceRate: 0.8571, medianSecondsToAccept: 25 });
      expect(department(report, 'tourism')).toMatchObject({ rank: 1, received: 1, accepted: 1, acceptanceRate: 1 });
    });
  });

  describe('ranking', () => {
    it('equal departments share a rank and the next rank skips (1, 2, 2, 4); empty ones are unranked at the end', async () => {
      const f = await openFixture();
      const add = (id: string, dept: string, seconds: number | null) => {
        f.order(id, dept, '2026-10-20T00:00:00.000Z', seconds === null ? 'unacknowledged' : 'accepted');
        if (seconds === null) f.event(id, 'chain_exhausted');
        else f.acceptance(id, seconds);
      };
      add('t1', 'tourism', 5);
      add('e1', 'education', 10);
      add('c1', 'civil-affairs', 10);
      add('w1', 'water-supply', 10);
      add('w2', 'water-supply', null);
      const report = assessQuarter({
        quarter: Q4,
        facts: await factsOf(f),
        departments: [{ id: 'water-supply', name: { 'zh-CN': '水', en: 'W' } }, { id: 'idle', name: { 'zh-CN': '闲', en: 'I' } }, { id: 'tourism', name: { 'zh-CN': '旅', en: 'T' } }],
        now: new Date(NOW),
      });
      expect(report.departments.map((d) => [d.departmentId, d.rank])).toEqual([
        ['tourism', 1], ['civil-affairs', 2], ['education', 2], ['water-supply', 4], ['idle', null],
      ]);
      // A department missing from the catalog still answers for its orders, under its id.
      expect(department(report, 'education').name).toEqual({ 'zh-CN': 'education', en: 'education' });
    });
  });

  describe('half-year reports and weighted ranking', () => {
    it('2026H2 covers 1 July to 1 January (Shanghai) and counts the orders of both quarters', async () => {
      const f = await openFixture();
      f.order('jul', 'tourism', '2026-06-30T16:00:00.000Z').acceptance('jul', 10); // 1 July 00:00 in Shanghai
      f.order('dec', 'tourism', '2026-12-31T15:59:59.999Z').acceptance('dec', 20);
      f.order('jun', 'tourism', '2026-06-30T15:59:59.999Z').acceptance('jun', 30); // still H1
      const reports = await service(f);
      const h2 = await reports.report(parseQuarter('2026H2', SH));
      expect(h2).toMatchObject({ quarter: '2026H2', from: '2026-06-30T16:00:00.000Z', to: '2026-12-31T16:00:00.000Z' });
      expect(department(h2, 'tourism')).toMatchObject({ received: 2, accepted: 2, medianSecondsToAccept: 15 });
      expect(department(await reports.report(parseQuarter('2026H1', SH)), 'tourism').received).toBe(1);
      expect(await reports.text(parseQuarter('2026H2', SH), 'zh-CN')).toContain('半年通报 2026年下半年');
      expect(await reports.csv(parseQuarter('2026H1', SH), 'en')).toContain('2026H1,');
    });

    it('weights from config rank by the weighted score; without weights the default rule stays', async () => {
      const f = await openFixture();
      // tourism accepts slowly but always completes; education accepts fast and never completes.
      f.order('t1', 'tourism', '2026-10-20T00:00:00.000Z', 'completed').acceptance('t1', 500).feedback('t1', 'completed', '2026-10-20T02:00:00.000Z');
      f.order('e1', 'education', '2026-10-20T00:00:00.000Z').acceptance('e1', 5);
      const facts = await factsOf(f);
      const departments = catalog.departments.map((d) => ({ id: d.id, name: d.name }));
      const plain = assessQuarter({ quarter: Q4, facts, departments, now: new Date(NOW) });
      expect([department(plain, 'education').rank, department(plain, 'tourism').rank]).toEqual([1, 2]);
      expect(department(plain, 'education').score).toBeUndefined();
      const weights = { acceptance: 0, timeToAccept: 1, arrival: 0, completion: 3, satisfaction: 0 };
      const weighted = assessQuarter({ quarter: Q4, facts, departments, now: new Date(NOW), weights });
      // tourism: (1 × (1 − 500/600) + 3 × 1) / 4 = 0.7917; education: (1 × (1 − 5/600) + 3 × 0) / 4 = 0.2479
      expect(department(weighted, 'tourism')).toMatchObject({ rank: 1, score: 0.7917 });
      expect(department(weighted, 'education')).toMatchObject({ rank: 2, score: 0.2479 });
      expect(weighted.weights).toEqual(weights);
    });
  });

  describe('several units on one order', () => {
    it('rows written directly: each unit counts its own acceptance, calls and arrival; an exhausted co-unit is not the lead exhausted', async () => {
      const f = await openFixture();
      f.order('co', 'water-supply', '2026-11-10T01:00:00.000Z').coUnit('co', 'tourism', 1, 'accepted').coUnit('co', 'education', 2, 'unacknowledged');
      f.attempt('co', 'accepted', { departmentId: 'water-supply' }).acceptance('co', 10, { departmentId: 'water-supply' });
      f.attempt('co', 'no_answer', { departmentId: 'tourism' }).attempt('co', 'accepted', { departmentId: 'tourism', contactIndex: 1 }).acceptance('co', 40, { departmentId: 'tourism' });
      f.attempt('co', 'busy', { departmentId: 'education' }).event('co', 'chain_exhausted', '2026-11-10T01:05:00.000Z', { attempts: 1, departmentId: 'education' });
      f.feedback('co', 'arrived', '2026-11-10T01:30:00.000Z', 'tourism');
      // Another order whose lead's chain ran out: its event names the lead (or nobody, older rows).
      f.order('ex', 'water-supply', '2026-11-11T01:00:00.000Z', 'unacknowledged').attempt('ex', 'busy').event('ex', 'chain_exhausted', '2026-11-11T01:05:00.000Z', { departmentId: 'water-supply' });
      const facts = await factsOf(f);
      expect(facts.map((o) => [o.id, o.departmentId, o.exhausted, o.coUnit === true])).toEqual([
        ['co', 'water-supply', false, false], ['co', 'tourism', false, true], ['co', 'education', true, true], ['ex', 'water-supply', true, false],
      ]);
      const report = await reportOf(f);
      expect(department(report, 'water-supply')).toMatchObject({ received: 2, accepted: 1, unacknowledged: 1, medianSecondsToAccept: 10, attemptsPerAcceptance: 1, arrivalsReported: 0 });
      expect(department(report, 'tourism')).toMatchObject({ received: 1, accepted: 1, medianSecondsToAccept: 40, attemptsPerAcceptance: 2, escalations: 1, arrivalsReported: 1 });
      expect(department(report, 'education')).toMatchObject({ received: 1, accepted: 0, unacknowledged: 1, acceptanceRate: 0 });
      expect(report.totals).toMatchObject({ received: 2, accepted: 1, unacknowledged: 1, arrivalsReported: 0 });
    });

    it("through the order repository: each unit in its own row; the county totals count the order once", async () => {
      const f = await openFixture();
      let now = Date.parse('2026-11-10T01:00:00.000Z');
      const repo = new OrderRepository(f.store, () => now);
      const { row } = await repo.createOrder({
        externalId: 'co-1', category: 'water-main-burst', departmentId: 'water-supply', summary: '水管爆裂', address: '城关镇', reporterPhone: '13800138000',
        urgency: 'urgent', major: false, coUnits: ['tourism', 'education'],
      });
      const call = async (seq: number, departmentId: string, result: string) => {
        const attemptId = `${row.id}-a${seq}`;
        await repo.startAttempt({ orderId: row.id, attemptId, seq, script: 'dispatch', contactId: 'c1', number: '70111', attemptOnContact: 0, cursor: { loop: 0, contactIndex: 0 }, departmentId });
        await repo.endAttempt(attemptId, { result, digits: result === 'accepted' ? '1' : '', endedAt: now });
        return attemptId;
      };
      now += 10_000;
      await repo.commitAcceptance({ orderId: row.id, attemptId: await call(1, 'water-supply', 'accepted'), contactId: 'c1', script: 'dispatch', disputed: false, via: 'phone' });
      now += 30_000;
      await repo.commitAcceptance({ orderId: row.id, attemptId: await call(1001, 'tourism', 'accepted'), contactId: 'c1', script: 'dispatch', disputed: false, via: 'phone', coUnit: 'tourism' });
      await call(2001, 'education', 'busy');
      await repo.advanceUnitStatus(row.id, 'education', 'unacknowledged');
      await repo.appendEvent(row.id, 'liandong', 'chain_exhausted', { attempts: 1, departmentId: 'education' });
      now += 600_000;
      await repo.addFeedback(row.id, 'arrived', null, 'api', 'api:department', 'tourism');
      const report = await reportOf(f);
      expect(department(report, 'water-supply')).toMatchObject({ received: 1, accepted: 1, unacknowledged: 0, medianSecondsToAccept: 10, attemptsPerAcceptance: 1, arrivalsReported: 0 });
      expect(department(report, 'tourism')).toMatchObject({ received: 1, accepted: 1, unacknowledged: 0, medianSecondsToAccept: 40, attemptsPerAcceptance: 1, arrivalsReported: 1 });
      expect(department(report, 'education')).toMatchObject({ received: 1, accepted: 0, unacknowledged: 1, acceptanceRate: 0 });
      expect(report.totals).toMatchObject({ received: 1, accepted: 1, unacknowledged: 0, medianSecondsToAccept: 10, arrivalsReported: 0 });
    });
  });
});

describe('the same report on both engines', () => {
  it('gives identical figures, ranks, CSV and text from the same rows on SQLite and PostgreSQL', async () => {
    const build = async (engine: (typeof ENGINES)[number]) => {
      const f = await Fixture.open(engine);
      try {
        const at = (day: number, hour = 1) => `2026-11-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00.000Z`;
        const units = ['water-supply', 'tourism', 'education', 'civil-affairs'];
        for (let n = 0; n < 24; n += 1) {
          const id = `o${String(n).padStart(2, '0')}`;
          const dept = units[n % units.length] as string;
          const accepted = n % 5 !== 0;
          f.order(id, dept, at(1 + (n % 20), n % 24), accepted ? 'surveyed' : 'unacknowledged').attempt(id, accepted ? 'accepted' : 'busy', { contactIndex: n % 3, loop: n % 7 === 0 ? 1 : 0 });
          if (!accepted) f.event(id, 'chain_exhausted');
          else {
            f.acceptance(id, 5 + ((n * 37) % 200) + 0.25, { disputed: n % 6 === 0 });
            if (n % 2 === 0) f.feedback(id, 'arrived', at(1 + (n % 20), n % 24).replace(':00:00', `:${10 + n}:00`)); // 10 + n minutes after
            if (n % 3 !== 2) f.feedback(id, 'completed', at(1 + (n % 20), 23));
            const answer = (k: number) => (['satisfied', 'unsatisfied', 'no_answer', null] as const)[(n + k) % 4] ?? null;
            f.survey(id, 'callback', ['completed', 'partial', 'unreachable', 'opted_out'][n % 4] as string, { attitude: answer(0), speed: answer(1), quality: answer(2) });
            if (n % 4 === 1) f.flag(id).survey(id, 'follow_up', 'scheduled');
            f.deadline(id, 'arrival', n % 5 === 1, n % 5 === 1 ? 'overdue' : 'met');
            if (n % 5 === 1) f.reminderCall(id, 'arrival', 1).reminderCall(id, 'arrival', 2, 'leader').reminderCall(id, 'arrival', 2, 'command_centre');
            if (n % 8 === 3) f.dispute(id, dept, (['open', 'upheld', 'rejected'] as const)[n % 3] ?? 'open');
          }
        }
        const reports = await service(f);
        return { json: await reports.json(Q4, 'en'), csv: await reports.csv(Q4, 'zh-CN'), text: await reports.text(Q4, 'zh-CN') };
      } finally {
        await f.close();
      }
    };
    const [sqlite, postgres] = await Promise.all(ENGINES.map(build));
    expect(sqlite?.json.totals.received).toBe(24);
    expect(postgres).toEqual(sqlite);
  });
});

describe('ranking rule', () => {
  const base = figuresOf([]);
  const fig = (acceptanceRate: number | null, unacknowledged: number, medianSecondsToAccept: number | null, accepted = 1) =>
    ({ ...base, acceptanceRate, unacknowledged, medianSecondsToAccept, accepted });

  it('orders by acceptance rate, then fewer unacknowledged, then the shorter median', () => {
    expect(compareForRanking(fig(1, 0, 50), fig(0.9, 0, 5))).toBeLessThan(0);
    expect(compareForRanking(fig(0.5, 1, 50), fig(0.5, 2, 5))).toBeLessThan(0);
    expect(compareForRanking(fig(0.5, 1, 5), fig(0.5, 1, 50))).toBeLessThan(0);
    expect(compareForRanking(fig(0.5, 1, 5), fig(0.5, 1, 5))).toBe(0);
  });

  it('LIANDONG_RANKING_WEIGHTS is parsed and checked once', () => {
    const problems: string[] = [];
    expect(parseRankingWeights('acceptance=40, completion=20', problems)).toEqual({ acceptance: 40, timeToAccept: 0, arrival: 0, completion: 20, satisfaction: 0 });
    expect(parseRankingWeights(undefined, problems)).toBeNull();
    expect(problems).toEqual([]);
    expect(parseRankingWeights('speed=1', problems)).toBeNull();
    expect(parseRankingWeights('acceptance=0', problems)).toBeNull();
    expect(parseRankingWeights('acceptance=-1', problems)).toBeNull();
    expect(problems).toHaveLength(3);
  });
});
