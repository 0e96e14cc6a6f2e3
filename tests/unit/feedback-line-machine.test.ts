// The feedback line provides its machine once for all calls and logs each call as one line at
// info (the caller's number masked); its per-step lines are at debug. The callers here key
// nothing: each call ends `no_input` after its prompts, before any order is looked up.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { capturedLogger } from './captured-log.js';
import { feedbackIvrMachine, type FeedbackIvrOutput } from '../../machines/feedback-ivr.machine.js';
import type { WriteQueue } from '../../src/db/write-queue.js';
import { startFeedbackLine, type FeedbackLineDeps } from '../../src/feedback/inbound-line.js';
import type { InboundCall, TelephonyPort } from '../../src/telephony/port.js';
import { beepPrompts, scriptedTelephone } from './fake-telephony.js';

describe('feedback line machine', () => {
  afterEach(() => vi.restoreAllMocks());

  it('is provided once for every call; one summary line per call at info, no number in clear', async () => {
    const provided = vi.spyOn(feedbackIvrMachine, 'provide');
    const log = capturedLogger('info');
    const { port } = scriptedTelephone(() => Promise.resolve({ status: 'timeout', digits: '' }));
    let ring: ((call: InboundCall) => void) | undefined;
    const telephony: TelephonyPort = { ...port, onInboundCall: (l) => ((ring = l), () => undefined) };
    const unused = {} as never;
    const deps: FeedbackLineDeps = {
      telephony, prompts: beepPrompts, logger: log.logger,
      orders: unused, repo: unused, departments: unused, pins: unused, store: unused, writes: {} as WriteQueue,
    };
    const ended: FeedbackIvrOutput[] = [];
    const stop = startFeedbackLine(deps, {
      maxTries: 1,
      timeouts: { firstDigitTimeoutMs: 10, interDigitTimeoutMs: 10, menuKeyTimeoutMs: 10 },
      onCallEnded: (_call, output) => ended.push(output),
    });
    try {
      expect(provided).toHaveBeenCalledTimes(1);
      for (const channelId of ['in-1', 'in-2', 'in-3']) ring?.({ channelId, callerNumber: '13712345678', dialled: '12345', at: new Date() });
      await expect.poll(() => ended.length, { timeout: 5_000, interval: 10 }).toBe(3);
    } finally {
      stop();
    }
    expect(provided).toHaveBeenCalledTimes(1);
    expect(ended.map((o) => o.result)).toEqual(['no_input', 'no_input', 'no_input']);
    const lines = log.lines();
    const summaries = lines.filter((l) => l.msg === 'feedback call ended');
    expect(summaries.map((l) => [l.channelId, l.level, l.result, l.from])).toEqual([
      ['in-1', 30, 'no_input', '137****5678'], ['in-2', 30, 'no_input', '137****5678'], ['in-3', 30, 'no_input', '137****5678'],
    ]);
    for (const s of summaries) expect(s.totalMs).toEqual(expect.any(Number));
    expect(lines.filter((l) => ['feedback call', 'order code prompt', 'caller hung up'].includes(String(l.msg)))).toEqual([]);
    expect(log.text()).not.toContain('13712345678');
  });
});
