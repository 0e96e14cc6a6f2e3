// What the API does with orders, on both engines (the dispatcher is a stand-in: no call placed):
// create and its idempotence, feedback that counts as the acceptance, acknowledge, cancel.
import { describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../src/dispatch/dispatcher.js';
import { OrderService } from '../../src/orders/order-service.js';
import { ENGINES } from '../support/engines.js';
import { departments, orderStorePerTest } from './order-store-fixture.js';
const INPUT = { externalId: 'svc-1', category: 'water-main-burst', summary: '水管爆裂', address: '城关镇', reporterPhone: '13800138000', urgency: 'urgent' as const };

describe.each(ENGINES)('OrderService on %s', (engine) => {
  const openStore = orderStorePerTest(engine);

  async function setup() {
    const { repo } = await openStore();
    const calls: string[] = [];
    const dispatcher = {
      begin: (o: { id: string }) => void calls.push(`begin ${o.id}`),
      acceptedElsewhere: (id: string, source: string, unit?: string) => void calls.push(`accepted ${id} ${source}${unit ? ` ${unit}` : ''}`),
      cancel: () => Promise.resolve(false),
    } as unknown as Dispatcher;
    const service = new OrderService(repo, departments, dispatcher);
    const completed: string[] = [];
    service.onCompleted = (id) => void completed.push(id);
    return { repo, service, calls, completed };
  }

  it('creates once per externalId, refuses the same id for another order, and lists the units', async () => {
    const { service, calls } = await setup();
    const first = await service.create({ ...INPUT, departmentIds: ['water-supply', 'tourism'] });
    expect(first.created).toBe(true);
    expect(await service.create({ ...INPUT, departmentIds: ['water-supply', 'tourism'] })).toMatchObject({ created: false, order: { id: first.order.id } });
    await expect(service.create({ ...INPUT, departmentIds: ['water-supply'] })).rejects.toMatchObject({ statusCode: 409, code: 'external_id_conflict' });
    await expect(service.create({ ...INPUT, externalId: 'svc-2', category: 'no-such-category' })).rejects.toMatchObject({ statusCode: 400 });
    expect(calls).toEqual([`begin ${first.order.id}`]);
    expect(await service.departmentsOf(first.order.id)).toEqual(['water-supply', 'tourism']);
    expect((await service.list({ limit: 10, offset: 0 })).total).toBe(1);
    await expect(service.departmentsOf('o-missing')).rejects.toMatchObject({ statusCode: 404 });
  });

  it('feedback while dispatching is the acceptance; completed completes; the case record shows it all', async () => {
    const { service, calls, completed } = await setup();
    const { order } = await service.create(INPUT);
    const arrived = await service.feedback(order.id, 'arrived', '到了', 'api', 'api:department');
    expect(arrived).toMatchObject({ kind: 'arrived', department_id: 'water-supply' });
    expect(calls).toContain(`accepted ${order.id} http`);
    await service.feedback(order.id, 'completed', null, 'api', 'api:department');
    expect(completed).toEqual([order.id]);
    const record = await service.caseRecord(order.id);
    expect(record).toMatchObject({ status: 'completed', acknowledgement: { via: 'feedback', late: false }, surveys: [], disputes: [] });
    expect(record.feedback.map((f) => f.kind)).toEqual(['arrived', 'completed']);
  });

  it('acknowledge is idempotent; cancel of a machine not running cancels the stored order', async () => {
    const { service } = await setup();
    const { order } = await service.create(INPUT);
    expect(await service.acknowledge(order.id, 'api:department')).toMatchObject({ status: 'accepted' });
    expect(await service.acknowledge(order.id, 'api:department')).toMatchObject({ status: 'accepted' });
    await expect(service.cancel(order.id, 'no')).rejects.toMatchObject({ statusCode: 409, code: 'not_cancellable' });
    const other = (await service.create({ ...INPUT, externalId: 'svc-3' })).order;
    expect(await service.cancel(other.id, '报警人撤销')).toMatchObject({ status: 'cancelled' });
    await expect(service.feedback(other.id, 'arrived', null, 'api', 'api:department')).rejects.toMatchObject({ statusCode: 409, code: 'order_cancelled' });
  });
});
