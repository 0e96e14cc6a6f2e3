// Keeps ARI usable, forever. The hot REST calls go through our lean client (ari-rest.ts), the
// rest through ari-client; the event websocket is ours (the
// `ws` library): ari-client's own websocket stops retrying after 10 tries (~2 min), cannot
// cancel a retry it has scheduled (a stopped client reconnects behind our back and competes
// for the app's events), and never pings, so a silently cut connection goes unnoticed.
// Here: capped exponential backoff without end, a ping every few seconds with a deadline,
// and REST calls paced (http.conf's sessionlimit makes excess concurrent requests hang).
import ari, { type AriClient, type AriRawEvent } from 'ari-client';
import WebSocket from 'ws';
import type { Logger } from '../../logging.js';
import { AriRest } from './ari-rest.js';
import type { TelephonyHealth } from '../port.js';

export interface AriConnectionOptions {
  readonly url: string;
  readonly username: string;
  readonly password: string;
  readonly app: string;
  readonly logger: Logger;
  /** First reconnect delay, ms; doubles up to maxBackoffMs. */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Ping interval on the event websocket, ms; no pong within two intervals = connection dead. */
  readonly pingIntervalMs: number;
  /** REST requests in flight at once; further ones queue. */
  readonly maxConcurrentRequests: number;
  /** Milliseconds a REST request of the lean client may take; also how long an idle connection is kept. */
  readonly restTimeoutMs: number;
  readonly onEvent: (event: AriRawEvent) => void;
  /**
   * The event types onEvent uses: asked of Asterisk after each connection (the app's event
   * filter), so it neither serialises nor sends the others (variables set, dialplan steps, …).
   * Until the filter holds, other types arrive and are ignored as before.
   */
  readonly eventTypes: readonly string[];
  /** Called after every (re)connection of the event websocket, for reconciliation. */
  readonly onConnected: () => void;
}

export class AriConnection {
  private client: AriClient | undefined;
  private socket: WebSocket | undefined;
  private state: TelephonyHealth = { connected: false, since: new Date() };
  private readonly healthListeners = new Set<(h: TelephonyHealth) => void>();
  private stopped = false;
  private wake: (() => void) | undefined;
  private inFlight = 0;
  private readonly queue: Array<() => void> = [];
  private loopDone: Promise<void> | undefined;
  private readonly leanRest: AriRest;

  constructor(private readonly opts: AriConnectionOptions) {
    this.leanRest = new AriRest({ url: opts.url, username: opts.username, password: opts.password, maxSockets: opts.maxConcurrentRequests, timeoutMs: opts.restTimeoutMs });
  }

  /** Starts the supervision loop; does not wait for the first connection. */
  start(): void {
    this.loopDone ??= this.loop();
  }

  health(): TelephonyHealth {
    return this.state;
  }

  onHealthChange(listener: (h: TelephonyHealth) => void): () => void {
    this.healthListeners.add(listener);
    return () => this.healthListeners.delete(listener);
  }

  /** Resolves once connected, or rejects after timeoutMs. */
  async waitConnected(timeoutMs: number): Promise<void> {
    if (this.state.connected) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`ARI not connected after ${timeoutMs} ms: ${this.state.lastError ?? 'no answer'}`));
      }, timeoutMs);
      const off = this.onHealthChange((h) => {
        if (h.connected) {
          clearTimeout(timer);
          off();
          resolve();
        }
      });
    });
  }

  /** Runs an ari-client REST call within the concurrency limit. */
  async rest<T>(call: (client: AriClient) => Promise<T>): Promise<T> {
    const client = this.client;
    if (!client || !this.state.connected) throw new Error('ARI is not connected');
    return this.limited(() => call(client));
  }

  /** Runs a hot REST call through the lean client, within the same concurrency limit. */
  async lean<T>(call: (rest: AriRest) => Promise<T>): Promise<T> {
    if (!this.state.connected) throw new Error('ARI is not connected');
    return this.limited(() => call(this.leanRest));
  }

  private async limited<T>(call: () => Promise<T>): Promise<T> {
    if (this.inFlight >= this.opts.maxConcurrentRequests) {
      await new Promise<void>((resolve) => this.queue.push(resolve));
    }
    this.inFlight += 1;
    try {
      return await call();
    } finally {
      this.inFlight -= 1;
      this.queue.shift()?.();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.socket?.terminate();
    this.wake?.();
    await this.loopDone;
    this.leanRest.close();
    this.setHealth(false, 'stopped');
  }

  private async loop(): Promise<void> {
    let delay = this.opts.initialBackoffMs;
    while (!this.stopped) {
      const outcome = await this.runOnce();
      if (this.stopped) break;
      if (outcome === 'ran') delay = this.opts.initialBackoffMs;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      delay = Math.min(delay * 2, this.opts.maxBackoffMs);
    }
  }

  /** One websocket's life: REST client ready, socket open, then wait until it dies. */
  private async runOnce(): Promise<'failed' | 'ran'> {
    try {
      // ari-client loads Asterisk's API description once; its REST calls are stateless after.
      this.client ??= await this.connectRest();
    } catch (err) {
      this.setHealth(false, `ARI REST not reachable: ${describe(err)}`);
      return 'failed';
    }
    const wsUrl = `${this.opts.url.replace(/^http/, 'ws')}/ari/events?app=${encodeURIComponent(this.opts.app)}&subscribeAll=false`;
    const auth = Buffer.from(`${this.opts.username}:${this.opts.password}`).toString('base64');
    const socket = new WebSocket(wsUrl, { headers: { Authorization: `Basic ${auth}` }, handshakeTimeout: 5_000 });
    this.socket = socket;
    let opened = false;
    await new Promise<void>((resolve) => {
      let pingTimer: NodeJS.Timeout | undefined;
      let alive = true;
      this.wake = () => socket.terminate();
      socket.on('open', () => {
        opened = true;
        this.setHealth(true);
        this.opts.onConnected();
        this.filterEvents();
        pingTimer = setInterval(() => {
          if (!alive) {
            this.opts.logger.warn({ pingIntervalMs: this.opts.pingIntervalMs }, 'ARI websocket missed a pong; reconnecting');
            socket.terminate();
            return;
          }
          alive = false;
          socket.ping();
        }, this.opts.pingIntervalMs);
      });
      socket.on('pong', () => {
        alive = true;
      });
      socket.on('message', (data: WebSocket.RawData) => this.handleMessage(data));
      socket.on('error', (err) => this.setHealth(false, `ARI websocket error: ${err.message}`));
      socket.on('close', (code) => {
        clearInterval(pingTimer);
        this.setHealth(false, `ARI websocket closed (code ${code})`);
        resolve();
      });
    });
    if (this.socket === socket) this.socket = undefined;
    return opened ? 'ran' : 'failed';
  }

  /**
   * swagger-client 2.0 (inside ari-client) console.logs a deprecation notice on every connect;
   * while it loads, console.log goes to our debug log instead of the operator's stdout.
   */
  private async connectRest(): Promise<AriClient> {
    const original = console.log;
    console.log = (...args: unknown[]) => this.opts.logger.debug({ args }, 'ari-client console output');
    try {
      return await ari.connect(this.opts.url, this.opts.username, this.opts.password);
    } finally {
      console.log = original;
    }
  }

  private filterEvents(): void {
    const { app, eventTypes } = this.opts;
    this.lean((r) => r.setEventFilter(app, eventTypes)).then(
      () => this.opts.logger.debug({ eventTypes }, 'ARI event filter set'),
      (err: unknown) => this.opts.logger.warn({ err: describe(err) }, 'ARI event filter refused; every event type keeps arriving (and the unused ones are ignored)'),
    );
  }

  private handleMessage(data: WebSocket.RawData): void {
    let event: unknown;
    try {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(new Uint8Array(data));
      const text = bytes.toString('utf8');
      event = JSON.parse(text);
    } catch (err) {
      this.opts.logger.warn({ err: describe(err) }, 'ignored an ARI message that is not JSON');
      return;
    }
    if (typeof event !== 'object' || event === null || typeof (event as { type?: unknown }).type !== 'string') {
      this.opts.logger.warn('ignored an ARI message without a type');
      return;
    }
    try {
      this.opts.onEvent(event as AriRawEvent);
    } catch (err) {
      // A bug in one event's handling must not take the connection down with it.
      this.opts.logger.error({ err: describe(err), type: (event as AriRawEvent).type }, 'ARI event handler failed');
    }
  }

  private setHealth(connected: boolean, lastError?: string): void {
    if (this.state.connected === connected && this.state.lastError === lastError) return;
    const changed = this.state.connected !== connected;
    this.state = { connected, since: changed ? new Date() : this.state.since, ...(lastError ? { lastError } : {}) };
    if (changed) this.opts.logger.info({ connected, reason: lastError }, connected ? 'ARI connected' : 'ARI disconnected');
    for (const l of this.healthListeners) l(this.state);
  }
}

export function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : (JSON.stringify(err) ?? 'unknown error');
}
