// The live feed behind the console's board: one poller per service reads new rows of the
// append-only order_events table by id every 500 ms and fans each touched order's board row out
// to every connected console. Polling the table (rather than hooking the services) sees every
// writer — the dispatcher, the inbound feedback line, the survey service, another process —
// and costs one indexed query per tick, and only while a console is connected.
import type { Store } from '../db/store.js';
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
  /**
   * Subscriptions and reads of the table run one after another: a console that subscribes gets
   * its catch-up up to the cursor, and the next read broadcasts from there — nothing missed or
   * repeated, although each step awaits the store.
   */
  private turn: Promise<unknown> = Promise.resolve();
  /** A timer tick while a read is still running is skipped, not queued behind it. */
  private reading = false;

  constructor(
    private readonly store: Store,
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

  private inTurn<T>(step: () => Promise<T>): Promise<T> {
    const result = this.turn.then(step);
    this.turn = result.then(() => undefined, () => undefined); // the caller of inTurn gets the failure
    return result;
  }

  /**
   * Adds a listener. With `after` (the last event id the console saw), the orders touched since
   * are returned to send first, with the position they end at; then every broadcast follows,
   * with nothing missed or repeated: the next read runs after this step, and it awaits the store
   * before it broadcasts, so the caller has sent the catch-up by then.
   */
  subscribe(listener: FeedListener, after?: number): Promise<{ catchUp: FeedMessage[]; position: number; unsubscribe: () => void }> {
    return this.inTurn(async () => {
      if (this.listeners.size === 0 && this.timer === undefined) {
        this.cursor = await latestEventId(this.store.db);
        this.timer = setInterval(() => this.onTimer(), this.intervalMs);
      }
      const catchUp = after !== undefined && after < this.cursor ? await this.messages(await eventsBetween(this.store.db, after, this.cursor, CATCH_UP)) : [];
      this.listeners.add(listener);
      return {
        catchUp,
        position: this.cursor,
        unsubscribe: () => {
          this.listeners.delete(listener);
          if (this.listeners.size === 0) this.stop();
        },
      };
    });
  }

  close(): void {
    this.listeners.clear();
    this.stop();
  }

  private onTimer(): void {
    if (this.reading) return;
    this.reading = true;
    // tick never rejects: it logs a failed read and retries on the next tick.
    void this.tick().finally(() => {
      this.reading = false;
    });
  }

  /** One read of the table; public so tests can step the feed without waiting. */
  tick(): Promise<void> {
    return this.inTurn(() => this.readOnce());
  }

  private async readOnce(): Promise<void> {
    let messages: FeedMessage[];
    try {
      const latest = await latestEventId(this.store.db);
      if (latest <= this.cursor) return;
      const events = await eventsBetween(this.store.db, this.cursor, latest, BATCH);
      messages = await this.messages(events);
      this.cursor = events.at(-1)?.id ?? latest;
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
  private async messages(events: readonly FeedEvent[]): Promise<FeedMessage[]> {
    const touched = new Map<string, { eventId: number; kinds: string[] }>();
    for (const e of events) {
      const t = touched.get(e.orderId) ?? { eventId: 0, kinds: [] };
      t.eventId = e.id;
      t.kinds.push(e.kind);
      touched.set(e.orderId, t);
    }
    const rows = new Map((await boardRows(this.store.db, [...touched.keys()])).map((r) => [r.id, r]));
    return [...touched]
      .flatMap(([id, t]) => {
        const order = rows.get(id);
        return order ? [{ eventId: t.eventId, kinds: t.kinds, order }] : [];
      })
      .sort((a, b) => a.eventId - b.eventId);
  }
}
