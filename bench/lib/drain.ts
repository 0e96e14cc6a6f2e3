// Pacing under a queue: N orders posted as fast as the API takes them, every call going to a
// busy line (no speech, so the calls themselves cost next to nothing and only the pace shows).
// Each order is one dispatch call and, its chain exhausted, one alarm call to the (busy)
// command centre. The trunk's calls per second and channels must hold the whole time.
import { sql, type RawBuilder } from 'kysely';
import type { ServiceProcess } from '../../harness/service-process.js';
import { TOKENS } from '../../harness/service-process.js';
import type { AriObserver, ChannelTrace } from './observer.js';
import { first as firstRow, rows } from '../../src/db/sql.js';
import { cpuBetween, cpuTimes, RssSampler } from './proc.js';
import { openServiceStore } from './service-store.js';
import { maxInWindow, maxOverlap, round } from './stats.js';

export interface DrainResult {
  readonly orders: number;
  readonly callsPerSecondSet: number;
  readonly channelsSet: number;
  /** Seconds to post all orders, and the posting rate the API sustained. */
  readonly postSeconds: number;
  readonly postsPerSecond: number;
  readonly calls: number;
  /** First call start → last call start, s. */
  readonly drainSeconds: number;
  /** Calls started per second over the drain (mean), and the most in any 1-s window. */
  readonly meanCallsPerSecond: number;
  readonly maxCallsInAnySecond: number;
  readonly maxConcurrent: number;
  /** Orders still dispatching at the end (none expected) and orders without both calls recorded. */
  readonly stuck: number;
  readonly lost: number;
  readonly controllerCpuSeconds: number;
  readonly asteriskCpuSeconds: number;
  readonly controllerPeakRssMb: number;
  /** Calls started in each second from the first one. */
  readonly startsPerSecond: number[];
  /** Mean calls/s while orders were still being posted, and after. */
  readonly rateWhilePosting: number;
  readonly rateAfterPosting: number;
}

export async function drainRun(svc: ServiceProcess, observer: AriObserver, asteriskPid: number, n: number, cps: number, channels: number, tag: string): Promise<DrainResult> {
  const pid = svc.child.pid as number;
  const rss = new RssSampler(pid, 1000);
  const cpu0 = { svc: cpuTimes(pid), ast: cpuTimes(asteriskPid) };
  const t0 = Date.now();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      const res = await svc.api('POST', '/api/v1/orders', TOKENS.desk, {
        externalId: `${tag}-${i}`, category: 'water-main-burst', departmentId: 'tourism', summary: '水管爆裂', address: '城关镇', reporterPhone: '13800138000', urgency: 'normal',
      });
      if (res.status !== 201) throw new Error(`POST order ${i}: ${res.status} ${JSON.stringify(res.body)}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  const postSeconds = (Date.now() - t0) / 1000;
  const store = await openServiceStore(svc);
  try {
    const like = `${tag}-%`;
    const ids = new Set((await rows(store.db, sql<{ id: string }>`SELECT id FROM orders WHERE external_id LIKE ${like}`)).map((r) => r.id));
    const ours = (c: ChannelTrace) => /^o[0-9a-f]{16}-a[0-9]+$/.test(c.id) && ids.has(c.id.slice(0, c.id.lastIndexOf('-a')));
    const count = async (query: RawBuilder<{ n: number }>) => (await firstRow(store.db, query))?.n ?? 0;
    const dispatching = () => count(sql<{ n: number }>`SELECT count(*) AS n FROM orders WHERE status = 'dispatching' AND external_id LIKE ${like}`);
    const openCalls = () => count(sql<{ n: number }>`SELECT count(*) AS n FROM attempts WHERE ended_at IS NULL AND order_id IN (SELECT id FROM orders WHERE external_id LIKE ${like})`);
    const deadline = Date.now() + ((2 * n) / cps) * 1000 + 180_000;
    let lastProgress = '';
    while (Date.now() < deadline) {
      const chans = observer.select(ours, t0);
      const settled = (await dispatching()) === 0 && (await openCalls()) === 0 && chans.every((c) => c.destroyedAt !== undefined);
      if (settled && chans.length >= 2 * n) break;
      const progress = `${chans.length} calls`;
      if (progress !== lastProgress && chans.length % 2000 < 100) process.stdout.write(`  drain: ${progress} of ${2 * n} after ${Math.round((Date.now() - t0) / 1000)} s\n`);
      lastProgress = progress;
      await new Promise((r) => setTimeout(r, 500));
    }
    const cpu = { svc: cpuBetween(cpu0.svc, cpuTimes(pid)), ast: cpuBetween(cpu0.ast, cpuTimes(asteriskPid)) };
    const chans = observer.select(ours, t0);
    const starts = chans.map((c) => c.createdAt).sort((a, b) => a - b);
    const first = starts[0] ?? t0;
    const last = starts.at(-1) ?? t0;
    const perOrder = await rows(store.db, sql<{ calls: number; ended: number }>`
      SELECT count(*) AS calls, count(ended_at) AS ended FROM attempts WHERE order_id IN (SELECT id FROM orders WHERE external_id LIKE ${like}) GROUP BY order_id`);
    return {
      orders: n,
      callsPerSecondSet: cps,
      channelsSet: channels,
      postSeconds: round(postSeconds, 1),
      postsPerSecond: round(n / postSeconds),
      calls: chans.length,
      drainSeconds: round((last - first) / 1000, 1),
      meanCallsPerSecond: round((starts.length - 1) / ((last - first) / 1000), 2),
      maxCallsInAnySecond: maxInWindow(starts, 1000),
      maxConcurrent: maxOverlap(chans.map((c) => [c.createdAt, c.destroyedAt ?? Date.now()] as const)),
      stuck: await dispatching(),
      lost: n - perOrder.filter((o) => o.calls === 2 && o.ended === 2).length,
      controllerCpuSeconds: round(cpu.svc.self + cpu.svc.children, 1),
      asteriskCpuSeconds: round(cpu.ast.self, 1),
      controllerPeakRssMb: round(rss.stop() / 1024),
      startsPerSecond: perSecond(starts, first),
      rateWhilePosting: round(starts.filter((t) => t < t0 + postSeconds * 1000).length / Math.max(0.001, (t0 + postSeconds * 1000 - first) / 1000), 1),
      rateAfterPosting: round(starts.filter((t) => t >= t0 + postSeconds * 1000).length / Math.max(0.001, (last - (t0 + postSeconds * 1000)) / 1000), 1),
    };
  } finally {
    await store.close();
  }
}

function perSecond(starts: readonly number[], from: number): number[] {
  const out: number[] = [];
  for (const t of starts) {
    const i = Math.floor((t - from) / 1000);
    out[i] = (out[i] ?? 0) + 1;
  }
  return Array.from(out, (v) => v ?? 0);
}
