// The reminder loop's figures for /metrics: deadlines being chased, and overdue orders still unmet.
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.js';
import { OrderRepository, type NewOrder } from '../../src/orders/order-repository.js';
import { ReminderRepository } from '../../src/reminders/reminder-repository.js';

const ORDER: NewOrder = {
  externalId: 'r-1', category: 'water-main-burst', departmentId: 'water-supply', summary: 's', address: 'a',
  reporterPhone: '13800138000', urgency: 'urgent', major: false,
};

describe('ReminderRepository.openCounts', () => {
  it('counts missed deadlines while chased, and overdue orders until their feedback comes', () => {
    const now = Date.parse('2026-11-23T08:00:00Z');
    const db = openDatabase(':memory:');
    const orders = new OrderRepository(db, () => now);
    const reminders = new ReminderRepository(db, () => now);
    const a = orders.createOrder(ORDER).row.id;
    const b = orders.createOrder({ ...ORDER, externalId: 'r-2' }).row.id;
    reminders.ensureDeadline(a, 'arrival', 60, now);
    reminders.ensureDeadline(b, 'arrival', 60, now);
    reminders.ensureDeadline(b, 'completion', 600, now);
    expect(reminders.openCounts()).toEqual({ chasing: 0, overdueOrders: 0 }); // none missed yet

    reminders.startRound(`${a}-arrival`);
    reminders.startRound(`${b}-arrival`);
    expect(reminders.openCounts()).toEqual({ chasing: 2, overdueOrders: 0 });

    reminders.markOverdue(`${b}-arrival`, 2, false);
    expect(reminders.openCounts()).toEqual({ chasing: 1, overdueOrders: 1 });

    reminders.meet(b, ['arrival']);
    reminders.meet(a, ['arrival']);
    expect(reminders.openCounts()).toEqual({ chasing: 0, overdueOrders: 0 });
  });
});
