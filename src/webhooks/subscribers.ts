// Webhook subscribers: the global URL from LIANDONG_WEBHOOK_URL, plus URLs the admin registers
// over the API, each for every department or one, for every event or a list.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { first, rows, run } from '../db/sql.js';
import type { Store } from '../db/store.js';
import type { WebhookEventName } from './events.js';

export interface Subscriber {
  id: string;
  url: string;
  departmentId: string | null;
  events: WebhookEventName[] | null;
  createdAt: string;
  actor: string;
}

interface SubscriberRow {
  id: string;
  url: string;
  department_id: string | null;
  events: string | null;
  created_at: string;
  actor: string;
}

export class SubscriberStore {
  /** `store`: the outbox's store, or the view of the transaction an event is enqueued in. */
  constructor(
    private readonly store: Store,
    private readonly now: () => number,
  ) {}

  async list(): Promise<Subscriber[]> {
    return (await rows(this.store.db, sql<SubscriberRow>`SELECT * FROM webhook_subscribers ORDER BY created_at, id`)).map(view);
  }

  async add(input: { url: string; departmentId: string | null; events: WebhookEventName[] | null }, actor: string): Promise<Subscriber> {
    const id = `sub_${randomBytes(6).toString('hex')}`;
    const row = await this.store.transaction(async (tx) => {
      await run(tx, sql`
        INSERT INTO webhook_subscribers (id, url, department_id, events, created_at, actor)
        VALUES (${id}, ${input.url}, ${input.departmentId}, ${input.events ? JSON.stringify(input.events) : null}, ${new Date(this.now()).toISOString()}, ${actor})`);
      return first(tx, sql<SubscriberRow>`SELECT * FROM webhook_subscribers WHERE id = ${id}`);
    });
    if (!row) throw new Error(`subscriber ${id} not stored`);
    return view(row);
  }

  /** Removes a subscriber; deliveries already queued for it still go out. */
  async remove(id: string): Promise<boolean> {
    return (await this.store.transaction((tx) => run(tx, sql`DELETE FROM webhook_subscribers WHERE id = ${id}`))) > 0;
  }

  /** Who receives an event of this department: the global URL and every matching subscriber. */
  async targetsFor(event: WebhookEventName, departmentId: string | null, globalUrl: string | undefined): Promise<Array<{ subscriberId: string; url: string }>> {
    const out = globalUrl ? [{ subscriberId: 'global', url: globalUrl }] : [];
    for (const s of await this.list()) {
      if (s.departmentId !== null && s.departmentId !== departmentId) continue;
      if (s.events !== null && !s.events.includes(event)) continue;
      out.push({ subscriberId: s.id, url: s.url });
    }
    return out;
  }
}

function view(r: SubscriberRow): Subscriber {
  return { id: r.id, url: r.url, departmentId: r.department_id, events: r.events ? (JSON.parse(r.events) as WebhookEventName[]) : null, createdAt: r.created_at, actor: r.actor };
}
