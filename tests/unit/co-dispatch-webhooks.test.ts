// Several units on one order: the case events of a co-unit become webhook events that name that
// unit (and reach its subscribers); its `completed` does not announce the order completed, and
// its key 3 announces no dispute (none is opened for a co-unit).
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.js';
import { OrderRepository } from '../../src/orders/order-repository.js';
import { caseEventTap } from '../../src/webhooks/events.js';

describe('webhook events of an order with several units', () => {
  it("name the co-unit for its acceptance, and send nothing for its completion; the lead's are as before", () => {
    const repo = new OrderRepository(openDatabase(':memory:'));
    const sent: Array<{ event: string; departmentId: unknown; dept: string | null | undefined; lead: unknown }> = [];
    repo.onEvent = caseEventTap((id) => repo.getOrder(id), (event, payload, dept) => sent.push({ event, departmentId: payload.departmentId, dept, lead: payload.leadDepartmentId }));
    const { row } = repo.createOrder({
      externalId: 'co-hooks', category: 'water-main-burst', departmentId: 'water-supply', summary: 's', address: 'a', reporterPhone: '13800138000', urgency: 'urgent', major: false, coUnits: ['tourism'],
    });
    repo.commitAcceptance({ orderId: row.id, attemptId: null, contactId: null, script: 'dispatch', disputed: true, via: 'feedback', coUnit: 'tourism' });
    repo.addFeedback(row.id, 'completed', null, 'api', 'api:department', 'tourism');
    expect(sent).toEqual([{ event: 'order.accepted', departmentId: 'tourism', dept: 'tourism', lead: 'water-supply' }]);
    repo.commitAcceptance({ orderId: row.id, attemptId: null, contactId: null, script: 'dispatch', disputed: false, via: 'feedback' });
    repo.addFeedback(row.id, 'completed', null, 'api', 'api:department');
    expect(sent.slice(1)).toEqual([
      { event: 'order.accepted', departmentId: 'water-supply', dept: 'water-supply', lead: undefined },
      { event: 'order.completed', departmentId: 'water-supply', dept: 'water-supply', lead: undefined },
    ]);
  });
});
