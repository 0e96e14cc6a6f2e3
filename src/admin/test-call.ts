// A test call: ring a contact or number, play the short test-call prompt ("this is a line test,
// press any key"), and report the key pressed and the timings — to prove a duty line, an IP
// phone or the trunk works end to end, keys (RFC 4733) included.
import { randomBytes } from 'node:crypto';
import { isDialableNumber, type Language } from '../config.js';
import type { Catalog } from '../departments/catalog.js';
import { maskPhone, type Logger } from '../logging.js';
import type { Prompts } from '../prompts/index.js';
import { isKey, TelephonyError, type CallEvent, type HangupCause, type Key, type TelephonyPort } from '../telephony/port.js';
import type { AuditLog } from './audit.js';

export interface TestCallTarget {
  readonly number: string;
  /** `department/contact`, a directory id, or null for a bare number. */
  readonly party: string | null;
  readonly name: string | null;
}

/** `<number>`, `<departmentId>/<contactId>`, or a directory id (command centre, county leader). */
export function resolveTestCallTarget(catalog: Catalog, target: string, language: Language): TestCallTarget | { error: string } {
  // String(): the type guard would narrow `target` to never below.
  if (isDialableNumber(String(target))) return { number: target, party: null, name: null };
  const slash = target.indexOf('/');
  if (slash > 0) {
    const department = catalog.departmentsById.get(target.slice(0, slash));
    if (!department) return { error: `there is no member department "${target.slice(0, slash)}"` };
    const contact = department.contacts.find((c) => c.id === target.slice(slash + 1));
    if (!contact) return { error: `${department.id} has no contact "${target.slice(slash + 1)}" (it has ${department.contacts.map((c) => c.id).join(', ')})` };
    return { number: contact.number, party: target, name: `${department.name[language]} ${contact.name}` };
  }
  const endpoint = [catalog.commandCentre, ...catalog.leaders].find((e) => e.id === target);
  if (endpoint) return { number: endpoint.number, party: endpoint.id, name: endpoint.name[language] };
  return { error: `"${target}" is neither a number (3 to 20 digits, optional +), <department>/<contact>, nor a directory id (${[catalog.commandCentre, ...catalog.leaders].map((e) => e.id).join(', ')})` };
}

export type TestCallResult = 'passed' | 'wrong_key' | 'no_key' | 'no_answer' | 'busy' | 'unreachable' | 'congestion' | 'rejected' | 'hangup' | 'failed';

export interface TestCallReport {
  readonly result: TestCallResult;
  readonly passed: boolean;
  /** For people: what happened. */
  readonly message: string;
  readonly channelId: string;
  readonly number: string;
  readonly party: string | null;
  readonly key: Key | null;
  readonly expectKey: Key | null;
  readonly cause: HangupCause | null;
  /** Milliseconds from the originate request. */
  readonly timings: {
    readonly answeredMs: number | null;
    readonly promptStartedMs: number | null;
    /** From the start of the prompt to the key. */
    readonly keyAfterPromptMs: number | null;
    readonly totalMs: number;
  };
  readonly startedAt: string;
}

export interface TestCallOptions {
  readonly expectKey?: Key;
  /** Seconds the phone may ring; default 30. */
  readonly ringTimeoutSeconds?: number;
  /** Seconds to wait for a key after the prompt; default 10. */
  readonly keyTimeoutSeconds?: number;
}

export interface TestCallDeps {
  readonly telephony: TelephonyPort;
  readonly prompts: Prompts;
  readonly logger: Logger;
  readonly audit: AuditLog;
  readonly actor: string;
}

/** Places the call; never throws for what the network does (that is the report), only for bugs. */
export async function runTestCall(deps: TestCallDeps, target: TestCallTarget, options: TestCallOptions = {}): Promise<TestCallReport> {
  const ringTimeoutSeconds = options.ringTimeoutSeconds ?? 30;
  const keyTimeoutMs = (options.keyTimeoutSeconds ?? 10) * 1000;
  const channelId = `testcall-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const log = deps.logger.child({ component: 'test-call', channelId });
  const startedAt = new Date();
  const t0 = Date.now();
  const since = (): number => Date.now() - t0;
  let answeredMs: number | null = null;
  let promptStartedMs: number | null = null;
  let keyMs: number | null = null;
  let hangup: HangupCause | null = null;
  let settle: ((e: 'answered' | 'hangup') => void) | undefined;
  const firstOutcome = new Promise<'answered' | 'hangup' | 'timeout'>((resolve) => {
    settle = resolve;
    // Asterisk ends the ringing itself; this is only a safety net (ring timeout + 5 s).
    setTimeout(() => resolve('timeout'), (ringTimeoutSeconds + 5) * 1000).unref();
  });
  let onHangup: () => void = () => undefined;
  const hungUp = new Promise<void>((resolve) => (onHangup = resolve));
  const listener = (e: CallEvent): void => {
    if (e.type === 'answered' && answeredMs === null) {
      answeredMs = since();
      settle?.('answered');
    } else if (e.type === 'key' && keyMs === null && promptStartedMs !== null) keyMs = since();
    else if (e.type === 'hangup') {
      hangup = e.cause;
      settle?.('hangup');
      onHangup();
    }
  };
  const expectKey = options.expectKey ?? null;
  const finish = async (result: TestCallResult, message: string, key: Key | null = null): Promise<TestCallReport> => {
    const report: TestCallReport = {
      result, passed: result === 'passed', message, channelId, number: maskPhone(target.number), party: target.party, key, expectKey, cause: hangup,
      timings: { answeredMs, promptStartedMs, keyAfterPromptMs: keyMs !== null && promptStartedMs !== null ? keyMs - promptStartedMs : null, totalMs: since() },
      startedAt: startedAt.toISOString(),
    };
    await deps.audit.record(deps.actor, 'test_call', { party: target.party, number: report.number, result, key, expectKey, causeCode: report.cause?.code ?? null, timings: report.timings });
    log.info({ number: report.number, result, key, timings: report.timings }, 'test call finished');
    return report;
  };

  const media = await deps.prompts.media('test-call');
  try {
    await deps.telephony.originate({ channelId, number: target.number, ringTimeoutSeconds }, listener);
  } catch (err) {
    const why = err instanceof TelephonyError ? `${err.code}: ${err.message}` : (err as Error).message;
    return finish('failed', `the call could not be placed (${why})`);
  }
  const outcome = await firstOutcome;
  if (outcome !== 'answered') {
    if (outcome === 'timeout') await deps.telephony.hangup(channelId).catch((err: unknown) => log.warn({ err: String(err) }, 'hangup after no answer failed'));
    const cause = hangup as HangupCause | null;
    const kind = cause?.kind;
    const result: TestCallResult = outcome === 'timeout' || kind === 'no_answer' || kind === 'normal' ? 'no_answer'
      : kind === 'busy' || kind === 'unreachable' || kind === 'congestion' || kind === 'rejected' ? kind : 'failed';
    return finish(result, `not answered: ${cause ? `cause ${cause.code} ${cause.text} (${cause.kind})` : `no answer within ${ringTimeoutSeconds} s`}`);
  }
  promptStartedMs = since();
  const collected = await deps.telephony.prompt(channelId, media, { maxDigits: 1, firstDigitTimeoutMs: keyTimeoutMs, interDigitTimeoutMs: 2000 });
  await deps.telephony.hangup(channelId).catch((err: unknown) => log.warn({ err: String(err) }, 'hangup after the test call failed'));
  await Promise.race([hungUp, new Promise((r) => setTimeout(r, 5000).unref())]);
  const pressed = collected.digits.slice(0, 1);
  const key = isKey(pressed) ? pressed : null;
  if (collected.status === 'failed') return finish('failed', `the prompt failed: ${collected.reason}`, key);
  if (key === null) return finish(collected.status === 'hangup' ? 'hangup' : 'no_key', collected.status === 'hangup' ? 'answered, then hung up without a key' : `answered, but no key within ${keyTimeoutMs / 1000} s after the prompt`);
  if (expectKey !== null && key !== expectKey) return finish('wrong_key', `answered; key ${key} pressed, ${expectKey} was expected`, key);
  return finish('passed', `answered; key ${key} received`, key);
}
