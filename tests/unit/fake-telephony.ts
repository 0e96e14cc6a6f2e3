// A scripted TelephonyPort for the service tests (surveys, reminder rounds; no Asterisk): every
// call is answered 5 ms after its originate, a hang-up ends it 1 ms later, and each test says
// what a prompt answers. Shared so the services' tests script one telephone, not one each.
import type { Prompts } from '../../src/prompts/index.js';
import type { CallEventListener, CollectResult, TelephonyPort } from '../../src/telephony/port.js';

/** Prompts whose every media is one beep (the tests never play them). */
export const beepPrompts = { media: () => Promise.resolve(['sound:beep']) } as unknown as Prompts;

/** The callee keys 1. */
export const KEYED_1: CollectResult = { status: 'complete', digits: '1' };

export interface ScriptedTelephone {
  readonly port: TelephonyPort;
  /** Channel ids in the order they were originated. */
  readonly originated: string[];
  /** Channels hung up through this port, with the time they were asked for. */
  readonly hungUp: Array<{ channelId: string; at: number }>;
}

/** A telephone whose calls are answered at once and whose prompts answer as `prompt` says. */
export function scriptedTelephone(prompt: (channelId: string) => Promise<CollectResult>): ScriptedTelephone {
  const listeners = new Map<string, Set<CallEventListener>>();
  const originated: string[] = [];
  const hungUp: ScriptedTelephone['hungUp'] = [];
  const emit = (c: string, e: Parameters<CallEventListener>[0]) => {
    for (const l of [...(listeners.get(c) ?? [])]) l(e);
  };
  const port: TelephonyPort = {
    health: () => ({ connected: true }) as ReturnType<TelephonyPort['health']>,
    onHealthChange: () => () => undefined,
    onInboundCall: () => () => undefined,
    originate(request) {
      originated.push(request.channelId);
      setTimeout(() => emit(request.channelId, { type: 'answered', at: new Date() }), 5);
      return Promise.resolve();
    },
    answer: () => Promise.resolve(),
    subscribe(c, l) {
      const set = listeners.get(c) ?? new Set();
      set.add(l);
      listeners.set(c, set);
      return () => set.delete(l);
    },
    play: () => Promise.resolve({ status: 'finished' }),
    collect: () => Promise.resolve({ status: 'timeout', digits: '' }),
    prompt: (channelId) => prompt(channelId),
    hangup(c) {
      hungUp.push({ channelId: c, at: performance.now() });
      setTimeout(() => emit(c, { type: 'hangup', cause: { code: 16, text: 'Normal Clearing', kind: 'normal' }, at: new Date() }), 1);
      return Promise.resolve();
    },
    listChannelIds: () => Promise.resolve([]),
    close: () => Promise.resolve(),
  };
  return { port, originated, hungUp };
}

/** Prompts held until release (a node dies meanwhile); released ones key 1. */
export function heldPrompts() {
  const held: Array<{ channelId: string; resolve: (r: CollectResult) => void }> = [];
  return {
    held,
    hold: (channelId: string) => new Promise<CollectResult>((resolve) => held.push({ channelId, resolve })),
    release: () => {
      for (const h of held.splice(0)) h.resolve(KEYED_1);
    },
  };
}
