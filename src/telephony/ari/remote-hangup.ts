// Hanging up a channel through another cell's Asterisk: at takeover, the calls a dead controller
// left open live in its own Asterisk, which may still answer (only the controller died). Plain
// ARI REST (DELETE /ari/channels/{id}); no event connection is opened to that Asterisk.

export type RemoteHangup =
  | { readonly status: 'hung_up' }
  /** The channel was no longer there (the call had ended, or that Asterisk restarted). */
  | { readonly status: 'gone' }
  /** That Asterisk did not answer (the whole cell is down): its calls died with it. */
  | { readonly status: 'unreachable'; readonly reason: string };

export interface AriCredentials {
  readonly username: string;
  readonly password: string;
}

/** Milliseconds to wait for the other Asterisk: a dead cell must not hold the takeover up. */
export const REMOTE_HANGUP_TIMEOUT_MS = 1500;

export async function hangupThrough(ariUrl: string, credentials: AriCredentials, channelId: string, timeoutMs = REMOTE_HANGUP_TIMEOUT_MS): Promise<RemoteHangup> {
  const auth = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  const url = `${ariUrl.replace(/\/+$/, '')}/ari/channels/${encodeURIComponent(channelId)}`;
  try {
    const res = await fetch(url, { method: 'DELETE', headers: { authorization: auth }, signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer(); // drain: the connection is reused
    if (res.status === 204) return { status: 'hung_up' };
    if (res.status === 404) return { status: 'gone' };
    return { status: 'unreachable', reason: `DELETE channel answered ${res.status}` };
  } catch (err) {
    return { status: 'unreachable', reason: err instanceof Error ? err.message : String(err) };
  }
}
