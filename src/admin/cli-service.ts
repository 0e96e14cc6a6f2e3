// The command line's client of the running service's admin API, for the commands that place
// calls (test-call, policy dry-run --live): the service owns the ARI connection and serves the
// prompt audio, so a second process must not. Authenticates with the configured admin token.
import type { Config } from '../config.js';
import { formatDryRun, type DryRunReport } from './policy-dry-run.js';
import type { LiveRun } from './policy-live.js';
import type { TestCallReport } from './test-call.js';

type Out = (line: string) => void;

/** Calls the service; throws with the API's own error message, or a clear one when it is down. */
export async function adminApi<T>(config: Config, method: 'GET' | 'POST', path: string, body?: unknown, timeoutMs = 180_000): Promise<T> {
  const token = config.apiTokens.find((t) => t.role === 'admin')?.token;
  if (!token) throw new Error('no admin token in LIANDONG_API_TOKENS: this command goes through the service\'s admin API');
  const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${config.http.port}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new Error(`the liandong service does not answer at ${url} (${(err as Error).cause ? String((err as Error & { cause: unknown }).cause) : (err as Error).message}); calls are placed by the running service: start it (npm start, or npm run demo in dev)`);
  }
  // A proxy's HTML error page is not JSON: report the status with no message rather than a parse error.
  const json = (await res.json().catch((): Record<string, never> => ({}))) as T & { error?: { code: string; message: string } };
  if (!res.ok) throw new Error(`${res.status} ${json.error?.code ?? ''}: ${json.error?.message ?? 'no message'}`);
  return json;
}

export function formatTestCall(r: TestCallReport): string[] {
  const ms = (v: number | null): string => (v === null ? '-' : `${(v / 1000).toFixed(2)} s`);
  return [
    `test call to ${r.party ? `${r.party} ` : ''}${r.number} (channel ${r.channelId}): ${r.passed ? 'PASSED' : `FAILED (${r.result})`}`,
    `  ${r.message}`,
    `  answered after ${ms(r.timings.answeredMs)}; prompt started at ${ms(r.timings.promptStartedMs)}; key ${r.key ?? '-'}${r.expectKey ? ` (expected ${r.expectKey})` : ''} ${ms(r.timings.keyAfterPromptMs)} into the prompt; total ${ms(r.timings.totalMs)}`,
    ...(r.cause ? [`  hangup cause ${r.cause.code} ${r.cause.text} (${r.cause.kind})`] : []),
  ];
}

/** Starts a live dry run on the service and waits for it, printing the report at the end. */
export async function runLiveDryRunViaService(config: Config, request: Record<string, unknown>, json: boolean, out: Out): Promise<number> {
  let run = await adminApi<LiveRun>(config, 'POST', '/api/v1/admin/policy/dry-run', { ...request, mode: 'live' });
  out(`live dry run ${run.runId} started: about ${Math.round(run.estimatedSeconds)} s of real calls to the simulated phones`);
  while (run.status === 'running') {
    await new Promise((r) => setTimeout(r, 2000));
    run = await adminApi<LiveRun>(config, 'GET', `/api/v1/admin/policy/dry-run/${encodeURIComponent(run.runId)}`);
  }
  if (run.status === 'failed' || !run.report) {
    out(`error: the live dry run failed: ${run.reason ?? 'no report'}`);
    return 1;
  }
  const report: DryRunReport = run.report;
  if (json) out(JSON.stringify(report, null, 2));
  else for (const line of formatDryRun(report)) out(line);
  return 0;
}
