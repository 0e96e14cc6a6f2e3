// Time-compressed policy dry runs: the real order and call machines, fake phones, virtual clock.
import { afterAll, describe, expect, it } from 'vitest';
import { DryRunError, formatDryRun, planDryRun, simulateDryRun } from '../../src/admin/policy-dry-run.js';
import { SIM_NUMBERS } from '../../src/admin/policy-live.js';
import { BEHAVIOURS, SIMULATED_TIMING, VirtualClock } from '../../src/admin/policy-simulation.js';
import { clock } from '../../src/admin/policy-timeline.js';
import { loadCatalog } from '../../src/departments/catalog.js';
import { DepartmentStore } from '../../src/departments/store.js';
import { openTestStore } from '../support/engines.js';

const db = await openTestStore('sqlite');
afterAll(() => db.close());
const store = await DepartmentStore.open(db, loadCatalog());
const plan = (req: Omit<Parameters<typeof planDryRun>[1], 'departmentId'> & { departmentId?: string }) =>
  planDryRun(store, { departmentId: 'water-supply', ...req }, 'en', 'Asia/Shanghai');
const at = (r: Awaited<ReturnType<typeof simulateDryRun>>, pattern: RegExp): number[] => r.timeline.filter((l) => pattern.test(l.text)).map((l) => l.seconds);

describe('simulated dry run', () => {
  it('plays the default policy through to the alarm call when nobody answers', async () => {
    // Default policy: 2 tries per contact, 60 s apart, 30 s ringing, one extra pass 120 s later.
    const r = await simulateDryRun(plan({}));
    expect(r.status).toBe('unacknowledged');
    expect(r.calls).toBe(13); // 3 contacts × 2 tries × 2 passes, then the alarm call
    expect(at(r, /^call \d+ rings/)).toEqual([0, 90, 120, 210, 240, 330, 480, 570, 600, 690, 720, 810, 840]);
    expect(at(r, /^CHAIN EXHAUSTED after 12 call/)).toEqual([840]);
    expect(r.timeline.find((l) => l.text.startsWith('call 13 rings'))?.text).toMatch(/: alarm, the order is unacknowledged$/);
    expect(at(r, /110 command centre confirmed the alarm/)).toEqual([840 + SIMULATED_TIMING.answerAfterSeconds + SIMULATED_TIMING.keyAfterSeconds + SIMULATED_TIMING.confirmationSeconds]);
    expect(r.timeline.map((l) => l.text).join('\n')).not.toMatch(/0837001250\d/); // numbers are masked
  });

  it('shows a proposed policy before it is switched on, leaving the stored one alone', async () => {
    const before = store.policyOf('water-supply');
    const r = await simulateDryRun(plan({ policy: { attemptsPerContact: 1, chainLoops: 0, ringTimeoutSeconds: 20 }, phones: { backup: 'accept' } }));
    expect(r.policy).toEqual({ ...before, attemptsPerContact: 1, chainLoops: 0, ringTimeoutSeconds: 20 });
    expect(store.policyOf('water-supply')).toEqual(before);
    expect(r.status).toBe('accepted');
    expect(r.timeline.map((l) => `${clock(l.seconds)} ${l.text}`)).toEqual([
      '+0:00 order created; the department\'s chain starts',
      '+0:00 call 1 rings 值班室 (083****2501): try 1 of 1 on this contact, pass 1 of 1',
      '+0:20 call 1 ends: no answer (cause 19)',
      '+0:20 next contact: 备班值班员',
      '+0:20 call 2 rings 备班值班员 (083****2502): try 1 of 1 on this contact, pass 1 of 1',
      '+0:25   备班值班员 answers and hears the order',
      '+0:30   备班值班员 presses 1: accepts',
      '+0:42 call 2 ends: accepted',
      '+0:42 ORDER ACCEPTED by 备班值班员',
      '+0:42 dispatch over: accepted',
    ]);
  });

  it('replays the menu on no key, records a dispute, and moves on after a hang-up', async () => {
    const r = await simulateDryRun(plan({ policy: { attemptsPerContact: 1, maxReplays: 1 }, phones: { 'duty-room': 'no_input', backup: 'hangup', leader: 'dispute' } }));
    const texts = r.timeline.map((l) => l.text);
    expect(texts.filter((t) => t.includes('no key from 值班室'))).toHaveLength(2);
    expect(texts).toContain('call 1 ends: answered but pressed no valid key');
    expect(texts).toContain('call 2 ends: hung up before choosing (cause 16)');
    expect(texts).toContain('ORDER ACCEPTED by 分管领导 (jurisdiction dispute recorded)');
  });

  it('calls every county leader at once for a major incident', async () => {
    const r = await simulateDryRun(plan({ major: true, phones: { 'duty-room': 'accept', 'group-leader': 'busy' }, policy: { attemptsPerContact: 1 } }));
    expect(at(r, /^call \d+ rings/).filter((s) => s === 0)).toHaveLength(1 + 4);
    expect(r.timeline.map((l) => l.text)).toEqual(expect.arrayContaining([expect.stringMatching(/did not confirm$/), expect.stringMatching(/^4 county leader\(s\) called at once$/)]));
    expect(Object.keys(r.phones)).toContain('group-leader');
    expect(formatDryRun(r).at(-1)).toMatch(/^result: accepted after \d+:\d\d \(\d+ call\(s\)\)$/);
  });

  it.each([
    ['an unknown department', { departmentId: 'ministry-of-magic' }, 'department_not_found', 'there is no member department "ministry-of-magic"'],
    ['a policy out of bounds', { policy: { attemptsPerContact: 0 } }, 'invalid_request', 'policy.attemptsPerContact: must be a whole number from 1 to 10'],
    ['a phone that is not in the chain', { phones: { stranger: 'accept' } }, 'invalid_request', 'phones.stranger: not a contact of water-supply'],
    ['an unknown behaviour', { phones: { backup: 'answers-eventually' } }, 'invalid_request', 'phones.backup: must be one of'],
    ['a bad roster time', { at: 'yesterday' }, 'invalid_request', 'at: not an ISO date-time'],
  ])('refuses %s', (_label, req, code, message) => {
    expect(() => plan(req)).toThrow(DryRunError);
    try {
      plan(req);
    } catch (err) {
      expect((err as DryRunError).code).toBe(code);
      expect((err as Error).message).toContain(message);
    }
  });
});

describe('virtual clock and simulated phones', () => {
  it('jumps to the earliest timer, first-set first on ties, skipping cleared ones', () => {
    const c = new VirtualClock();
    const ran: string[] = [];
    c.setTimeout(() => ran.push('b@5'), 5000);
    c.setTimeout(() => ran.push('a@1'), 1000);
    const cleared = c.setTimeout(() => ran.push('never'), 2000);
    c.setTimeout(() => ran.push('c@5'), 5000);
    c.clearTimeout(cleared);
    while (c.runNext()) ran.push(`t=${c.now()}`);
    expect(ran).toEqual(['a@1', 't=1000', 'b@5', 't=5000', 'c@5', 't=5000']);
  });

  it('has a sim-phones number for every behaviour, all distinct', () => {
    expect(Object.keys(SIM_NUMBERS).sort()).toEqual([...BEHAVIOURS].sort());
    expect(new Set(Object.values(SIM_NUMBERS)).size).toBe(BEHAVIOURS.length);
  });
});
