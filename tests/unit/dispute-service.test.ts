// Jurisdiction disputes on both engines: listed, settled once, and an upheld reassignment sends
// the order to the other unit (the dispatcher is a stand-in: no call is placed here).
import { describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { DisputeService } from '../../src/disputes/dispute-service.js';
import type { HttpError } from '../../src/http/errors.js';
import { ENGINES } from '../support/engines.js';
import { departments, orderStorePerTest } from './order-store-fixture.js';

describe.each(ENGINES)('DisputeService on %s', (engine) => {
  const openStore = orderStorePerTest(engine);

  async function setup() {
    const { store, repo } = await openStore();
    const started: Array<{ orderId: string; department: string; nextAttemptSeq: number }> = [];
    const dispatcher = {
      isLive: () => false,
      start: (order: { id: string; department_id: string }, resume: { nextAttemptSeq: number }) => {
        started.push({ orderId: order.id, department: order.department_id, nextAttemptSeq: resume.nextAttemptSeq });
        return Promise.resolve();
      },
    } as unknown as Dispatcher;
    const reassigned: string[] = [];
    const disputes = new DisputeService({ store, repo, departments, dispatcher, onReassigned: (id) => void reassigned.push(id) });
    const order = async (externalId: string) => {
      const { row } = await repo.createOrder({ externalId, category: 'water-main-burst', departmentId: 'water-supply', summary: 's', address: 'a', reporterPhone: '13800138000', urgency: 'urgent', major: false });
      await repo.startAttempt({ orderId: row.id, attemptId: `${row.id}-a1`, seq: 1, script: 'dispatch', contactId: 'c1', number: '70111', attemptOnContact: 0, cursor: null });
      await repo.commitAcceptance({ orderId: row.id, attemptId: `${row.id}-a1`, contactId: 'c1', script: 'dispatch', disputed: true, via: 'phone' });
      return row;
    };
    return { repo, disputes, started, reassigned, order };
  }

  it('lists open disputes, settles one with a reassignment, and refuses to settle it twice', async () => {
    const { repo, disputes, started, reassigned, order } = await setup();
    const first = await order('d-1');
    const second = await order('d-2');
    expect((await disputes.list({ status: 'open', limit: 10, offset: 0 })).total).toBe(2);
    expect((await disputes.list({ limit: 1, offset: 0 })).disputes).toHaveLength(1);

    const settled = await disputes.settle(first.id, 'water-supply', { decision: 'upheld', reassignTo: 'housing-construction', note: '改派' }, 'api:admin');
    expect(settled).toMatchObject({ orderId: first.id, orderCode: first.code, status: 'upheld', reassignedTo: 'housing-construction', decidedBy: 'api:admin' });
    expect(await repo.getOrder(first.id)).toMatchObject({ department_id: 'housing-construction', status: 'dispatching' });
    expect(started).toEqual([{ orderId: first.id, department: 'housing-construction', nextAttemptSeq: 2 }]);
    expect(reassigned).toEqual([first.id]);
    expect((await repo.events(first.id)).map((e) => e.kind).slice(-2)).toEqual(['dispute_upheld', 'reassigned']);

    await expect(disputes.settle(first.id, 'water-supply', { decision: 'rejected', note: 'again' }, 'api:admin')).rejects.toMatchObject({ statusCode: 409, code: 'dispute_settled' });
    expect((await disputes.list({ status: 'open', limit: 10, offset: 0 })).disputes.map((d) => d.orderId)).toEqual([second.id]);
    expect((await disputes.forOrder(first.id)).map((d) => d.status)).toEqual(['upheld']);
  });

  it('checks everything before it writes', async () => {
    const { repo, disputes, order } = await setup();
    const row = await order('d-3');
    const refused = (s: Parameters<DisputeService['settle']>[2], dept = 'water-supply') => disputes.settle(row.id, dept, s, 'api:admin').then(() => null, (err: HttpError) => err.code);
    expect(await refused({ decision: 'rejected', reassignTo: 'housing-construction', note: 'n' })).toBe('invalid_request');
    expect(await refused({ decision: 'upheld', reassignTo: 'ministry-of-magic', note: 'n' })).toBe('unknown_department');
    expect(await refused({ decision: 'upheld', note: 'n' }, 'power-supply')).toBe('dispute_not_found');
    expect((await disputes.forOrder(row.id)).map((d) => d.status)).toEqual(['open']);
    expect((await repo.getOrder(row.id))?.department_id).toBe('water-supply');
  });
});
