// `npm run bench`: the cost of the controller against Asterisk alone, and the trunk pacing.
//
// For each size (default 50, 100, 200 dispatch orders) two runs with the same calls to the same
// simulated phone over Local channels in µ-law, arriving at the same rate:
//   controller  POST /api/v1/orders → liandong (production entry point, own process) → ARI;
//   baseline    call files → a dialplan playing the same prompts with Read() → AstDB; no controller.
// Measured from outside both: Asterisk's own event timestamps (an observer ARI application),
// /proc CPU times of Asterisk and of the service (its espeak-ng/sox children apart), the
// service's SQLite. Then the drain: 10,000 queued orders through a paced trunk.
// Prints a table and writes bench/results/bench-<time>.json.
//
// Options: --sizes 50,100,200  --rate 20 (arrivals/s: 200 orders arrive within 10 s, inside one call's length, so all are up at once)  --number 70591 (sim phone: answers,
// presses 1 after 5 s)  --drain 10000  --drain-cps 100  --drain-channels 50  --no-drain
// --profile: run the service under `node --cpu-prof` and print where its CPU goes (the CPU
// figures of that run then include the profiler's own cost); the profiles are kept as
// bench/results/profile-*.cpuprofile (not committed) for their call trees.
// --store postgres: the controller runs again on PostgreSQL (a server of the bench's own), rows
// beside SQLite's, and the cluster takeover is measured (--takeover N orders, default 20; two
// cells, cell 1 killed with SIGKILL while every call is up).
// TTS cost per order (bench/lib/tts-cost.ts, no Asterisk): --tts-orders N (default 200; 0 skips it);
// --only tts runs that step alone (seconds).
import fs from 'node:fs';
import path from 'node:path';
import { asteriskStatus, asteriskUp } from '../src/asterisk/index.js';
import { configFromProcess } from '../src/config.js';
import { loadCatalog } from '../src/departments/catalog.js';
import { openPrompts } from '../src/prompts/index.js';
import { ARTIFACTS, spawnService, TOKENS, type ServiceProcess } from '../harness/service-process.js';
import { prepareBaseline, type BaselineMedia } from './lib/baseline.js';
import { drainRun, type DrainResult } from './lib/drain.js';
import { AriObserver } from './lib/observer.js';
import { monotonicUs, summarizeProfile, type ProfileSummary, type Window } from './lib/profile.js';
import { baselineRun, controllerRun, type RunResult, type RunSetup } from './lib/runs.js';
import { round } from './lib/stats.js';
import { ttsCost, ttsCostLines, type TtsCostResult } from './lib/tts-cost.js';
import { benchPostgres, takeoverRun, type BenchPostgres, type TakeoverResult } from './lib/takeover.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? (args[i + 1] as string) : fallback;
};
const SIZES = opt('sizes', '50,100,200').split(',').filter(Boolean).map(Number);
const RATE = Number(opt('rate', '20'));
const NUMBER = opt('number', '70591');
const DRAIN = args.includes('--no-drain') ? 0 : Number(opt('drain', '10000'));
const DRAIN_CPS = Number(opt('drain-cps', '100'));
const DRAIN_CHANNELS = Number(opt('drain-channels', '50'));
/** LIANDONG_MAX_LIVE_ORDERS of the drain's service; unset: the service's default. */
const DRAIN_MAX_LIVE = opt('drain-max-live', '');
const PROFILE = args.includes('--profile');
const STORES: ReadonlyArray<'sqlite' | 'postgres'> = opt('store', 'sqlite') === 'postgres' ? ['sqlite', 'postgres'] : ['sqlite'];
const TAKEOVER_ORDERS = Number(opt('takeover', '20'));
const TTS_ORDERS = Number(opt('tts-orders', '200'));
const ONLY = opt('only', '');
const PROFILE_DIR = path.join(import.meta.dirname, 'results', 'profiles');
/** Seconds the controller and the baseline wait for a key after the menu. */
const KEY_TIMEOUT_S = 12;
const MEDIA_DIR = path.join(ARTIFACTS, 'media');
const SUMMARY = '城关镇人民路水管爆裂，路面积水';
const ADDRESS = '城关镇人民路';

const out = (line = '') => process.stdout.write(`${line}\n`);
const STARTED = new Date().toISOString().replace(/[:.]/g, '-');

/** Keeps a profile beside the results (for call trees in Chrome DevTools or a script); not committed. */
function keepProfile(file: string, what: string): void {
  const kept = path.join(import.meta.dirname, 'results', `profile-${what}-${STARTED}.cpuprofile`);
  fs.copyFileSync(file, kept);
  out(`  ${what} profile kept: ${path.relative(process.cwd(), kept)}`);
}

async function configureService(svc: ServiceProcess, contact: string, commandCentre: string, policy: Record<string, number>): Promise<void> {
  const directory = { commandCentre: { id: 'command-centre', name: { 'zh-CN': '指挥中心', en: 'Command centre' }, number: commandCentre }, leaders: [] };
  const dir = await svc.api('PUT', '/api/v1/directory', TOKENS.admin, directory);
  if (dir.status !== 200) throw new Error(`PUT directory: ${dir.status} ${JSON.stringify(dir.body)}`);
  const list = await svc.api<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>('GET', '/api/v1/departments', TOKENS.desk);
  const d = list.body.departments.find((x) => x.id === 'tourism');
  if (!d) throw new Error('no tourism department');
  const res = await svc.api('PUT', '/api/v1/departments/tourism', TOKENS.admin, { name: d.name, categories: d.categories, contacts: [{ id: 'duty', name: '值班室', number: contact, priority: 1 }], policy });
  if (res.status !== 200) throw new Error(`PUT department: ${res.status} ${JSON.stringify(res.body)}`);
}

/** The very prompts a controller call plays (a sample order code), as files for the baseline. */
async function baselineMedia(): Promise<BaselineMedia> {
  const config = configFromProcess('dev', { LIANDONG_MEDIA_DIR: MEDIA_DIR });
  const prompts = openPrompts(config);
  const category = loadCatalog().categoriesById.get('water-main-burst')?.name[config.language] ?? 'water-main-burst';
  const file = async (uris: Promise<string[]>) => (await uris).map((u) => path.join(MEDIA_DIR, path.basename(u)));
  return {
    order: await file(prompts.media('dispatch-order', { code: '596688', category, address: ADDRESS, summary: SUMMARY })),
    menu: await file(prompts.media('dispatch-menu')),
    accepted: await file(prompts.media('dispatch-accepted', { code: '596688' })),
    goodbye: await file(prompts.media('goodbye')),
  };
}

async function quiet(observer: AriObserver, ms = 3000): Promise<void> {
  // Every channel seen so far has ended, then a short pause so nothing spills into the next run.
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && [...observer.channels.values()].some((c) => c.destroyedAt === undefined && Date.now() - c.createdAt < 300_000)) {
    await new Promise((r) => setTimeout(r, 250));
  }
  await new Promise((r) => setTimeout(r, ms));
}

type SizeResult = { size: number; store: 'sqlite' | 'postgres'; controller: RunResult; baseline: RunResult };

function table(results: SizeResult[]): string[] {
  const rows = [
    '| orders | side | calls/s | lost | max concurrent | Asterisk CPU s | controller CPU s (% of Asterisk) | TTS CPU s | controller peak RSS MB | POST→originate p50 / p95 ms | key→ack committed p50 / p95 ms |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const { size, store, controller: c, baseline: b } of results) {
    const share = c.controllerCpuSeconds !== undefined ? round((100 * c.controllerCpuSeconds) / c.asteriskCpuSeconds) : Number.NaN;
    rows.push(`| ${size} | controller (${store}) | ${c.callsPerSecond} | ${c.lost} | ${c.maxConcurrent} | ${c.asteriskCpuSeconds} | ${c.controllerCpuSeconds} (${share} %) | ${c.ttsCpuSeconds} | ${c.controllerPeakRssMb} | ${c.postToOriginateMs.p50} / ${c.postToOriginateMs.p95} | ${c.keyToAckMs.p50} / ${c.keyToAckMs.p95} |`);
    rows.push(`| ${size} | baseline | ${b.callsPerSecond} | ${b.lost} | ${b.maxConcurrent} | ${b.asteriskCpuSeconds} | – | – | – | ${b.postToOriginateMs.p50} / ${b.postToOriginateMs.p95} (call file) | ${b.keyToAckMs.p50} / ${b.keyToAckMs.p95} (AstDB) |`);
  }
  return rows;
}

function targets(results: SizeResult[], drain: DrainResult | undefined): string[] {
  const lines: string[] = [];
  const check = (ok: boolean, text: string) => lines.push(`${ok ? 'MET    ' : 'NOT MET'}  ${text}`);
  for (const { size: n, store, controller: c, baseline: b } of results) {
    const size = `${n} (${store})`;
    const share = (100 * (c.controllerCpuSeconds ?? 0)) / c.asteriskCpuSeconds;
    const withTts = (100 * ((c.controllerCpuSeconds ?? 0) + (c.ttsCpuSeconds ?? 0))) / c.asteriskCpuSeconds;
    check(share <= 15, `${size}: controller CPU ${round(share)} % of Asterisk's (≤ 15 %); with its TTS children ${round(withTts)} %`);
    check(c.callsPerSecond >= 0.9 * b.callsPerSecond, `${size}: calls/s ${c.callsPerSecond} vs baseline ${b.callsPerSecond} (≥ 0.9 ×: ${round(c.callsPerSecond / b.callsPerSecond, 2)})`);
    check(c.keyToAckMs.p95 < 20, `${size}: key→ack committed p95 ${c.keyToAckMs.p95} ms (< 20 ms)`);
    check(c.postToOriginateMs.p95 < 30, `${size}: POST→originate p95 ${c.postToOriginateMs.p95} ms (< 30 ms)`);
  }
  const biggest = results.find((r) => r.size === 200 && r.store === 'sqlite');
  if (biggest) check(biggest.controller.lost === 0 && biggest.controller.maxConcurrent >= 200, `200 concurrent with none lost: lost ${biggest.controller.lost}, max concurrent ${biggest.controller.maxConcurrent}`);
  if (drain) {
    check(drain.maxCallsInAnySecond <= drain.callsPerSecondSet && drain.maxConcurrent <= drain.channelsSet, `pacing never exceeded: at most ${drain.maxCallsInAnySecond} call starts in any second (set ${drain.callsPerSecondSet}), at most ${drain.maxConcurrent} channels (set ${drain.channelsSet})`);
    check(drain.meanCallsPerSecond >= 0.95 * drain.callsPerSecondSet && drain.stuck === 0 && drain.lost === 0, `${drain.orders} queued orders drained at ${drain.meanCallsPerSecond} calls/s (set ${drain.callsPerSecondSet}); stuck ${drain.stuck}, lost ${drain.lost}`);
    // Order machines are admitted up to LIANDONG_MAX_LIVE_ORDERS (default 1000, ~30 KB each): the rest of the burst waits without one.
    check(drain.controllerPeakRssMb <= 500, `${drain.orders} queued orders: controller peak RSS ${drain.controllerPeakRssMb} MB during the drain (≤ 500 MB)`);
  }
  return lines;
}

/** The TTS step's report, printed and written to bench/results/tts-<time>.json. */
function writeTtsOnly(tts: TtsCostResult): void {
  const { lines, target } = ttsCostLines(tts);
  out();
  for (const l of [...lines, '', 'Targets:', target]) out(l);
  fs.mkdirSync(path.join(import.meta.dirname, 'results'), { recursive: true });
  const file = path.join(import.meta.dirname, 'results', `tts-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), node: process.version, tts }, null, 2)}\n`);
  out(`\nwritten ${path.relative(process.cwd(), file)}`);
}

async function main(): Promise<void> {
  if (ONLY !== '' && ONLY !== 'tts') throw new Error(`--only: only "tts" can run alone (got "${ONLY}")`);
  let tts: TtsCostResult | undefined;
  if (TTS_ORDERS > 0) {
    out(`TTS cost: dispatch prompts of ${TTS_ORDERS} synthetic orders in a fresh media folder`);
    tts = await ttsCost(TTS_ORDERS);
    out(`  tts ${JSON.stringify(tts)}`);
  }
  if (ONLY === 'tts') {
    if (tts) writeTtsOnly(tts);
    return;
  }
  const config = configFromProcess('dev');
  out(`liandong bench: sizes ${SIZES.join(', ')} at ${RATE} arrivals/s to sim phone ${NUMBER}; drain ${DRAIN} orders at ${DRAIN_CPS} calls/s, ${DRAIN_CHANNELS} channels${DRAIN_MAX_LIVE !== '' ? `, at most ${DRAIN_MAX_LIVE} order machines` : ''}`);
  await asteriskUp(config, (line) => out(`  ${line}`));
  const status = await asteriskStatus(config);
  if (!status.pid) throw new Error('Asterisk is not running');
  const observer = new AriObserver(config.ari);
  await observer.start();
  await prepareBaseline(config, await baselineMedia(), KEY_TIMEOUT_S);

  const policy = { attemptsPerContact: 1, retryDelaySeconds: 1, ringTimeoutSeconds: 15, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 0, keyTimeoutSeconds: KEY_TIMEOUT_S };
  const results: SizeResult[] = [];
  /** When each measured controller run on SQLite went (the profile counts only these). */
  const measured: Window[] = [];
  const baselines = new Map<number, RunResult>();
  let drain: DrainResult | undefined;
  const pg: BenchPostgres | undefined = STORES.includes('postgres') ? await benchPostgres() : undefined;
  let takeover: TakeoverResult | undefined;
  try {
    for (const store of STORES) {
      const svc = await spawnService(`bench-${store}`, {
        LOG_LEVEL: 'info',
        LIANDONG_MEDIA_DIR: MEDIA_DIR,
        // Not the limit under test here: the controller's own cost is.
        LIANDONG_TRUNK_CALLS_PER_SECOND: '1000',
        LIANDONG_TRUNK_CHANNELS: '1000',
        LIANDONG_API_RATE_LIMIT: '1000000',
        ...(store === 'postgres' && pg ? { LIANDONG_DATABASE_URL: await pg.newDatabase() } : {}),
      }, PROFILE && store === 'sqlite' ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : []);
      try {
        await configureService(svc, NUMBER, '740', policy);
        const setup: RunSetup = { config, observer, asteriskPid: status.pid, number: NUMBER, rate: RATE };
        if (SIZES.length > 0) {
          out(`warm-up (${store}): 10 calls each way`);
          await controllerRun(setup, svc, 10, `warm-${Date.now()}`);
          if (!baselines.size) await baselineRun(setup, 10, `warm-${Date.now()}`, 15, KEY_TIMEOUT_S);
          await quiet(observer);
        }
        for (const size of SIZES) {
          out(`${size} orders: controller on ${store}`);
          const from = monotonicUs();
          const controller = await controllerRun(setup, svc, size, `c${size}-${store}-${Date.now()}`);
          if (store === 'sqlite') measured.push([from, monotonicUs()]);
          await quiet(observer);
          let baseline = baselines.get(size);
          if (!baseline) {
            out(`${size} orders: baseline`);
            baseline = await baselineRun(setup, size, `b${size}-${Date.now()}`, 15, KEY_TIMEOUT_S);
            baselines.set(size, baseline);
            await quiet(observer);
          }
          results.push({ size, store, controller, baseline });
          out(`  controller ${JSON.stringify(controller)}`);
          out(`  baseline   ${JSON.stringify(baseline)}`);
        }
      } finally {
        await svc.stop();
        svc.removeDatabase();
      }
    }
    if (pg && TAKEOVER_ORDERS > 0) {
      out(`takeover: ${TAKEOVER_ORDERS} answered orders on cell 1, SIGKILL, cell 2 takes over`);
      takeover = await takeoverRun(pg, TAKEOVER_ORDERS, 6, out);
      out(`  takeover ${JSON.stringify(takeover)}`);
    }
  } finally {
    await pg?.stop();
  }
  let profile: ProfileSummary | undefined;
  let drainProfile: ProfileSummary | undefined;
  if (PROFILE) {
    // tsx's module loader runs in a worker thread with its own (small) profile: the main thread's is the largest.
    const largest = fs.readdirSync(PROFILE_DIR).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(PROFILE_DIR, f)).sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0];
    if (largest) {
      profile = summarizeProfile(largest, 25, measured);
      keepProfile(largest, 'controller');
    }
    fs.rmSync(PROFILE_DIR, { recursive: true, force: true });
  }

  if (DRAIN > 0) {
    out(`drain: ${DRAIN} orders through a trunk paced at ${DRAIN_CPS} calls/s and ${DRAIN_CHANNELS} channels`);
    const paced = await spawnService('bench-drain', {
      LOG_LEVEL: 'warn',
      LIANDONG_MEDIA_DIR: MEDIA_DIR,
      LIANDONG_TRUNK_CALLS_PER_SECOND: String(DRAIN_CPS),
      LIANDONG_TRUNK_CHANNELS: String(DRAIN_CHANNELS),
      LIANDONG_API_RATE_LIMIT: '1000000',
      ...(DRAIN_MAX_LIVE !== '' ? { LIANDONG_MAX_LIVE_ORDERS: DRAIN_MAX_LIVE } : {}),
    }, PROFILE ? ['--cpu-prof', '--cpu-prof-dir', `${PROFILE_DIR}-drain`] : []);
    try {
      await configureService(paced, '740', '741', { attemptsPerContact: 1, retryDelaySeconds: 0, ringTimeoutSeconds: 10, chainLoops: 0, loopDelaySeconds: 0, maxReplays: 0, keyTimeoutSeconds: 6 });
      drain = await drainRun(paced, observer, status.pid, DRAIN, DRAIN_CPS, DRAIN_CHANNELS, `d-${Date.now()}`);
      out(`  drain ${JSON.stringify(drain)}`);
    } finally {
      await paced.stop();
      paced.removeDatabase();
    }
    if (PROFILE) {
      const dir = `${PROFILE_DIR}-drain`;
      const largest = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f)).sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0];
      if (largest) {
        drainProfile = summarizeProfile(largest);
        keepProfile(largest, 'drain');
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  // The channel limit binding: calls that last (answer, hang up at once, ~0.6 s) at an unlimited
  // pace through a 10-channel trunk; never more than 10 up, every order still settled.
  let cap: DrainResult | undefined;
  if (DRAIN > 0) {
    out('channel cap: 300 orders (600 calls) through a trunk of 10 channels at up to 1000 calls/s');
    const capped = await spawnService('bench-cap', {
      LOG_LEVEL: 'warn',
      LIANDONG_MEDIA_DIR: MEDIA_DIR,
      LIANDONG_TRUNK_CALLS_PER_SECOND: '1000',
      LIANDONG_TRUNK_CHANNELS: '10',
      LIANDONG_API_RATE_LIMIT: '1000000',
    });
    try {
      await configureService(capped, '720', '721', { attemptsPerContact: 1, retryDelaySeconds: 0, ringTimeoutSeconds: 10, chainLoops: 0, loopDelaySeconds: 0, maxReplays: 0, keyTimeoutSeconds: 6 });
      cap = await drainRun(capped, observer, status.pid, 300, 1000, 10, `cap-${Date.now()}`);
      out(`  cap ${JSON.stringify(cap)}`);
    } finally {
      await capped.stop();
      capped.removeDatabase();
    }
  }
  observer.close();

  const lines = [
    `## liandong bench, ${new Date().toISOString()}`,
    `Asterisk ${status.version ?? '?'}, Node ${process.version}, ${(await import('node:os')).cpus().length} CPU; ${RATE} arrivals/s; sim phone ${NUMBER} (answers, presses 1 after 5 s); Local channels in µ-law.`,
    '',
    ...table(results),
    '',
    ...(tts ? [...ttsCostLines(tts).lines, ''] : []),
    ...(drain
      ? [
          `Drain: ${drain.orders} orders posted in ${drain.postSeconds} s (${drain.postsPerSecond}/s); ${drain.calls} calls started over ${drain.drainSeconds} s = ${drain.meanCallsPerSecond} calls/s (set ${drain.callsPerSecondSet}); most in any second ${drain.maxCallsInAnySecond}; most channels at once ${drain.maxConcurrent} (set ${drain.channelsSet}); while orders were still being posted ${drain.rateWhilePosting} calls/s, after ${drain.rateAfterPosting} calls/s; stuck ${drain.stuck}, lost ${drain.lost}; controller CPU ${drain.controllerCpuSeconds} s, Asterisk CPU ${drain.asteriskCpuSeconds} s, controller peak RSS ${drain.controllerPeakRssMb} MB.`,
          '',
        ]
      : []),
    ...(takeover
      ? [
          `Takeover (PostgreSQL, lease ${takeover.leaseSeconds} s): ${takeover.orders} answered orders on cell 1, SIGKILL; cell 2 owned all ${round(takeover.killToAllOwnedMs / 1000, 2)} s later; first new originate per order ${round(takeover.killToOriginateMs.min / 1000, 2)} / ${round(takeover.killToOriginateMs.p50 / 1000, 2)} / ${round(takeover.killToOriginateMs.max / 1000, 2)} s (min / p50 / max); lost ${takeover.lost}, duplicate acknowledgements ${takeover.duplicateAcknowledgements}, channel ids created twice ${takeover.channelsCreatedTwice}.`,
          '',
        ]
      : []),
    ...(cap
      ? [
          `Channel cap: ${cap.orders} orders, ${cap.calls} calls (answered, hung up at once) at up to ${cap.callsPerSecondSet} calls/s through ${cap.channelsSet} channels: most channels at once ${cap.maxConcurrent}; ${cap.meanCallsPerSecond} calls/s over ${cap.drainSeconds} s; stuck ${cap.stuck}, lost ${cap.lost}.`,
          '',
        ]
      : []),
    'Targets:',
    ...targets(results, drain),
    ...(tts ? [ttsCostLines(tts).target] : []),
    ...(takeover ? [`${takeover.killToOriginateMs.max <= (takeover.leaseSeconds + 2) * 1000 && takeover.lost === 0 && takeover.duplicateAcknowledgements === 0 ? 'MET    ' : 'NOT MET'}  takeover: SIGKILL → first new originate of every order ≤ ${takeover.leaseSeconds + 2} s (max ${round(takeover.killToOriginateMs.max / 1000, 2)} s), lost ${takeover.lost}, duplicate acknowledgements ${takeover.duplicateAcknowledgements}`] : []),
    ...(cap ? [`${cap.maxConcurrent <= cap.channelsSet && cap.stuck === 0 && cap.lost === 0 ? 'MET    ' : 'NOT MET'}  channel limit never exceeded: at most ${cap.maxConcurrent} channels (set ${cap.channelsSet}), all ${cap.orders} orders settled`] : []),
    ...(profile
      ? [
          '',
          `Where the controller's CPU goes (node --cpu-prof, samples taken during the measured controller runs on SQLite — not the service's start nor the warm-up — ${profile.totalMs} ms busy):`,
          ...profile.areas.map((a) => `  ${String(a.percent).padStart(5)} %  ${String(a.ms).padStart(6)} ms  ${a.area}`),
          'Top functions by self time:',
          ...profile.functions.map((f) => `  ${String(f.percent).padStart(5)} %  ${String(f.ms).padStart(6)} ms  ${f.fn}`),
        ]
      : []),
    ...(drainProfile
      ? [
          '',
          `Where the controller's CPU goes in the drain (${drainProfile.totalMs} ms busy):`,
          ...drainProfile.areas.map((a) => `  ${String(a.percent).padStart(5)} %  ${String(a.ms).padStart(6)} ms  ${a.area}`),
          'Top functions by self time:',
          ...drainProfile.functions.map((f) => `  ${String(f.percent).padStart(5)} %  ${String(f.ms).padStart(6)} ms  ${f.fn}`),
        ]
      : []),
  ];
  out();
  for (const l of lines) out(l);
  fs.mkdirSync(path.join(import.meta.dirname, 'results'), { recursive: true });
  const file = path.join(import.meta.dirname, 'results', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify({ at: new Date().toISOString(), asterisk: status.version, node: process.version, rate: RATE, number: NUMBER, results, tts, drain, cap, takeover, profile, drainProfile, profiled: PROFILE, report: lines }, null, 2)}\n`);
  out(`\nwritten ${path.relative(process.cwd(), file)}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
