// One measured run: N dispatch calls placed by the controller (HTTP API → ARI) or by the
// baseline (call files → dialplan), at the same arrival rate, to the same simulated phone.
import { sql } from 'kysely';
import type { Config } from '../../src/config.js';
import type { ServiceProcess } from '../../harness/service-process.js';
import { TOKENS } from '../../harness/service-process.js';
import { baselineAcks, contextPresent, dropCallFile, installContext } from './baseline.js';
import type { AriObserver, ChannelTrace } from './observer.js';
import { first, rows } from '../../src/db/sql.js';
import { cpuBetween, cpuTimes, RssSampler } from './proc.js';
import { openServiceStore } from './service-store.js';
import { maxOverlap, percentile, round } from './stats.js';

export interface RunResult {
  readonly side: 'controller' | 'baseline';
  readonly calls: number;
  /** Calls whose acceptance was recorded (AstDB for the baseline, the store for the controller). */
  readonly accepted: number;
  readonly lost: number;
  /** Orders that needed more than one attempt (controller only). */
  readonly retried: number;
  readonly seconds: number;
  readonly callsPerSecond: number;
  readonly maxConcurrent: number;
  readonly asteriskCpuSeconds: number;
  readonly controllerCpuSeconds?: number;
  /** espeak-ng and sox run by the controller (prompt text → speech). */
  readonly ttsCpuSeconds?: number;
  readonly controllerPeakRssMb?: number;
  /** POST sent → Asterisk created the channel (baseline: call file moved into the spool → channel created). */
  readonly postToOriginateMs: { readonly p50: number; readonly p95: number; readonly max: number };
  /** DTMF at Asterisk → acknowledgement committed (store row / AstDB write). */
  readonly keyToAckMs: { readonly p50: number; readonly p95: number; readonly max: number };
  /** POST answered (controller only), ms. */
  readonly httpMs?: { readonly p50: number; readonly p95: number };
}

const nowMs = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const summary = (v: number[]) => ({ p50: round(percentile(v, 50)), p95: round(percentile(v, 95)), max: round(percentile(v, 100)) });

/** Waits until `done()` or the deadline; returns whether it was reached. */
async function settle(done: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await done()) return true;
    await sleep(250);
  }
  return false;
}

export interface RunSetup {
  readonly config: Config;
  readonly observer: AriObserver;
  readonly asteriskPid: number;
  readonly number: string;
  /** Arrivals per second (POSTs or call files). */
  readonly rate: number;
}

export async function controllerRun(setup: RunSetup, svc: ServiceProcess, n: number, tag: string): Promise<RunResult> {
  const { observer, asteriskPid, rate } = setup;
  const pid = svc.child.pid as number;
  const rss = new RssSampler(pid);
  const cpu0 = { svc: cpuTimes(pid), ast: cpuTimes(asteriskPid) };
  const t0 = nowMs();
  const posted: Array<{ id: string; at: number; ms: number }> = [];
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < n; i += 1) {
    const due = t0 + (i * 1000) / rate;
    if (due > nowMs()) await sleep(due - nowMs());
    const at = nowMs();
    pending.push(
      svc
        .api<{ id: string }>('POST', '/api/v1/orders', TOKENS.desk, {
          externalId: `${tag}-${i}`, category: 'water-main-burst', departmentId: 'tourism', summary: '城关镇人民路水管爆裂，路面积水', address: '城关镇人民路', reporterPhone: '13800138000', urgency: 'urgent',
        })
        .then((res) => {
          if (res.status !== 201) throw new Error(`POST order ${i}: ${res.status} ${JSON.stringify(res.body)}`);
          posted.push({ id: res.body.id, at, ms: res.ms });
        }),
    );
  }
  await Promise.all(pending);
  const ids = new Set(posted.map((p) => p.id));
  const ours = (c: ChannelTrace) => /^o[0-9a-f]{16}-a[0-9]+$/.test(c.id) && ids.has(c.id.slice(0, c.id.lastIndexOf('-a')));
  const store = await openServiceStore(svc);
  try {
    const like = `${tag}-%`;
    const dispatching = async () =>
      (await first(store.db, sql<{ n: number }>`SELECT count(*) AS n FROM orders WHERE status = 'dispatching' AND external_id LIKE ${like}`))?.n ?? 0;
    await settle(async () => {
      const chans = observer.select(ours, t0);
      return chans.length >= n && chans.every((c) => c.destroyedAt !== undefined) && (await dispatching()) === 0;
    }, 180_000);
    const chans = observer.select(ours, t0);
    const end = Math.max(...chans.map((c) => c.destroyedAt ?? nowMs()));
    const cpu = { svc: cpuBetween(cpu0.svc, cpuTimes(pid)), ast: cpuBetween(cpu0.ast, cpuTimes(asteriskPid)) };
    const peakKb = rss.stop();
    const acks = new Map(
      (await rows(store.db, sql<{ order_id: string; attempt_id: string; accepted_at: string }>`
        SELECT order_id, attempt_id, accepted_at FROM acknowledgements WHERE via = 'phone' AND order_id IN (SELECT id FROM orders WHERE external_id LIKE ${like})`)).map((a) => [a.order_id, a]),
    );
    const attempts = await rows(store.db, sql<{ order_id: string; n: number }>`
      SELECT order_id, count(*) AS n FROM attempts WHERE order_id IN (SELECT id FROM orders WHERE external_id LIKE ${like}) GROUP BY order_id`);
    const byId = new Map(chans.map((c) => [c.id, c]));
    const postToOriginate = posted.flatMap((p) => {
      const c = byId.get(`${p.id}-a1`);
      return c ? [c.createdAt - p.at] : [];
    });
    const keyToAck = [...acks.values()].flatMap((a) => {
      const key = byId.get(a.attempt_id)?.dtmf.find((d) => d.digit === '1');
      return key ? [Date.parse(a.accepted_at) - key.at] : [];
    });
    const seconds = (end - t0) / 1000;
    return {
      side: 'controller',
      calls: n,
      accepted: acks.size,
      lost: n - acks.size,
      retried: attempts.filter((a) => a.n > 1).length,
      seconds: round(seconds, 2),
      callsPerSecond: round(n / seconds, 2),
      maxConcurrent: maxOverlap(chans.map((c) => [c.createdAt, c.destroyedAt ?? end] as const)),
      asteriskCpuSeconds: round(cpu.ast.self, 2),
      controllerCpuSeconds: round(cpu.svc.self, 2),
      ttsCpuSeconds: round(cpu.svc.children, 2),
      controllerPeakRssMb: round(peakKb / 1024),
      postToOriginateMs: summary(postToOriginate),
      keyToAckMs: summary(keyToAck),
      httpMs: { p50: round(percentile(posted.map((p) => p.ms), 50)), p95: round(percentile(posted.map((p) => p.ms), 95)) },
    };
  } finally {
    await store.close();
  }
}

/**
 * The baseline run; repeated (up to twice more) when the dialplan context vanished during it
 * (someone reloaded the dialplan), which would make every call look lost.
 */
export async function baselineRun(setup: RunSetup, n: number, tag: string, waitSeconds: number, keyTimeoutSeconds: number): Promise<RunResult> {
  for (let attempt = 1; ; attempt += 1) {
    await installContext(setup.config, keyTimeoutSeconds);
    const result = await baselineOnce(setup, n, `${tag}-${attempt}`, waitSeconds);
    if (await contextPresent(setup.config)) return result;
    if (attempt === 3) throw new Error('the baseline dialplan context was removed during three runs in a row (a dialplan reload elsewhere?); run the bench on a quiet Asterisk');
    process.stdout.write('  the baseline context vanished during the run (dialplan reloaded elsewhere); running it again\n');
    await new Promise((r) => setTimeout(r, 20_000));
  }
}

async function baselineOnce(setup: RunSetup, n: number, tag: string, waitSeconds: number): Promise<RunResult> {
  const { config, observer, asteriskPid, rate, number } = setup;
  const cpu0 = cpuTimes(asteriskPid);
  const t0 = nowMs();
  const dropped = new Map<string, number>();
  for (let i = 0; i < n; i += 1) {
    const due = t0 + (i * 1000) / rate;
    if (due > nowMs()) await sleep(due - nowMs());
    const benchId = `${tag}-${i}`;
    dropped.set(benchId, nowMs());
    dropCallFile(config, benchId, number, waitSeconds);
  }
  // The caller side of each call file is the ;1 half of a Local channel to the phone.
  const ours = (c: ChannelTrace) => c.name.startsWith(`Local/${number}@sim-phones-`) && c.name.endsWith(';1');
  await settle(() => {
    const chans = observer.select(ours, t0 - 50);
    return chans.length >= n && chans.every((c) => c.destroyedAt !== undefined);
  }, 180_000);
  const chans = observer.select(ours, t0 - 50);
  const end = Math.max(...chans.map((c) => c.destroyedAt ?? nowMs()));
  const cpu = cpuBetween(cpu0, cpuTimes(asteriskPid));
  const acks = [...(await baselineAcks(config)).entries()].filter(([id]) => id.startsWith(`${tag}-`));
  const byId = new Map(chans.map((c) => [c.id, c]));
  const dropToOriginate = acks.flatMap(([id, a]) => {
    const c = byId.get(a.uniqueId);
    const at = dropped.get(id);
    return c && at !== undefined ? [c.createdAt - at] : [];
  });
  const keyToAck = acks.flatMap(([, a]) => {
    const key = byId.get(a.uniqueId)?.dtmf.find((d) => d.digit === '1');
    return key ? [a.at - key.at] : [];
  });
  const seconds = (end - t0) / 1000;
  return {
    side: 'baseline',
    calls: n,
    accepted: acks.length,
    lost: n - acks.length,
    retried: 0,
    seconds: round(seconds, 2),
    callsPerSecond: round(n / seconds, 2),
    maxConcurrent: maxOverlap(chans.map((c) => [c.createdAt, c.destroyedAt ?? end] as const)),
    asteriskCpuSeconds: round(cpu.self, 2),
    postToOriginateMs: summary(dropToOriginate),
    keyToAckMs: summary(keyToAck),
  };
}
