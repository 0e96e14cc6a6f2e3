// TelephonyPort over Asterisk ARI. The only module that turns ARI events into CallEvents and
// port calls into ARI REST requests; ari-client itself stays inside AriConnection.
import { randomUUID } from 'node:crypto';
import type { AriRawEvent } from 'ari-client';
import { isDialableNumber } from '../../config.js';
import type { Logger } from '../../logging.js';
import { maskPhone } from '../../logging.js';
import { ChannelRegistry } from '../channel-registry.js';
import { buildDialString } from '../dial-string.js';
import { classifyHangup, LOST_CAUSE } from '../hangup-causes.js';
import { collectKeys, playWithBargeIn } from '../keypad.js';
import {
  isKey,
  TelephonyError,
  type CallEvent,
  type CallEventListener,
  type CollectOptions,
  type CollectResult,
  type HangupCause,
  type InboundCall,
  type MediaUri,
  type OriginateRequest,
  type PlayResult,
  type TelephonyHealth,
  type TelephonyPort,
  type Unsubscribe,
} from '../port.js';
import { AriConnection, describe } from './ari-connection.js';

export interface AriTelephonyOptions {
  readonly ari: { readonly url: string; readonly username: string; readonly password: string; readonly app: string };
  readonly dialTemplate: string;
  readonly callerId: string;
  readonly logger: Logger;
  /** Reconnect backoff, ms: first delay and cap. */
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Event websocket ping interval, ms; a dead connection is noticed within two intervals. */
  readonly pingIntervalMs?: number;
  /** REST requests in flight at once (http.conf sessionlimit is far above this). */
  readonly maxConcurrentRequests?: number;
  /** Milliseconds an ARI REST request may take (and an idle kept-alive connection is kept). */
  readonly restTimeoutMs?: number;
}

/** ms: a REST answer of a local Asterisk takes milliseconds; 10 s means it is stuck. Below http.conf session_inactivity (30 s). */
const DEFAULT_REST_TIMEOUT_MS = 10_000;
/** The ARI event types `route` turns into CallEvents (keep in step with its switch). */
const ROUTED_EVENT_TYPES = ['StasisStart', 'StasisEnd', 'ChannelStateChange', 'ChannelDtmfReceived', 'ChannelDestroyed', 'ChannelHangupRequest', 'PlaybackFinished'] as const;
const CHANNEL_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
const VAR_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const MEDIA_RE = /^(sound|digits|number|characters|tone|recording):[^\s,]+$/;

export class AriTelephony implements TelephonyPort {
  private readonly registry = new ChannelRegistry();
  private readonly playbackChannel = new Map<string, string>();
  private readonly inboundListeners = new Set<(call: InboundCall) => void>();
  /**
   * Inbound channels entered Stasis from the dialplan: the app is not subscribed to them, so
   * Asterisk sends no ChannelDestroyed, only ChannelHangupRequest (with the cause) and StasisEnd.
   * Value: the cause of the hangup request, once seen.
   */
  private readonly inbound = new Map<string, HangupCause | undefined>();
  /** Channel ids this process has asked Asterisk to create; a repeat is refused before any REST call. */
  private readonly placed = new Set<string>();
  private readonly connection: AriConnection;
  private readonly log: Logger;

  constructor(private readonly opts: AriTelephonyOptions) {
    this.log = opts.logger.child({ component: 'ari' });
    this.connection = new AriConnection({
      ...opts.ari,
      logger: this.log,
      initialBackoffMs: opts.initialBackoffMs ?? 200,
      maxBackoffMs: opts.maxBackoffMs ?? 2_000,
      pingIntervalMs: opts.pingIntervalMs ?? 2_000,
      maxConcurrentRequests: opts.maxConcurrentRequests ?? 32,
      restTimeoutMs: opts.restTimeoutMs ?? DEFAULT_REST_TIMEOUT_MS,
      onEvent: (e) => this.route(e),
      eventTypes: ROUTED_EVENT_TYPES,
      onConnected: () => void this.reconcile(),
    });
  }

  /** Starts connecting in the background; `waitConnected` to block until ARI answers. */
  start(): void {
    this.connection.start();
  }

  waitConnected(timeoutMs: number): Promise<void> {
    return this.connection.waitConnected(timeoutMs);
  }

  health(): TelephonyHealth {
    return this.connection.health();
  }

  onHealthChange(listener: (health: TelephonyHealth) => void): Unsubscribe {
    return this.connection.onHealthChange(listener);
  }

  async originate(request: OriginateRequest, listener: CallEventListener): Promise<void> {
    const { channelId } = request;
    if (!CHANNEL_ID_RE.test(channelId)) throw new TelephonyError('invalid_request', 'channelId must be 1-64 of A-Z a-z 0-9 . _ -');
    const dial = buildDialString(this.opts.dialTemplate, request.number);
    const callerId = request.callerId ?? this.opts.callerId;
    if (callerId && !isDialableNumber(callerId) && !/^\+?[0-9]{1,20}$/.test(callerId)) {
      throw new TelephonyError('invalid_request', 'callerId must be digits with an optional leading +');
    }
    const timeout = Math.round(request.ringTimeoutSeconds);
    if (!(timeout >= 1 && timeout <= 600)) throw new TelephonyError('invalid_request', 'ringTimeoutSeconds must be 1-600');
    const variables = checkVariables(request.variables ?? {});
    if (this.placed.has(channelId)) throw new TelephonyError('duplicate_channel', `channel ${channelId} was already placed`);
    if (!this.connection.health().connected) throw new TelephonyError('not_connected', 'Asterisk ARI is not connected');

    const log = this.log.child({ channelId });
    // Listener first: events of this channel may arrive before the REST answer does.
    this.placed.add(channelId);
    this.registry.register(channelId, listener);
    log.debug({ to: maskPhone(request.number), ringTimeoutSeconds: timeout }, 'originate');
    try {
      await this.connection.lean((r) =>
        r.originate(channelId, {
          endpoint: dial,
          app: this.opts.ari.app,
          appArgs: 'outbound',
          // A Local channel (simulated phones) talks G.711 µ-law like the carrier's trunk, not Asterisk's default slin.
          ...(dial.startsWith('Local/') ? { otherChannelId: `${channelId}-peer`, formats: 'ulaw' } : {}),
          ...(callerId ? { callerId } : {}),
          timeout,
        }, variables),
      );
    } catch (err) {
      const message = describe(err);
      // A repeated id is refused by Asterisk (409): the call was placed before, do not forget it.
      if (/already exists/i.test(message)) throw new TelephonyError('duplicate_channel', `Asterisk refused a second channel ${channelId}`);
      this.placed.delete(channelId);
      if (!this.registry.endedCause(channelId)) this.registry.forget(channelId);
      log.warn({ err: message }, 'originate refused');
      throw new TelephonyError(this.connection.health().connected ? 'asterisk_error' : 'not_connected', `originate failed: ${message}`);
    }
  }

  onInboundCall(listener: (call: InboundCall) => void): Unsubscribe {
    this.inboundListeners.add(listener);
    return () => this.inboundListeners.delete(listener);
  }

  async answer(channelId: string): Promise<void> {
    try {
      await this.connection.lean((r) => r.answer(channelId));
    } catch (err) {
      throw new TelephonyError(/not found/i.test(describe(err)) ? 'no_such_channel' : 'asterisk_error', `answer failed: ${describe(err)}`);
    }
  }

  subscribe(channelId: string, listener: CallEventListener): Unsubscribe {
    return this.registry.register(channelId, listener);
  }

  play(channelId: string, media: readonly MediaUri[], options?: { readonly bargeIn?: boolean }): Promise<PlayResult> {
    if (media.length === 0 || !media.every((m) => MEDIA_RE.test(m))) {
      return Promise.resolve({ status: 'failed', reason: 'media must be one or more URIs like sound:name or sound:http://host/x.wav' });
    }
    const playbackId = randomUUID();
    this.playbackChannel.set(playbackId, channelId);
    const done = playWithBargeIn(
      this.registry,
      channelId,
      playbackId,
      {
        start: (id) => this.connection.lean((r) => r.play(channelId, id, media)),
        stop: (id) => this.connection.lean((r) => r.stopPlayback(id)).catch((err: unknown) => {
          if (!/not found/i.test(describe(err))) throw err; // already finished: fine
        }),
      },
      options?.bargeIn ?? true,
      (reason) => this.log.warn({ channelId, playbackId, reason }, 'could not stop playback after a key'),
    );
    return done.finally(() => this.playbackChannel.delete(playbackId));
  }

  collect(channelId: string, options: CollectOptions): Promise<CollectResult> {
    return collectKeys(this.registry, channelId, options);
  }

  async prompt(channelId: string, media: readonly MediaUri[], options: CollectOptions): Promise<CollectResult> {
    if (options.keepKeysPressedBefore && this.registry.hasKeys(channelId)) return this.collect(channelId, options); // typed ahead: no need to hear it
    if (!options.keepKeysPressedBefore) this.registry.clearKeys(channelId); // keys pressed before this prompt answered an earlier one
    const played = await this.play(channelId, media, { bargeIn: true });
    if (played.status === 'failed') return { status: 'failed', digits: '', reason: played.reason };
    return this.collect(channelId, options);
  }

  async hangup(channelId: string, reason: 'normal' | 'busy' | 'congestion' = 'normal'): Promise<void> {
    if (this.registry.endedCause(channelId)) return;
    try {
      await this.connection.lean((r) => r.hangup(channelId, reason));
    } catch (err) {
      if (/not found/i.test(describe(err))) return; // already gone
      throw new TelephonyError('asterisk_error', `hangup failed: ${describe(err)}`);
    }
  }

  async listChannelIds(): Promise<string[]> {
    const channels = await this.connection.rest((c) => c.channels.list());
    return channels.map((ch) => ch.id);
  }

  async close(): Promise<void> {
    await this.connection.stop();
  }

  /** ARI event → CallEvent for the channel it concerns. Unknown channels are ignored. */
  private route(e: AriRawEvent): void {
    const at = e.timestamp ? new Date(e.timestamp) : new Date();
    const channelId = e.channel?.id;
    let target: string | undefined = channelId;
    let event: CallEvent | undefined;
    switch (e.type) {
      case 'StasisStart':
        if (channelId && !this.placed.has(channelId) && Array.isArray(e.args) && e.args[0] === 'inbound') {
          this.acceptInbound(channelId, e, at);
          return;
        }
        event = { type: 'answered', at };
        break;
      case 'ChannelStateChange':
        // Not 'Up' → answered: Asterisk can report the state change before StasisStart, and a
        // play sent in between is refused (422, channel not in Stasis). Answered means in Stasis.
        if (e.channel?.state === 'Ringing') event = { type: 'ringing', at };
        break;
      case 'ChannelDtmfReceived':
        if (isKey(e.digit)) event = { type: 'key', key: e.digit, at };
        else this.log.warn({ channelId, digit: String(e.digit).slice(0, 4) }, 'ignored a DTMF event with an unknown digit');
        break;
      case 'ChannelDestroyed':
        this.inbound.delete(channelId ?? '');
        event = { type: 'hangup', cause: classifyHangup(e.cause, e.cause_txt), at };
        break;
      case 'ChannelHangupRequest':
        if (channelId && this.inbound.has(channelId) && typeof e.cause === 'number') this.inbound.set(channelId, classifyHangup(e.cause, e.cause_txt));
        return;
      case 'StasisEnd':
        if (!channelId || !this.inbound.has(channelId)) return;
        event = { type: 'hangup', cause: this.inbound.get(channelId) ?? classifyHangup(16, 'Normal Clearing'), at };
        this.inbound.delete(channelId);
        break;
      case 'PlaybackFinished': {
        const id = e.playback?.id;
        target = id ? this.playbackChannel.get(id) : undefined;
        if (id) event = { type: 'playback_finished', playbackId: id, outcome: e.playback?.state === 'failed' ? 'failed' : 'done', at };
        break;
      }
      default:
        return;
    }
    if (!target || !event) return;
    this.registry.dispatch(target, event);
  }

  /** A call from the dialplan (liandong-stasis context): route its events, tell the listeners. */
  private acceptInbound(channelId: string, e: AriRawEvent, at: Date): void {
    const args = e.args as unknown[];
    const caller = e.channel?.caller?.number ?? '';
    const dialled = typeof args[1] === 'string' ? args[1] : '';
    const call: InboundCall = {
      channelId,
      callerNumber: /^\+?[0-9]{1,20}$/.test(caller) ? caller : '',
      dialled: /^\+?[0-9]{1,20}$/.test(dialled) ? dialled : '',
      at,
    };
    this.registry.register(channelId);
    this.inbound.set(channelId, undefined);
    this.log.debug({ channelId, from: call.callerNumber ? maskPhone(call.callerNumber) : 'unknown', dialled: call.dialled }, 'inbound call');
    if (this.inboundListeners.size === 0) {
      this.log.warn({ channelId }, 'inbound call with no handler; hanging up');
      this.hangup(channelId).catch((err: unknown) => this.log.warn({ channelId, err: describe(err) }, 'could not hang up an unhandled inbound call'));
      return;
    }
    for (const l of this.inboundListeners) l(call);
  }

  /** After a (re)connection: every channel we followed and had not seen end is settled now (events were missed). */
  private async reconcile(): Promise<void> {
    const live = this.registry.liveChannelIds();
    if (live.length === 0) return;
    try {
      const present = new Set(await this.listChannelIds());
      // A channel Asterisk still has may have had keys, playback ends or a hang-up request of
      // ours (refused while disconnected) that we never saw: nobody can go on from a half-seen
      // keypad, so it is hung up and reported lost too (its attempt ends `interrupted` and is
      // retried per policy); otherwise it would stay up as an orphan.
      const missed = { ...LOST_CAUSE, text: 'events missed while disconnected from Asterisk; hung up' };
      // Reported first: the hang-up's own ChannelDestroyed (cause 16) must not pass for the callee's.
      for (const id of live) this.registry.dispatch(id, { type: 'hangup', cause: present.has(id) ? missed : LOST_CAUSE, at: new Date() });
      await Promise.all(
        live.filter((id) => present.has(id)).map((id) =>
          this.connection.lean((r) => r.hangup(id, 'normal')).catch((err: unknown) => {
            if (!/not found/i.test(describe(err))) this.log.warn({ channelId: id, err: describe(err) }, 'could not hang up a channel after reconnecting');
          }),
        ),
      );
    } catch (err) {
      this.log.warn({ err: describe(err) }, 'reconciliation after reconnect failed; will retry on next connection');
    }
  }
}

function checkVariables(vars: Readonly<Record<string, string>>): Record<string, string> {
  for (const [k, v] of Object.entries(vars)) {
    if (!VAR_NAME_RE.test(k) || /[\r\n\0]/.test(v)) throw new TelephonyError('invalid_request', `channel variable ${k.slice(0, 64)} is not allowed`);
  }
  return { ...vars };
}
