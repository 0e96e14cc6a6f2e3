// The hot ARI REST calls (originate, play, stop a playback, answer, hang up) as plain HTTP on
// kept-alive connections. ari-client sends each call through swagger-client and shred: a model
// lookup, a Bluebird promise chain and a fresh TCP connection per request (an HTTP session that
// Asterisk also has to set up and tear down). The REST API is the same; only the client is lean.
// ari-client stays for what it does well: loading Asterisk's API description at connect (the
// proof that ARI answers with the API we expect) and the rare calls (channel list).
import http from 'node:http';

export interface AriRestOptions {
  /** ARI base URL, e.g. http://127.0.0.1:8088 (no trailing /ari). */
  readonly url: string;
  readonly username: string;
  readonly password: string;
  /** Connections kept open to Asterisk at most (each is one http.conf session; sessionlimit is 1000 in ours). */
  readonly maxSockets: number;
  /**
   * Milliseconds a request may take before it fails, and an idle connection is kept before it is
   * closed (below Asterisk's session_inactivity of 30 s, so we close first and never write to a
   * connection Asterisk is closing).
   */
  readonly timeoutMs: number;
}

/** An answer of ARI other than 2xx; message carries Asterisk's own text ("Channel not found"). */
export class AriRestError extends Error {
  override readonly name = 'AriRestError';
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

type Query = Readonly<Record<string, string | number | undefined>>;

export class AriRest {
  private readonly agent: http.Agent;
  private readonly base: URL;
  private readonly auth: string;

  constructor(private readonly opts: AriRestOptions) {
    this.base = new URL(opts.url);
    if (this.base.protocol !== 'http:') throw new Error(`ARI URL must be http:// (got ${this.base.protocol})`);
    this.auth = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: opts.maxSockets, timeout: opts.timeoutMs });
  }

  /** POST /channels/{channelId}: the channel id is ours; channel variables go in the body. */
  async originate(channelId: string, query: Query, variables: Readonly<Record<string, string>>): Promise<void> {
    await this.request('POST', `/channels/${encodeURIComponent(channelId)}`, query, { variables });
  }

  async play(channelId: string, playbackId: string, media: readonly string[]): Promise<void> {
    // ARI takes several media as a repeated (or comma-separated) `media` parameter: comma-separated here.
    await this.request('POST', `/channels/${encodeURIComponent(channelId)}/play/${encodeURIComponent(playbackId)}`, { media: media.join(',') });
  }

  async stopPlayback(playbackId: string): Promise<void> {
    await this.request('DELETE', `/playbacks/${encodeURIComponent(playbackId)}`, {});
  }

  async answer(channelId: string): Promise<void> {
    await this.request('POST', `/channels/${encodeURIComponent(channelId)}/answer`, {});
  }

  async hangup(channelId: string, reason: string): Promise<void> {
    await this.request('DELETE', `/channels/${encodeURIComponent(channelId)}`, { reason });
  }

  /** PUT /applications/{app}/eventFilter: Asterisk sends the app only events of these types. */
  async setEventFilter(app: string, types: readonly string[]): Promise<void> {
    await this.request('PUT', `/applications/${encodeURIComponent(app)}/eventFilter`, {}, { allowed: types.map((type) => ({ type })) });
  }

  /** Closes the kept connections (service shutdown). */
  close(): void {
    this.agent.destroy();
  }

  private request(method: 'POST' | 'PUT' | 'DELETE', resource: string, query: Query, body?: unknown): Promise<void> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const search = params.size > 0 ? `?${params.toString()}` : '';
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise<void>((resolve, reject) => {
      const req = http.request({
        agent: this.agent,
        host: this.base.hostname,
        port: this.base.port || 80,
        method,
        path: `${this.base.pathname.replace(/\/+$/, '')}/ari${resource}${search}`,
        headers: {
          authorization: this.auth,
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : { 'content-length': 0 }),
        },
      });
      req.setTimeout(this.opts.timeoutMs, () => req.destroy(new Error(`ARI ${method} ${resource} timed out after ${this.opts.timeoutMs} ms`)));
      req.on('error', reject);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            resolve();
            return;
          }
          reject(new AriRestError(status, `${messageOf(Buffer.concat(chunks).toString('utf8')) ?? res.statusMessage ?? 'error'} (HTTP ${status})`));
        });
      });
      req.end(payload);
    });
  }
}

/** Asterisk's error body is {"message": "..."}; anything else gives no message. */
function messageOf(text: string): string | undefined {
  try {
    const parsed = JSON.parse(text) as unknown;
    const m = typeof parsed === 'object' && parsed !== null ? (parsed as { message?: unknown }).message : undefined;
    return typeof m === 'string' ? m.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}
