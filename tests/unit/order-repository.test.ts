import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.js';
import { OrderRepository, type NewOrder } from '../../src/orders/order-repository.js';

const ORDER: NewOrder = {
  externalId: 'x-1', category: 'water-main-burst', departmentId: 'water-supply', summary: 's', address: 'a',
  reporterPhone: '13800138000', urgency: 'urgent', major: false,
};

function setup() {
  let now = Date.parse('2026-11-23T08:00:00Z');
  const repo = new OrderRepository(openDatabase(':memory:'), () => now);
  const { row } = repo.createOrder(ORDER);
  const attempt = (seq: number) => {
    const attemptId = `${row.id}-a${seq}`;
    repo.startAttempt({ orderId: row.id, attemptId, seq, script: 'dispatch', contactId: `c${seq}`, number: '70111', attemptOnContact: 0, cursor: { loop: 0, contactIndex: seq - 1 } });
    return attemptId;
  };
  return { repo, row, attempt, advance: (ms: number) => (now += ms) };
}

describe('OrderRepository', () => {
  it('is idempotent on externalId and gives six-digit codes', () => {
    const { repo, row } = setup();
    const again = repo.createOrder(ORDER);
    expect(again.created).toBe(false);
    expect(again.row.id).toBe(row.id);
    expect(row.code).toMatch(/^[1-9][0-9]{5}$/);
  });

  it('the first dispatch acceptance wins; a second is kept as late; seconds to accept are measured', () => {
    const { repo, row, attempt, advance } = setup();
    const a1 = attempt(1);
    const a2 = attempt(2);
    advance(42_000);
    expect(repo.commitAcceptance({ orderId: row.id, attemptId: a1, contactId: 'c1', script: 'dispatch', disputed: true, via: 'phone' })).toEqual({ late: false });
    expect(repo.getOrder(row.id)?.status).toBe('accepted');
    expect(repo.commitAcceptance({ orderId: row.id, attemptId: a2, contactId: 'c2', script: 'dispatch', disputed: false, via: 'phone' })).toEqual({ late: true });
    const acks = repo.acknowledgements(row.id);
    expect(acks.map((a) => [a.contact_id, a.late, a.disputed])).toEqual([['c1', 0, 1], ['c2', 1, 0]]);
    expect(acks[0]?.seconds_to_accept).toBe(42);
  });

  it('a repeated commit for the same attempt is not doubled', () => {
    const { repo, row, attempt } = setup();
    const a1 = attempt(1);
    repo.commitAcceptance({ orderId: row.id, attemptId: a1, contactId: 'c1', script: 'dispatch', disputed: false, via: 'phone' });
    expect(repo.commitAcceptance({ orderId: row.id, attemptId: a1, contactId: 'c1', script: 'dispatch', disputed: false, via: 'phone' })).toEqual({ late: false });
    expect(repo.acknowledgements(row.id)).toHaveLength(1);
  });

  it('an acceptance after the order was cancelled is recorded late and does not reopen it', () => {
    const { repo, row, attempt } = setup();
    const a1 = attempt(1);
    repo.advanceStatus(row.id, 'cancelled');
    expect(repo.commitAcceptance({ orderId: row.id, attemptId: a1, contactId: 'c1', script: 'dispatch', disputed: false, via: 'phone' })).toEqual({ late: true });
    expect(repo.getOrder(row.id)?.status).toBe('cancelled');
  });

  it('alarm and leader confirmations never accept the order', () => {
    const { repo, row, attempt } = setup();
    const a1 = attempt(1);
    expect(repo.commitAcceptance({ orderId: row.id, attemptId: a1, contactId: 'leader-a', script: 'major', disputed: false, via: 'phone' })).toEqual({ late: false });
    expect(repo.getOrder(row.id)?.status).toBe('dispatching');
  });

  it('status only moves forward; cancelled is final', () => {
    const { repo, row } = setup();
    repo.addFeedback(row.id, 'arrived', null, 'api', 'api:department');
    expect(repo.getOrder(row.id)?.status).toBe('arrived');
    repo.advanceStatus(row.id, 'accepted'); // a late machine report
    expect(repo.getOrder(row.id)?.status).toBe('arrived');
    repo.addFeedback(row.id, 'progress', 'on it', 'api', 'api:department');
    expect(repo.getOrder(row.id)?.status).toBe('arrived');
    repo.addFeedback(row.id, 'completed', null, 'phone', 'phone:05770001234');
    expect(repo.getOrder(row.id)?.status).toBe('completed');
    repo.advanceStatus(row.id, 'cancelled');
    repo.advanceStatus(row.id, 'dispatching');
    expect(repo.getOrder(row.id)?.status).toBe('cancelled');
  });

  it('an attempt ends once; a second end is ignored', () => {
    const { repo, row, attempt } = setup();
    const a1 = attempt(1);
    repo.endAttempt(a1, { result: 'busy', digits: '', endedAt: Date.now(), cause: { code: 17, text: 'User busy' } });
    repo.endAttempt(a1, { result: 'interrupted', digits: '', endedAt: Date.now() });
    expect(repo.attempts(row.id)[0]).toMatchObject({ result: 'busy', cause_code: 17 });
    expect(repo.openAttempts(row.id)).toEqual([]);
  });
});

describe('OrderRepository: several units on one order', () => {
  function coSetup() {
    let now = Date.parse('2026-11-23T08:00:00Z');
    const repo = new OrderRepository(openDatabase(':memory:'), () => now);
    const { row } = repo.createOrder({ ...ORDER, externalId: 'x-co', coUnits: ['urban-management', 'fire-rescue'] });
    return { repo, row, advance: (ms: number) => (now += ms) };
  }

  it('stores the co-units in order, each dispatching, and lists the order under every unit', () => {
    const { repo, row } = coSetup();
    expect(repo.coUnits(row.id).map((u) => [u.department_id, u.unit_index, u.status])).toEqual([['urban-management', 1, 'dispatching'], ['fire-rescue', 2, 'dispatching']]);
    expect(repo.dispatchingCoUnits().map((u) => u.department_id)).toEqual(['urban-management', 'fire-rescue']);
    for (const unit of ['water-supply', 'urban-management', 'fire-rescue']) expect(repo.listOrders({ departmentId: unit, limit: 10, offset: 0 }).total).toBe(1);
    expect(repo.listOrders({ departmentId: 'power-supply', limit: 10, offset: 0 }).total).toBe(0);
  });

  it("a co-unit's acceptance is its own: its status moves, the order's (the lead's) does not; a second one is late", () => {
    const { repo, row, advance } = coSetup();
    const attemptId = `${row.id}-u1-a1001`;
    repo.startAttempt({ orderId: row.id, attemptId, seq: 1001, script: 'dispatch', contactId: 'u1', number: '70111', attemptOnContact: 0, cursor: { loop: 0, contactIndex: 0 }, departmentId: 'urban-management' });
    advance(12_000);
    expect(repo.commitAcceptance({ orderId: row.id, attemptId, contactId: 'u1', script: 'dispatch', disputed: false, via: 'phone', coUnit: 'urban-management' })).toEqual({ late: false });
    expect(repo.coUnit(row.id, 'urban-management')?.status).toBe('accepted');
    expect(repo.getOrder(row.id)?.status).toBe('dispatching');
    expect(repo.commitAcceptance({ orderId: row.id, attemptId: null, contactId: null, script: 'dispatch', disputed: false, via: 'feedback', coUnit: 'urban-management' })).toEqual({ late: true });
    const acks = repo.acknowledgements(row.id);
    expect(acks.map((a) => [a.department_id, a.late, a.seconds_to_accept])).toEqual([['urban-management', 0, 12], ['urban-management', 1, 12]]);
    expect(repo.attempts(row.id)[0]?.department_id).toBe('urban-management');
  });

  it("a co-unit's feedback names it and moves only its status; the lead's completed completes the order", () => {
    const { repo, row } = coSetup();
    const f = repo.addFeedback(row.id, 'completed', null, 'api', 'api:department', 'fire-rescue');
    expect(f.department_id).toBe('fire-rescue');
    expect(repo.coUnit(row.id, 'fire-rescue')?.status).toBe('completed');
    expect(repo.getOrder(row.id)?.status).toBe('dispatching');
    expect(repo.addFeedback(row.id, 'completed', null, 'api', 'api:department').department_id).toBe('water-supply');
    expect(repo.getOrder(row.id)?.status).toBe('completed');
  });

  it('numbers each unit in its own block of attempt seqs', () => {
    const { repo, row } = coSetup();
    const start = (seq: number) => repo.startAttempt({ orderId: row.id, attemptId: `${row.id}-a${seq}`, seq, script: 'dispatch', contactId: 'c', number: '70111', attemptOnContact: 0, cursor: null });
    expect([repo.maxSeq(row.id), repo.maxSeq(row.id, 1), repo.maxSeq(row.id, 2)]).toEqual([0, 1000, 2000]);
    [1, 2, 1001, 2001, 2002].forEach(start);
    expect([repo.maxSeq(row.id), repo.maxSeq(row.id, 1), repo.maxSeq(row.id, 2)]).toEqual([2, 1001, 2002]);
  });
});
