// The one narrow, typed port between liandong and the telephone network.
// Machines and services speak only this; the ARI adapter (src/telephony/ari/) implements it
// and is the only code that knows ari-client exists.

/** A DTMF key as Asterisk reports it. */
export type Key = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9' | '*' | '#' | 'A' | 'B' | 'C' | 'D';
export const KEYS: readonly Key[] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '#', 'A', 'B', 'C', 'D'];
export function isKey(value: unknown): value is Key {
  return typeof value === 'string' && (KEYS as readonly string[]).includes(value);
}

/** What a Q.850 hangup cause means for a dispatch attempt. */
export type HangupKind = 'normal' | 'busy' | 'no_answer' | 'congestion' | 'unreachable' | 'rejected' | 'lost' | 'unknown';
export interface HangupCause {
  /** Q.850 cause code as Asterisk reports it (16 normal, 17 busy, 19 no answer, 34 congestion, …); -1 when the channel vanished unseen. */
  readonly code: number;
  readonly text: string;
  readonly kind: HangupKind;
}

export type CallEvent =
  | { readonly type: 'ringing'; readonly at: Date }
  | { readonly type: 'answered'; readonly at: Date }
  | { readonly type: 'key'; readonly key: Key; readonly at: Date }
  | { readonly type: 'playback_finished'; readonly playbackId: string; readonly outcome: 'done' | 'failed'; readonly at: Date }
  | { readonly type: 'hangup'; readonly cause: HangupCause; readonly at: Date };
export type CallEventListener = (event: CallEvent) => void;
export type Unsubscribe = () => void;

export interface OriginateRequest {
  /** Our own id for this attempt's channel; a repeat is refused by Asterisk (409), so no call is placed twice. */
  readonly channelId: string;
  /** Validated digits with an optional leading +; turned into a dial string by the configured template. */
  readonly number: string;
  /** Caller id shown to the callee; digits with an optional leading +. Defaults to the configured one. */
  readonly callerId?: string;
  /** How long the phone may ring before we give up, in seconds. */
  readonly ringTimeoutSeconds: number;
  /** Channel variables, ASCII letters/digits/_ names; values without control characters. */
  readonly variables?: Readonly<Record<string, string>>;
}

/** Media URIs as Asterisk understands them: `sound:name`, `sound:http://…/x.wav`, `digits:123`, `tone:…`. */
export type MediaUri = string;

/** Typed playback outcome, after CyCoreSystems' ext/play. */
export type PlayResult =
  | { readonly status: 'finished' }
  | { readonly status: 'interrupted'; readonly key: Key }
  | { readonly status: 'hangup' }
  | { readonly status: 'failed'; readonly reason: string };

export interface CollectOptions {
  /** Stop collecting once this many keys are in. */
  readonly maxDigits: number;
  /** Milliseconds to wait for the first key after the prompt ends. */
  readonly firstDigitTimeoutMs: number;
  /** Milliseconds to wait between keys once one has been pressed. */
  readonly interDigitTimeoutMs: number;
  /** A key that ends input early and is not part of the result, e.g. '#'. */
  readonly terminator?: Key;
  /**
   * prompt() only: keys pressed before it (between the answer and the first prompt) count as
   * answers to it, and when there are any the prompt is not played. Default: they are dropped.
   */
  readonly keepKeysPressedBefore?: boolean;
}

/** Typed keypad outcome: what came in, and why collection stopped. */
export type CollectResult =
  | { readonly status: 'complete'; readonly digits: string }
  | { readonly status: 'timeout'; readonly digits: string }
  | { readonly status: 'hangup'; readonly digits: string }
  | { readonly status: 'failed'; readonly digits: string; readonly reason: string };

/** A call that came in through the dialplan into our Stasis app (e.g. the feedback line). */
export interface InboundCall {
  readonly channelId: string;
  /** Caller id number if it is digits with an optional leading +, else ''. */
  readonly callerNumber: string;
  /** The number dialled (the extension in the liandong-stasis context), digits or ''. */
  readonly dialled: string;
  readonly at: Date;
}

export interface TelephonyHealth {
  /** True while the event connection to Asterisk is up. */
  readonly connected: boolean;
  readonly since: Date;
  readonly lastError?: string;
}

/** A failure the caller can turn into a state with a reason. */
export class TelephonyError extends Error {
  constructor(
    readonly code: 'not_connected' | 'duplicate_channel' | 'invalid_number' | 'invalid_request' | 'no_such_channel' | 'asterisk_error',
    message: string,
  ) {
    super(message);
    this.name = 'TelephonyError';
  }
}

export interface TelephonyPort {
  health(): TelephonyHealth;
  onHealthChange(listener: (health: TelephonyHealth) => void): Unsubscribe;
  /**
   * Place a call. `listener` is registered before the originate is sent, so no event of
   * this channel can be missed. Resolves once Asterisk has accepted the request (the phone
   * may still be ringing); rejects with a TelephonyError otherwise.
   */
  originate(request: OriginateRequest, listener: CallEventListener): Promise<void>;
  /** Inbound calls entering our Stasis app; their events then route like any channel's. */
  onInboundCall(listener: (call: InboundCall) => void): Unsubscribe;
  /** Answers an inbound channel. */
  answer(channelId: string): Promise<void>;
  /** Route a channel's events to a listener (e.g. after a restart). */
  subscribe(channelId: string, listener: CallEventListener): Unsubscribe;
  /** Play media in order; with `bargeIn` a key stops playback and is reported. */
  play(channelId: string, media: readonly MediaUri[], options?: { readonly bargeIn?: boolean }): Promise<PlayResult>;
  /** Collect keys already pressed during a barge-in prompt plus new ones, with named timeouts. */
  collect(channelId: string, options: CollectOptions): Promise<CollectResult>;
  /** Play a prompt with barge-in, then collect: the usual IVR step. */
  prompt(channelId: string, media: readonly MediaUri[], options: CollectOptions): Promise<CollectResult>;
  /** Hang up; resolves also when the channel is already gone. */
  hangup(channelId: string, reason?: 'normal' | 'busy' | 'congestion'): Promise<void>;
  /** Ids of the channels that currently exist in Asterisk (for reconciliation after restarts). */
  listChannelIds(): Promise<string[]>;
  close(): Promise<void>;
}
