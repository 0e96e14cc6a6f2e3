// A passive look at Asterisk from outside the service: an ARI application subscribed to all
// channels (subscribeAll) with an event filter, so only channel creation, destruction and DTMF
// cross the websocket. Times are Asterisk's own event timestamps (ms). Attached in both the
// controller and the baseline runs, so its small cost to Asterisk is the same in both.
import WebSocket from 'ws';
import type { Config } from '../../src/config.js';

export interface ChannelTrace {
  readonly id: string;
  readonly name: string;
  /** Epoch ms. */
  readonly createdAt: number;
  destroyedAt?: number;
  cause?: number;
  readonly dtmf: Array<{ readonly digit: string; readonly at: number }>;
}

interface RawEvent {
  type: string;
  timestamp?: string;
  digit?: string;
  cause?: number;
  channel?: { id: string; name: string };
}

export class AriObserver {
  readonly channels = new Map<string, ChannelTrace>();
  private socket: WebSocket | undefined;
  private readonly app = `liandong-bench-observer-${process.pid}`;
  private readonly auth: string;

  constructor(private readonly ari: Config['ari']) {
    this.auth = `Basic ${Buffer.from(`${ari.username}:${ari.password}`).toString('base64')}`;
  }

  async start(): Promise<void> {
    const url = `${this.ari.url.replace(/^http/, 'ws')}/ari/events?app=${this.app}&subscribeAll=true`;
    const socket = new WebSocket(url, { headers: { Authorization: this.auth } });
    this.socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.on('message', (data: WebSocket.RawData) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(new Uint8Array(data));
      this.onEvent(JSON.parse(bytes.toString('utf8')) as RawEvent);
    });
    const res = await fetch(`${this.ari.url}/ari/applications/${this.app}/eventFilter`, {
      method: 'PUT',
      headers: { authorization: this.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ allowed: [{ type: 'ChannelCreated' }, { type: 'ChannelDestroyed' }, { type: 'ChannelDtmfReceived' }] }),
    });
    if (res.status !== 200) throw new Error(`ARI event filter refused: ${res.status} ${await res.text()}`);
  }

  close(): void {
    this.socket?.close();
  }

  /** Channels whose id or name matches, created at or after `since` (epoch ms). */
  select(match: (c: ChannelTrace) => boolean, since = 0): ChannelTrace[] {
    return [...this.channels.values()].filter((c) => c.createdAt >= since && match(c));
  }

  private onEvent(e: RawEvent): void {
    const ch = e.channel;
    if (!ch) return;
    const at = e.timestamp ? Date.parse(e.timestamp) : Date.now();
    if (e.type === 'ChannelCreated') this.channels.set(ch.id, { id: ch.id, name: ch.name, createdAt: at, dtmf: [] });
    const trace = this.channels.get(ch.id);
    if (!trace) return;
    if (e.type === 'ChannelDestroyed') {
      trace.destroyedAt = at;
      if (typeof e.cause === 'number') trace.cause = e.cause;
    }
    if (e.type === 'ChannelDtmfReceived' && typeof e.digit === 'string') trace.dtmf.push({ digit: e.digit, at });
  }
}
