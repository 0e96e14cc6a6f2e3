// What one order's calls play, per script: the one list the call effects render before the phone
// rings and the benchmark's TTS cost step renders for its synthetic orders (bench/lib/tts-cost.ts),
// so the measured cost is the cost of a real order.
import type { CallScript } from '../../machines/call-attempt.machine.js';
import type { OrderRow } from '../orders/order-rows.js';
import type { Prompts } from '../prompts/index.js';
import type { MediaUri } from '../telephony/port.js';

/** Everything an attempt of one script may play, rendered (or taken from the cache) before the phone rings. */
export interface ScriptMedia {
  readonly message: MediaUri[];
  readonly invalid: MediaUri[];
  readonly accepted: MediaUri[];
  readonly disputed: MediaUri[];
  readonly goodbye: MediaUri[];
}

/** The order's fields its calls speak, and the spoken names of its category and department in the call language. */
export interface ScriptOrder extends Pick<OrderRow, 'code' | 'address' | 'summary' | 'major' | 'urgency'> {
  readonly categoryName: string;
  readonly departmentName: string;
}

export async function renderScript(prompts: Pick<Prompts, 'media'>, script: CallScript, o: ScriptOrder): Promise<ScriptMedia> {
  const code = o.code;
  const [message, invalid, accepted, disputed, goodbye] = await Promise.all([
    script === 'dispatch'
      ? Promise.all([
        // The spoken order says 重大 / 紧急 first when it is (a normal order is read as before).
        o.major === 1 ? prompts.media('dispatch-major') : o.urgency === 'urgent' ? prompts.media('dispatch-urgent') : Promise.resolve([]),
        prompts.media('dispatch-order', { code, category: o.categoryName, address: o.address, summary: o.summary }),
        prompts.media('dispatch-menu'),
      ]).then((parts) => parts.flat())
      : script === 'alarm'
        ? prompts.media('alarm-unacknowledged', { code, department: o.departmentName })
        : prompts.media('major-notify', { code, category: o.categoryName, address: o.address }),
    prompts.media(script === 'dispatch' ? 'dispatch-invalid' : 'survey-invalid'),
    script === 'dispatch' ? prompts.media('dispatch-accepted', { code }) : prompts.media(script === 'alarm' ? 'alarm-confirmed' : 'major-confirmed'),
    script === 'dispatch' ? prompts.media('dispatch-disputed', { code }) : Promise.resolve([]),
    prompts.media('goodbye'),
  ]);
  return { message, invalid, accepted, disputed, goodbye };
}
