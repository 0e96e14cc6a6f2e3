// Keeps one ARI client connected, forever. ari-client reconnects its websocket by itself but
// gives up after 10 tries (~2 min); then, or when the first connect fails, we build a new
// client with a capped exponential backoff. Also paces REST calls: Asterisk's http.conf
// sessionlimit makes excess concurrent requests hang with no error.
import ari, { type AriClient, type AriRawEvent } from 'ari-client';
import type { Logger } from '../../logging.js';
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
  /** REST requests in flight at once; further ones queue. */
  readonly maxConcurrentRequests: number;
  readonly onEvent: (event: AriRawEvent) => void;
  /** Called after every (re)connection of the event websocket, for reconciliation. */
  readonly onConnected: () => void;
}

export class AriConnection {
  private client: AriClient | undefined;
  private state: TelephonyHealth = { connected: false, since: new Date() };
  private readonly healthListeners = new Set<(h: TelephonyHealth) => void>();
  private stopped = false;
  private wake: (() => void) | undefined;
  private inFlight = 0;
  private readonly queue: Array<() => void> = [];
  private loopDone: Promise<void> | undefined;

  constructor(private readonly opts: AriConnectionOptions) {}

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

  /** Runs a REST call with the current client, within the concurrency limit. */
  async rest<T>(call: (client: AriClient) => Promise<T>): Promise<T> {
    const client = this.client;
    if (!client || !this.state.connected) throw new Error('ARI is not connected');
    if (this.inFlight >= this.opts.maxConcurrentRequests) {
      await new Promise<void>((resolve) => this.queue.push(resolve));
    }
    this.inFlight += 1;
    try {
      return await call(client);
    } finally {
      this.inFlight -= 1;
      this.queue.shift()?.();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.closeClient();
    await this.loopDone;
    this.setHealth(false, 'stopped');
  }

  private async loop(): Promise<void> {
    let delay = this.opts.initialBackoffMs;
    while (!this.stopped) {
      const lost = await this.connectOnce();
      if (this.stopped) break;
      if (lost === 'ran') delay = this.opts.initialBackoffMs;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, delay);
      });
      delay = Math.min(delay * 2, this.opts.maxBackoffMs);
    }
  }

  /** One client's life: connect, start the app, wait until ari-client gives up. */
  private async connectOnce(): Promise<'failed' | 'ran'> {
    const log = this.opts.logger;
    let client: AriClient;
    try {
      client = await ari.connect(this.opts.url, this.opts.username, this.opts.password);
    } catch (err) {
      this.setHealth(false, `connect failed: ${describe(err)}`);
      return 'failed';
    }
    if (this.stopped) return 'failed';
    this.client = client;
    const gaveUp = new Promise<void>((resolve) => {
      client.on('WebSocketMaxRetries', (err: unknown) => {
        log.warn({ err: describe(err) }, 'ARI websocket gave up reconnecting; building a new client');
        resolve();
      });
      this.wake = resolve;
    });
    client.on('error', (err: unknown) => log.error({ err: describe(err) }, 'ARI client error'));
    client.on('WebSocketReconnecting', (err: unknown) => this.setHealth(false, `websocket lost: ${describe(err)}`));
    client.on('WebSocketConnected', () => {
      this.setHealth(true);
      this.opts.onConnected();
    });
    client.on('*', (event: AriRawEvent) => this.opts.onEvent(event));
    try {
      // Resolves on the first websocket open; WebSocketConnected has fired by then.
      await client.start(this.opts.app);
    } catch (err) {
      this.setHealth(false, `websocket failed: ${describe(err)}`);
      this.closeClient();
      return 'failed';
    }
    await gaveUp;
    this.closeClient();
    this.setHealth(false, 'reconnecting');
    return 'ran';
  }

  private closeClient(): void {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    client.removeAllListeners();
    // Keep an error listener: a late socket error must not become an uncaught exception.
    client.on('error', () => undefined);
    try {
      client.stop();
    } catch (err) {
      this.opts.logger.debug({ err: describe(err) }, 'closing an ARI client that had no open websocket');
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
  return typeof err === 'string' ? err : JSON.stringify(err) ?? 'unknown error';
}
