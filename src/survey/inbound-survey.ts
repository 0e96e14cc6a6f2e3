// Citizens who call back (回访回拨): a citizen who missed the survey call phones liandong. On the
// feedback line their caller id is matched to their most recent open survey; on a survey line
// number (LIANDONG_SURVEY_LINE_NUMBERS) a caller without a match keys the order code. Either way
// the same survey machine asks the same three questions on the inbound channel, and the answers
// count as the callback (attempt `via: inbound`); 9 opts out as on an outbound call.
import { readCode } from '../feedback/inbound-line.js';
import type { Logger } from '../logging.js';
import { maskPhone } from '../logging.js';
import type { OrderRepository } from '../orders/order-repository.js';
import type { Prompts } from '../prompts/index.js';
import type { CallEvent, CallEventListener, InboundCall, TelephonyPort } from '../telephony/port.js';

/** What the survey service offers the line: answer an open survey on an inbound channel. */
export interface InboundSurveys {
  answerInbound(channelId: string, by: { number: string } | { orderId: string }, answered: boolean, callerNumber: string): Promise<boolean>;
}

export interface InboundSurveyDeps {
  readonly telephony: TelephonyPort;
  readonly prompts: Prompts;
  readonly surveys: InboundSurveys;
  readonly orders: Pick<OrderRepository, 'getOrderByCode'>;
  readonly logger: Logger;
  /** Dialled numbers of the survey line: callers without a caller-id match key their order code there. */
  readonly numbers: ReadonlySet<string>;
}

/** Tries to key the code before "unknown order" and goodbye. */
const CODE_TRIES = 3;
const CODE_TIMEOUTS = { firstDigitTimeoutMs: 8_000, interDigitTimeoutMs: 3_000 };

/**
 * The feedback line's first look at an inbound call: true when it is a citizen's survey call
 * (then taken here), false to let the feedback line handle it. Asynchronous: the open survey of
 * the caller is looked up in the store.
 */
export function inboundSurveyRouter(deps: InboundSurveyDeps): (call: InboundCall) => Promise<boolean> {
  const log = deps.logger.child({ component: 'inbound-survey' });
  return async (call) => {
    const callLog = log.child({ channelId: call.channelId });
    if (call.callerNumber && (await deps.surveys.answerInbound(call.channelId, { number: call.callerNumber }, false, call.callerNumber))) {
      callLog.debug({ from: maskPhone(call.callerNumber) }, 'citizen called in: open survey matched by caller id');
      return true;
    }
    if (!deps.numbers.has(call.dialled)) return false;
    callLog.debug({ from: call.callerNumber ? maskPhone(call.callerNumber) : 'unknown', dialled: call.dialled }, 'survey line call: asking for the order code');
    askForCode(deps, call, callLog).catch((err: unknown) => {
      callLog.warn({ reason: err instanceof Error ? err.message : String(err) }, 'survey line call failed; hanging up');
      deps.telephony.hangup(call.channelId).catch((e: unknown) => callLog.warn({ err: String(e) }, 'hangup request failed'));
    });
    return true;
  };
}

async function askForCode(deps: InboundSurveyDeps, call: InboundCall, log: Logger): Promise<void> {
  const { telephony, prompts } = deps;
  await telephony.answer(call.channelId);
  for (let attempt = 1; attempt <= CODE_TRIES; attempt++) {
    const media = [...(attempt > 1 ? await prompts.media('feedback-unknown-order') : []), ...(await prompts.media('survey-enter-code'))];
    const outcome = await readCode(telephony, call.channelId, media, CODE_TIMEOUTS);
    if (outcome.status === 'hangup') return;
    if (outcome.status !== 'digits') continue;
    const order = await deps.orders.getOrderByCode(outcome.digits);
    if (order && (await deps.surveys.answerInbound(call.channelId, { orderId: order.id }, true, call.callerNumber))) {
      log.debug({ orderId: order.id }, 'survey line: open survey found by order code');
      return;
    }
    log.info({ found: order !== undefined }, 'survey line: no open survey for the keyed code');
  }
  await telephony.play(call.channelId, [...(await prompts.media('feedback-unknown-order')), ...(await prompts.media('goodbye'))], { bargeIn: false });
  await telephony.hangup(call.channelId);
}

/**
 * The telephony port as the survey machine sees it on an inbound call: its attempt id stands for
 * the caller's channel, and "placing the call" is answering it (then `answered` is reported).
 */
export function inboundPort(telephony: TelephonyPort, attemptId: string, channelId: string, alreadyAnswered: boolean): TelephonyPort {
  const id = (c: string) => (c === attemptId ? channelId : c);
  const listeners = new Set<CallEventListener>();
  return {
    health: () => telephony.health(),
    onHealthChange: (l) => telephony.onHealthChange(l),
    onInboundCall: (l) => telephony.onInboundCall(l),
    async originate(request) {
      if (request.channelId !== attemptId) throw new Error(`inbound survey: unexpected originate of ${request.channelId}`);
      if (!alreadyAnswered) await telephony.answer(channelId);
      const answered: CallEvent = { type: 'answered', at: new Date() };
      for (const l of [...listeners]) l(answered);
    },
    answer: (c) => telephony.answer(id(c)),
    subscribe(c, listener) {
      if (c === attemptId) listeners.add(listener);
      const off = telephony.subscribe(id(c), listener);
      return () => {
        listeners.delete(listener);
        off();
      };
    },
    play: (c, media, options) => telephony.play(id(c), media, options),
    collect: (c, options) => telephony.collect(id(c), options),
    prompt: (c, media, options) => telephony.prompt(id(c), media, options),
    hangup: (c, reason) => telephony.hangup(id(c), reason),
    listChannelIds: () => telephony.listChannelIds(),
    close: () => Promise.resolve(),
  };
}
