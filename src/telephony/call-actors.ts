// What every outbound call machine needs (call attempt, survey call), built once per service on
// the telephony port: the shared dial machine with its originate, the channel's events turned
// into machine events, and the hangup request. `portOf` names the port a call's channel is on
// (one port for every call, except the survey service's calls on an inbound channel).
import { fromCallback, fromPromise, type EventObject } from 'xstate';
import { dialMachine } from '../../machines/dial.machine.js';
import type { Logger } from '../logging.js';
import type { HangupCause, TelephonyPort } from './port.js';

export type OutboundCallEvent = { type: 'CALL.ANSWERED'; at: number } | { type: 'CALL.HANGUP'; cause: HangupCause; at: number };

/** The port of a call's channel, by attempt (channel) id. */
export type PortOf = (attemptId: string) => TelephonyPort;

/**
 * Originates with the attempt id as our own channel id: a repeat is refused, never placed twice.
 * `originating` is told the moment the originate is requested (the call's ring time counts from it).
 */
export function originateActor(portOf: PortOf, originating: (attemptId: string) => void = () => undefined) {
  return fromPromise<void, { attemptId: string; number: string; ringTimeoutSeconds: number }>(async ({ input }) => {
    originating(input.attemptId);
    await portOf(input.attemptId).originate({ channelId: input.attemptId, number: input.number, ringTimeoutSeconds: input.ringTimeoutSeconds }, () => undefined);
  });
}

/**
 * The dial machine (originate, ring, hangup cause → result) on the telephony port. `hangUp` is
 * the calling machine's own hangup effect (it logs a failed request in that call's words).
 */
export function dialActor(portOf: PortOf, hangUp: (attemptId: string) => void, originating?: (attemptId: string) => void) {
  return dialMachine.provide({
    actors: { originate: originateActor(portOf, originating) },
    actions: { hangUp: (_, p) => hangUp(p.attemptId) },
  });
}

/**
 * The machines' `hangUp` action: asks Asterisk to hang up and, if the request fails, logs why
 * (the ring timer or the call limit still ends the attempt, so nothing waits on it).
 */
export function hangUpRequest(portOf: PortOf, logFor: (attemptId: string) => Logger): (attemptId: string) => void {
  return (attemptId) => {
    portOf(attemptId).hangup(attemptId).catch((err: unknown) => logFor(attemptId).warn({ err: String(err) }, 'hangup request failed; the ring or call limit will end the attempt'));
  };
}

/**
 * Subscribed for the attempt's whole life (before originate), so no event is missed; sends
 * OutboundCallEvents (times in epoch ms). TEvent: the events the machine itself accepts.
 */
export function callEventsActor<TEvent extends EventObject>(portOf: PortOf) {
  return fromCallback<TEvent, { attemptId: string }>(({ sendBack, input }) =>
    portOf(input.attemptId).subscribe(input.attemptId, (e) => {
      const send = (event: OutboundCallEvent) => sendBack(event);
      if (e.type === 'answered') send({ type: 'CALL.ANSWERED', at: e.at.getTime() });
      else if (e.type === 'hangup') send({ type: 'CALL.HANGUP', cause: e.cause, at: e.at.getTime() });
    }),
  );
}
