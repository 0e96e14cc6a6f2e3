// The subset of ari-client (untyped JavaScript) that the ARI adapter uses. Declared here,
// next to the only code allowed to import it, so nothing else can lean on it by accident.
declare module 'ari-client' {
  import type { EventEmitter } from 'node:events';

  export interface AriChannelJson {
    id: string;
    name: string;
    state: string;
    caller?: { name?: string; number?: string };
  }
  export interface AriRawEvent {
    type: string;
    application?: string;
    timestamp?: string;
    channel?: AriChannelJson;
    peer?: AriChannelJson;
    playback?: { id: string; target_uri: string; state: string; media_uri?: string };
    digit?: string;
    duration_ms?: number;
    cause?: number;
    cause_txt?: string;
    args?: unknown;
    [key: string]: unknown;
  }
  export interface AriClient extends EventEmitter {
    channels: {
      originate(params: Record<string, unknown>): Promise<AriChannelJson>;
      play(params: { channelId: string; media: string | string[]; playbackId?: string; lang?: string }): Promise<unknown>;
      hangup(params: { channelId: string; reason?: string }): Promise<void>;
      answer(params: { channelId: string }): Promise<void>;
      list(): Promise<AriChannelJson[]>;
    };
    playbacks: {
      stop(params: { playbackId: string }): Promise<void>;
    };
    asterisk: {
      getInfo(params?: Record<string, unknown>): Promise<{ system?: { version?: string } }>;
    };
  }
  export function connect(url: string, user: string, pass: string): Promise<AriClient>;
  const ari: { connect: typeof connect };
  export default ari;
}
