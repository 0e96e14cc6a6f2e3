// Webhook subscribers: the global URL from LIANDONG_WEBHOOK_URL, plus URLs the admin registers
// over the API, each for every department or one, for every event or a list.
import { randomBytes } from 'node:crypto';
import type { Db } from '../db/database.js';
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
  constructor(
    private readonly db: Db,
    private readonly now: () => number,
  ) {}

  list(): Subscriber[] {
    return (this.db.prepare('SELECT * FROM webhook_subscribers ORDER BY created_at, id').all() as SubscriberRow[]).map(view);
  }

  add(input: { url: string; departmentId: string | null; events: WebhookEventName[] | null }, actor: string): Subscriber {
    const id = `sub_${randomBytes(6).toString('hex')}`;
    this.db
      .prepare('INSERT INTO webhook_subscribers (id, url, department_id, events, created_at, actor) VALUES (?, ?, ?, ?, ?, ?)')
      .run(id, input.url, input.departmentId, input.events ? JSON.stringify(input.events) : null, new Date(this.now()).toISOString(), actor);
    return view(this.db.prepare('SELECT * FROM webhook_subscribers WHERE id = ?').get(id) as SubscriberRow);
  }

  /** Removes a subscriber; deliveries already queued for it still go out. */
  remove(id: string): boolean {
    return this.db.prepare('DELETE FROM webhook_subscribers WHERE id = ?').run(id).changes > 0;
  }

  /** Who receives an event of this department: the global URL and every matching subscriber. */
  targetsFor(event: WebhookEventName, departmentId: string | null, globalUrl: string | undefined): Array<{ subscriberId: string; url: string }> {
    const out = globalUrl ? [{ subscriberId: 'global', url: globalUrl }] : [];
    for (const s of this.list()) {
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
