// Playback with barge-in and digit collection with named timeouts, on top of the channel
// registry. No ARI here: the adapter passes functions that start and stop a playback, so this
// logic is unit-tested with fakes and fake timers.
import type { ChannelRegistry } from './channel-registry.js';
import type { CallEvent, CollectOptions, CollectResult, PlayResult } from './port.js';

export interface PlaybackControl {
  /** Asks Asterisk to start playing; resolves when the request is accepted. */
  start(playbackId: string): Promise<void>;
  /** Asks Asterisk to stop; a playback that already ended is not an error. */
  stop(playbackId: string): Promise<void>;
}

/**
 * When the far end hangs up mid-prompt, Asterisk reports the playback as failed a moment
 * before the channel's hangup; wait this long (ms) for the hangup before calling it a failure.
 */
export const PLAYBACK_FAILURE_HANGUP_GRACE_MS = 1000;

export function playWithBargeIn(
  registry: ChannelRegistry,
  channelId: string,
  playbackId: string,
  control: PlaybackControl,
  bargeIn: boolean,
  onStopFailed: (reason: string) => void,
): Promise<PlayResult> {
  if (registry.endedCause(channelId)) return Promise.resolve({ status: 'hangup' });
  return new Promise<PlayResult>((resolve) => {
    let settled = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const finish = (result: PlayResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(graceTimer);
      unsubscribe();
      resolve(result);
    };
    const unsubscribe = registry.register(channelId, (event: CallEvent) => {
      if (event.type === 'playback_finished' && event.playbackId === playbackId) {
        if (event.outcome === 'done') finish({ status: 'finished' });
        else graceTimer ??= setTimeout(() => finish({ status: 'failed', reason: 'playback failed' }), PLAYBACK_FAILURE_HANGUP_GRACE_MS);
      } else if (event.type === 'key' && bargeIn) {
        finish({ status: 'interrupted', key: event.key });
        control.stop(playbackId).catch((err: unknown) => onStopFailed(String(err)));
      } else if (event.type === 'hangup') {
        finish({ status: 'hangup' });
      }
    });
    control.start(playbackId).catch((err: unknown) => {
      if (registry.endedCause(channelId)) finish({ status: 'hangup' });
      else finish({ status: 'failed', reason: err instanceof Error ? err.message : String(err) });
    });
  });
}

export function collectKeys(registry: ChannelRegistry, channelId: string, options: CollectOptions): Promise<CollectResult> {
  validateCollectOptions(options);
  return new Promise<CollectResult>((resolve) => {
    let digits = '';
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (status: 'complete' | 'timeout' | 'hangup'): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unsubscribe();
      resolve({ status, digits });
    };
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => finish('timeout'), digits.length === 0 ? options.firstDigitTimeoutMs : options.interDigitTimeoutMs);
    };
    const drain = (): void => {
      for (let key = registry.takeKey(channelId); key !== undefined && !settled; key = registry.takeKey(channelId)) {
        if (options.terminator !== undefined && key === options.terminator) return finish('complete');
        digits += key;
        if (digits.length >= options.maxDigits) return finish('complete');
      }
      if (!settled) arm();
    };
    const unsubscribe = registry.register(channelId, (event) => {
      if (event.type === 'key') drain();
      else if (event.type === 'hangup') finish('hangup');
    });
    if (registry.endedCause(channelId)) {
      // Keys pressed before the hangup still count; then we stop.
      drain();
      finish('hangup');
      return;
    }
    drain();
  });
}

function validateCollectOptions(o: CollectOptions): void {
  const ok =
    Number.isInteger(o.maxDigits) && o.maxDigits >= 1 && o.maxDigits <= 64 &&
    Number.isFinite(o.firstDigitTimeoutMs) && o.firstDigitTimeoutMs > 0 &&
    Number.isFinite(o.interDigitTimeoutMs) && o.interDigitTimeoutMs > 0;
  if (!ok) throw new RangeError('collect: maxDigits 1-64 and positive timeouts (ms) are required');
}
