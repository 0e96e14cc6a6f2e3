// Q.850 cause codes (as Asterisk reports them in ChannelDestroyed) mapped to what they mean
// for a dispatch attempt. Codes not listed map to 'unknown' and keep their number and text.
import type { HangupCause, HangupKind } from './port.js';

const KIND_BY_CODE: Readonly<Record<number, HangupKind>> = {
  16: 'normal', // normal clearing
  31: 'normal', // normal, unspecified
  17: 'busy', // user busy
  18: 'no_answer', // no user responding
  19: 'no_answer', // no answer (ring timeout)
  21: 'rejected', // call rejected
  1: 'unreachable', // unallocated number
  3: 'unreachable', // no route to destination
  20: 'unreachable', // subscriber absent
  27: 'unreachable', // destination out of order
  28: 'unreachable', // invalid number format
  34: 'congestion', // no circuit available
  38: 'congestion', // network out of order
  41: 'congestion', // temporary failure
  42: 'congestion', // switching equipment congestion
  44: 'congestion', // requested channel not available
  47: 'congestion', // resource unavailable
};

export function classifyHangup(code: number | undefined, text: string | undefined): HangupCause {
  const c = typeof code === 'number' && Number.isInteger(code) ? code : 0;
  return { code: c, text: text ?? '', kind: KIND_BY_CODE[c] ?? 'unknown' };
}

/** The cause we report for a channel that disappeared while we could not see Asterisk. */
export const LOST_CAUSE: HangupCause = { code: -1, text: 'channel vanished while disconnected from Asterisk', kind: 'lost' };
