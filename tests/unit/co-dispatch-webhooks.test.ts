// Several units on one order: the case events of a co-unit become webhook events that name that
// unit (and reach its subscribers); its `completed` does not announce the order completed, and
// its key 3 announces no dispute (none is opened for a co-unit).
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/db/store.js';
import { OrderRepository } from '../../src/orders/order-repository.js';
import { caseEventTap } from '../../src/webhooks/events.js';
import { ENGINES, openTestStore } from '../support/engines.js';

describe.each(ENGINES)('webhook events of an order with several units on %s', (engine) => {
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  it("name the co-unit for its acceptance, and send nothing for its completion; the lead's are as before", async () => {
    store = await openTestStore(engine);
    const repo = new OrderRepository(store);
    const sent: Array<{ event: string; departmentId: unknown; dept: string | null | undefined; lead: unknown }> = [];
    // The tap reads the order through the view of the transaction that appends the event.
    repo.onEvent = caseEventTap((id, view) => new OrderRepository(view).getOrder(id), (event, payload, dept) => {
      sent.push({ event, departmentId: payload.departmentId, dept, lead: payload.leadDepartmentId });
      return Promise.resolve();
    });
    const { row } = await repo.createOrder({
      externalId: 'co-hooks', category: 'water-main-burst', departmentId: 'water-supply', summary: 's', address: 'a', reporterPhone: '13800138000', urgency: 'urgent', major: false, coUnits: ['tourism'],
    });
    await repo.commitAcceptance({ orderId: row.id, attemptId: null, contactId: null, script: 'dispatch', disputed: true, via: 'feedback', coUnit: 'tourism' });
    await repo.addFeedback(row.id, 'completed', null, 'api', 'api:department', 'tourism');
    expect(sent).toEqual([{ event: 'order.accepted', departmentId: 'tourism', dept: 'tourism', lead: 'water-supply' }]);
    await repo.commitAcceptance({ orderId: row.id, attemptId: null, contactId: null, script: 'dispatch', disputed: false, via: 'feedback' });
    await repo.addFeedback(row.id, 'completed', null, 'api', 'api:department');
    expect(sent.slice(1)).toEqual([
      { event: 'order.accepted', departmentId: 'water-supply', dept: 'water-supply', lead: undefined },
      { event: 'order.completed', departmentId: 'water-supply', dept: 'water-supply', lead: undefined },
    ]);
  });
});
