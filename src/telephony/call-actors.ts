// What every outbound call machine needs (call attempt, survey call), built once on the
// telephony port: the shared dial machine with its originate, and the channel's events turned
// into machine events.
import { fromCallback, fromPromise, type EventObject } from 'xstate';
import { dialMachine } from '../../machines/dial.machine.js';
import type { Logger } from '../logging.js';
import type { HangupCause, TelephonyPort } from './port.js';

export type OutboundCallEvent = { type: 'CALL.ANSWERED'; at: number } | { type: 'CALL.HANGUP'; cause: HangupCause; at: number };

/** Originates with the attempt id as our own channel id: a repeat is refused, never placed twice. */
export function originateActor(telephony: TelephonyPort) {
  return fromPromise<void, { attemptId: string; number: string; ringTimeoutSeconds: number }>(async ({ input }) => {
    await telephony.originate({ channelId: input.attemptId, number: input.number, ringTimeoutSeconds: input.ringTimeoutSeconds }, () => undefined);
  });
}

/**
 * The dial machine (originate, ring, hangup cause → result) on the telephony port. `hangUp` is
 * the calling machine's own hangup effect (it logs a failed request in that call's words).
 */
export function dialActor(telephony: TelephonyPort, hangUp: (attemptId: string) => void) {
  return dialMachine.provide({
    actors: { originate: originateActor(telephony) },
    actions: { hangUp: (_, p) => hangUp(p.attemptId) },
  });
}

/**
 * The machines' `hangUp` action: asks Asterisk to hang up and, if the request fails, logs why
 * (the ring timer or the call limit still ends the attempt, so nothing waits on it).
 */
export function hangUpRequest(telephony: TelephonyPort, logFor: (attemptId: string) => Logger): (attemptId: string) => void {
  return (attemptId) => {
    telephony.hangup(attemptId).catch((err: unknown) => logFor(attemptId).warn({ err: String(err) }, 'hangup request failed; the ring or call limit will end the attempt'));
  };
}

/**
 * Subscribed for the attempt's whole life (before originate), so no event is missed; sends
 * OutboundCallEvents (times in epoch ms). TEvent: the events the machine itself accepts.
 */
export function callEventsActor<TEvent extends EventObject>(telephony: TelephonyPort) {
  return fromCallback<TEvent, { attemptId: string }>(({ sendBack, input }) =>
    telephony.subscribe(input.attemptId, (e) => {
      const send = (event: OutboundCallEvent) => sendBack(event);
      if (e.type === 'answered') send({ type: 'CALL.ANSWERED', at: e.at.getTime() });
      else if (e.type === 'hangup') send({ type: 'CALL.HANGUP', cause: e.cause, at: e.at.getTime() });
    }),
  );
}
