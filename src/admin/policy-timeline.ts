// The timeline of a policy dry run in words, one line per thing a duty officer (or the 110
// command centre, or a county leader) would notice: their phone rings, they answer, they press
// a key, the next person is called. Numbers are masked.
import type { DispatchPolicy } from '../dispatch/policy.js';
import { maskPhone } from '../logging.js';

export interface TimelineEntry {
  /** Seconds since the order was created. */
  readonly seconds: number;
  /** attempt_started, answered, keypad, attempt_result, or an order event kind (retry_scheduled, chain_exhausted …). */
  readonly kind: string;
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface TimelineLine {
  readonly seconds: number;
  readonly kind: string;
  readonly text: string;
}

/** Party id → how to call it in the timeline. */
export type PartyNames = ReadonlyMap<string, string>;

const RESULT_TEXT: Readonly<Record<string, string>> = {
  accepted: 'accepted',
  no_answer: 'no answer',
  busy: 'busy',
  failed: 'failed',
  hangup: 'hung up before choosing',
  no_input: 'answered but pressed no valid key',
  interrupted: 'interrupted',
  cancelled: 'cancelled (someone else accepted)',
};

export function describeTimeline(entries: readonly TimelineEntry[], names: PartyNames, policy: DispatchPolicy): TimelineLine[] {
  const callOf = new Map<string, { seq: number; party: string }>();
  const who = (id: unknown): string => names.get(String(id)) ?? String(id);
  const out: TimelineLine[] = [];
  for (const e of entries) {
    const d = e.detail;
    const call = callOf.get(String(d.attemptId));
    const party = call ? who(call.party) : '';
    let text: string | undefined;
    switch (e.kind) {
      case 'dispatch_started':
        text = `order created; ${d.major === true ? 'major incident: the county leaders are called at once; ' : ''}the department's chain starts`;
        break;
      case 'attempt_started': {
        callOf.set(String(d.attemptId), { seq: Number(d.seq), party: String(d.contactId) });
        const target = `${who(d.contactId)} (${maskPhone(typeof d.number === 'string' ? d.number : '')})`;
        if (d.script === 'dispatch') {
          text = `call ${String(d.seq)} rings ${target}: try ${Number(d.attemptOnContact) + 1} of ${policy.attemptsPerContact} on this contact, pass ${Number(d.loop ?? 0) + 1} of ${policy.chainLoops + 1}`;
        } else if (d.script === 'alarm') text = `call ${String(d.seq)} rings ${target}: alarm, the order is unacknowledged`;
        else text = `call ${String(d.seq)} rings ${target}: major incident notification`;
        break;
      }
      case 'answered':
        text = `  ${party} answers and hears the order`;
        break;
      case 'keypad':
        text = keypadText(party, d);
        break;
      case 'attempt_result': {
        const cause = typeof d.causeCode === 'number' && d.causeCode > 0 ? ` (cause ${d.causeCode})` : '';
        const reason = d.result === 'failed' && typeof d.reason === 'string' ? `: ${d.reason}` : '';
        text = `call ${call?.seq ?? '?'} ends: ${RESULT_TEXT[String(d.result)] ?? String(d.result)}${cause}${reason}`;
        break;
      }
      case 'retry_scheduled':
        text = `wait ${String(d.delaySeconds)} s (retryDelaySeconds), then ring ${who(d.contactId)} again`;
        break;
      case 'next_contact':
        text = `next contact: ${who(d.contactId)}`;
        break;
      case 'loop_scheduled':
        text = `nobody accepted in this pass; wait ${String(d.delaySeconds)} s (loopDelaySeconds), then start pass ${Number(d.loop) + 1}`;
        break;
      case 'accepted':
        text = `ORDER ACCEPTED by ${who(d.contactId)}${d.disputed === true ? ' (jurisdiction dispute recorded)' : ''}`;
        break;
      case 'chain_exhausted':
        text = `CHAIN EXHAUSTED after ${String(d.attempts)} call(s): order unacknowledged`;
        break;
      case 'webhook':
        text = 'webhook order.unacknowledged posted (when LIANDONG_WEBHOOK_URL is set)';
        break;
      case 'alarm_target_missing':
        text = 'no 110 command centre number: no alarm call';
        break;
      case 'alarm_confirmed':
        text = '110 command centre confirmed the alarm';
        break;
      case 'alarm_retry_scheduled':
        text = `wait ${String(d.delaySeconds)} s, then ring the 110 command centre again`;
        break;
      case 'alarm_unconfirmed':
        text = `the 110 command centre did not confirm after ${String(d.attempts)} call(s)`;
        break;
      case 'leaders_notified':
        text = `${String(d.count)} county leader(s) called at once`;
        break;
      case 'leader_confirmed':
        text = `${who(d.leaderId)} confirmed`;
        break;
      case 'leader_retry_scheduled':
        text = `wait ${String(d.delaySeconds)} s, then ring ${who(d.leaderId)} again`;
        break;
      case 'leader_unconfirmed':
        text = `${who(d.leaderId)} did not confirm`;
        break;
      case 'finished':
        text = `dispatch over: ${String(d.status)}`;
        break;
      default:
        text = undefined; // status changes, commits: already told by the lines above
    }
    if (text !== undefined) out.push({ seconds: e.seconds, kind: e.kind, text });
  }
  return out;
}

function keypadText(party: string, d: Readonly<Record<string, unknown>>): string {
  const key = typeof d.key === 'string' ? d.key : '';
  switch (d.result) {
    case 'accepted':
      return `  ${party} presses ${key}: ${key === '3' ? 'accepts and records a jurisdiction dispute' : 'accepts'}`;
    case 'repeat':
      return `  ${party} presses 2: hears the order again`;
    case 'invalid':
      return `  ${party} presses ${key}: not a menu key, the menu is read again`;
    case 'timeout':
      return `  no key from ${party} within keyTimeoutSeconds${Number(d.replay) > 0 ? ` (replay ${String(d.replay)})` : ''}`;
    default:
      return `  ${party} hangs up`;
  }
}

/** `+m:ss` or `+h:mm:ss` since the order. */
export function clock(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `+${h}:${String(m).padStart(2, '0')}:${ss}` : `+${m}:${ss}`;
}
