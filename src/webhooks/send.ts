// One signed POST of a webhook body, and how its outcome is told: a 2xx answer, another status,
// or no answer (refused, timed out, aborted). Used by the outbox's worker; the signature also by
// the department platform's direct post (src/dispatch/platform.ts).
import { createHmac } from 'node:crypto';

export type Outcome = { ok: boolean; status: number | null; error: string | null };

/** `sha256=<hex HMAC-SHA256 of the body>` with the shared secret. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Posts `body` signed with `secret`, with the event headers given; `signal` ends the wait (the
 * timeout, or a stop). `unreadBody` hears of an answer whose body could not be read (it is not
 * used; reading it only frees the connection).
 */
export async function postSigned(
  url: string,
  body: string,
  secret: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  timeoutMs: number,
  unreadBody: (err: unknown) => void,
): Promise<Outcome> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/json', 'user-agent': 'liandong-webhooks/1', ...headers, 'x-liandong-signature': signature(secret, body) },
      body,
      signal,
    });
    await res.arrayBuffer().catch(unreadBody);
    const ok = res.status >= 200 && res.status < 300;
    return { ok, status: res.status, error: ok ? null : `HTTP ${res.status}` };
  } catch (err) {
    return { ok: false, status: null, error: describeFailure(err, timeoutMs) };
  }
}

function describeFailure(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || (err as { cause?: { name?: string } }).cause?.name === 'TimeoutError')) return `no answer within ${timeoutMs} ms`;
  const cause = err instanceof Error ? (err as { cause?: { code?: string; message?: string } }).cause : undefined;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
