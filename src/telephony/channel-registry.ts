// Routes call events by channel id and keeps, per channel, the keys pressed that no collector
// has taken yet (so a key that barges into a prompt is the first digit collected after it).
// Independent of ARI: the adapter feeds it typed CallEvents.
import type { CallEvent, CallEventListener, HangupCause, Key, Unsubscribe } from './port.js';

interface ChannelEntry {
  readonly listeners: Set<CallEventListener>;
  readonly keys: Key[];
  ended?: HangupCause;
  answered: boolean;
}

/** How long an ended channel is remembered, ms: late operations on it then answer "hangup". */
const ENDED_MEMORY_MS = 120_000;

export class ChannelRegistry {
  private readonly channels = new Map<string, ChannelEntry>();
  private readonly endedAt = new Map<string, number>();

  has(channelId: string): boolean {
    return this.channels.has(channelId);
  }

  /** Creates the entry (before originate) and adds a listener. */
  register(channelId: string, listener?: CallEventListener): Unsubscribe {
    let entry = this.channels.get(channelId);
    if (!entry) {
      entry = { listeners: new Set(), keys: [], answered: false };
      this.channels.set(channelId, entry);
    }
    if (!listener) return () => undefined;
    const listeners = entry.listeners;
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  forget(channelId: string): void {
    this.channels.delete(channelId);
    this.endedAt.delete(channelId);
  }

  /** Channels we placed or followed that have not ended. */
  liveChannelIds(): string[] {
    return [...this.channels].filter(([, e]) => !e.ended).map(([id]) => id);
  }

  endedCause(channelId: string): HangupCause | undefined {
    return this.channels.get(channelId)?.ended;
  }

  isAnswered(channelId: string): boolean {
    return this.channels.get(channelId)?.answered ?? false;
  }

  /** Takes the oldest buffered key, if any. */
  takeKey(channelId: string): Key | undefined {
    return this.channels.get(channelId)?.keys.shift();
  }

  /** True when keys are buffered that no collector has taken yet. */
  hasKeys(channelId: string): boolean {
    return (this.channels.get(channelId)?.keys.length ?? 0) > 0;
  }

  clearKeys(channelId: string): void {
    const entry = this.channels.get(channelId);
    if (entry) entry.keys.length = 0;
  }

  /** Delivers an event to the channel's listeners. Returns false for channels we do not know. */
  dispatch(channelId: string, event: CallEvent): boolean {
    const entry = this.channels.get(channelId);
    if (!entry) return false;
    if (entry.ended) return true; // nothing happens on a channel after its hangup
    if (event.type === 'key') entry.keys.push(event.key);
    if (event.type === 'answered') {
      if (entry.answered) return true;
      entry.answered = true;
    }
    if (event.type === 'hangup') {
      entry.ended = event.cause;
      this.endedAt.set(channelId, Date.now());
      this.sweep();
    }
    for (const listener of [...entry.listeners]) listener(event);
    if (event.type === 'hangup') entry.listeners.clear();
    return true;
  }

  private sweep(): void {
    const cutoff = Date.now() - ENDED_MEMORY_MS;
    for (const [id, at] of this.endedAt) {
      if (at > cutoff) break; // insertion order is end order
      this.forget(id);
    }
  }
}
