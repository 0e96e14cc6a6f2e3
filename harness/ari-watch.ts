// Watches every channel an Asterisk creates, whoever creates it: an ARI event websocket with
// subscribeAll (its own Stasis app name, so it takes no calls). The cluster tests and the demo
// count ChannelCreated per channel id on every cell's Asterisk: an attempt id created twice
// would be one person called twice for one attempt.
import WebSocket from 'ws';
import type { Config } from '../src/config.js';

export interface ChannelWatch {
  /** Channel id → times Asterisk announced its creation. */
  readonly created: ReadonlyMap<string, number>;
  /** Epoch ms of each creation, in order (pacing checks: starts per second). */
  readonly createdAt: ReadonlyArray<{ readonly id: string; readonly at: number }>;
  close(): void;
}

export async function watchChannels(config: Pick<Config, 'ari'>, app: string): Promise<ChannelWatch> {
  const url = new URL(config.ari.url.replace(/^http/, 'ws'));
  url.pathname = '/ari/events';
  url.search = new URLSearchParams({ app, subscribeAll: 'true', api_key: `${config.ari.username}:${config.ari.password}` }).toString();
  const created = new Map<string, number>();
  const createdAt: Array<{ id: string; at: number }> = [];
  const socket = new WebSocket(url);
  socket.on('message', (data: Buffer) => {
    const event = JSON.parse(data.toString('utf8')) as { type?: string; channel?: { id?: string } };
    const id = event.channel?.id;
    if (event.type !== 'ChannelCreated' || typeof id !== 'string') return;
    created.set(id, (created.get(id) ?? 0) + 1);
    createdAt.push({ id, at: Date.now() });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { created, createdAt, close: () => socket.close() };
}
