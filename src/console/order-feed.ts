// The live feed behind the console's board: one poller per service reads new rows of the
// append-only order_events table by id every 500 ms and fans each touched order's board row out
// to every connected console. Polling the table (rather than hooking the services) sees every
// writer — the dispatcher, the inbound feedback line, the survey service, another process —
// and costs one indexed query per tick, and only while a console is connected.
import type { Db } from '../db/database.js';
import type { Logger } from '../logging.js';
import { boardRows, eventsBetween, latestEventId, type BoardRow, type FeedEvent } from './board.js';

export interface FeedMessage {
  /** The newest case event of this order in the batch; the SSE id a reconnecting console resumes from. */
  readonly eventId: number;
  /** The kinds of this order's new events, oldest first (e.g. attempt_started, keypad, acceptance_committed). */
  readonly kinds: readonly string[];
  /** The order's whole board row as it is now. */
  readonly order: BoardRow;
}

export type FeedListener = (messages: readonly FeedMessage[]) => void;

/** How often the table is read, ms. */
export const FEED_INTERVAL_MS = 500;
/** Events read per tick; a burst beyond this is read over the next ticks. */
const BATCH = 500;
/** Events a reconnecting console may catch up on; older gaps need a board reload. */
const CATCH_UP = 500;

export class OrderFeed {
  private cursor = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<FeedListener>();
  /** Why the last read failed, while it keeps failing (logged once per new reason). */
  private failure: string | null = null;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly intervalMs = FEED_INTERVAL_MS,
  ) {}

  /** The event id broadcasts continue after. */
  get position(): number {
    return this.cursor;
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /**
   * Adds a listener. With `after` (the last event id the console saw), the orders touched since
   * are returned to send first; then every broadcast follows, with nothing missed or repeated.
   */
  subscribe(listener: FeedListener, after?: number): { catchUp: FeedMessage[]; unsubscribe: () => void } {
    if (this.listeners.size === 0) {
      this.cursor = latestEventId(this.db);
      this.timer = setInterval(() => this.tick(), this.intervalMs);
    }
    const catchUp = after !== undefined && after < this.cursor ? this.messages(eventsBetween(this.db, after, this.cursor, CATCH_UP)) : [];
    this.listeners.add(listener);
    return {
      catchUp,
      unsubscribe: () => {
        this.listeners.delete(listener);
        if (this.listeners.size === 0) this.stop();
      },
    };
  }

  close(): void {
    this.listeners.clear();
    this.stop();
  }

  /** One read of the table; public so tests can step the feed without waiting. */
  tick(): void {
    let messages: FeedMessage[];
    try {
      const latest = latestEventId(this.db);
      if (latest <= this.cursor) return;
      const events = eventsBetween(this.db, this.cursor, latest, BATCH);
      this.cursor = events.at(-1)?.id ?? latest;
      messages = this.messages(events);
      if (this.failure !== null) this.log.info({ component: 'order-feed' }, 'order feed reads the database again');
      this.failure = null;
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (reason !== this.failure) this.log.error({ component: 'order-feed', err }, 'order feed cannot read order_events; retrying every tick');
      this.failure = reason;
      return;
    }
    for (const listener of this.listeners) {
      try {
        listener(messages);
      } catch (err) {
        this.log.error({ component: 'order-feed', err }, 'a feed listener threw; it stays subscribed');
      }
    }
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One message per touched order, ordered by its newest event id. */
  private messages(events: readonly FeedEvent[]): FeedMessage[] {
    const touched = new Map<string, { eventId: number; kinds: string[] }>();
    for (const e of events) {
      const t = touched.get(e.orderId) ?? { eventId: 0, kinds: [] };
      t.eventId = e.id;
      t.kinds.push(e.kind);
      touched.set(e.orderId, t);
    }
    const rows = new Map(boardRows(this.db, [...touched.keys()]).map((r) => [r.id, r]));
    return [...touched]
      .flatMap(([id, t]) => {
        const order = rows.get(id);
        return order ? [{ eventId: t.eventId, kinds: t.kinds, order }] : [];
      })
      .sort((a, b) => a.eventId - b.eventId);
  }
}
