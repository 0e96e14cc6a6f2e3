// TTS cost per order, without Asterisk: in a fresh media folder the prompts are warmed as at boot,
// then the dispatch prompts of N synthetic orders are rendered exactly as a dispatch call asks for
// them (src/dispatch/script-media.ts renderScript), once with a unique code, address and summary
// per order and once with unique codes but the same address and summary (what the call runs of
// the benchmark post).
//
// CPU of the renderer's children (espeak-ng, sox, the helper shells that run them): /proc of this
// process — cutime/cstime (children it waited for: sox conversions run by execFile, helpers that
// died) plus, for each live child (the exec-pool helpers, bash loops), its own time and the
// cutime/cstime of what it waited for (every espeak-ng and sox it ran). Read before and after
// each step (bench/lib/proc.ts cpuTimes; clock ticks of 10 ms, small against the seconds measured
// over 200 orders). The controller's own CPU for the same step is process.cpuUsage() (µs).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Language } from '../../src/config.js';
import { loadCatalog as loadDepartments } from '../../src/departments/catalog.js';
import { renderScript, type ScriptOrder } from '../../src/dispatch/script-media.js';
import { openPrompts } from '../../src/prompts/index.js';
import { cpuTimes } from './proc.js';
import { round } from './stats.js';

export interface TtsStep {
  readonly orders: number;
  /** CPU of espeak-ng, sox and their helper shells, per order (ms). */
  readonly ttsCpuMsPerOrder: number;
  /** The controller's own CPU for the step (renderer, exec pool, file system calls), per order (ms). */
  readonly controllerCpuMsPerOrder: number;
  /** Files rendered (espeak-ng + sox runs), per order. */
  readonly rendersPerOrder: number;
  /** Seconds of audio in the files rendered, per order (padding included). */
  readonly speechSecondsPerOrder: number;
  readonly wallSeconds: number;
}

export interface TtsCostResult {
  readonly language: Language;
  readonly warm: TtsStep & { readonly rendered: number };
  /** Unique code, address and summary per order. */
  readonly unique: TtsStep;
  /** Unique codes; the same address and summary for every order. */
  readonly repeated: TtsStep;
}

const TOWNS = ['城关镇', '河口镇', '新华街道', '东城街道', '石桥乡', '青山镇', '白沙镇', '西湖街道'];
const ROADS = ['人民路', '建设路', '解放路', '中山路', '滨江大道', '朝阳路', '胜利街', '文化路', '工业园区二路', '花园路'];
const PLACES = ['菜市场门口', '幸福小区三栋', '第二中学东侧', '汽车站对面', '农贸市场北门', '县医院后门', '福利院旁', '加油站附近'];
const SUBJECTS = ['居民楼下水管', '路口供水主管', '小区地下管网', '商铺门前排水管', '学校附近消防栓', '菜市场旁下水道'];
const PROBLEMS = ['爆裂', '破损漏水', '严重堵塞', '突然断裂', '发生渗漏', '被施工挖断'];
const EFFECTS = ['路面大量积水，影响车辆通行', '污水外溢，群众反映强烈', '多户居民家中停水', '积水漫入地下车库', '人行道塌陷，存在安全隐患', '水流不止，需尽快关阀抢修', '一名老人在积水处滑倒受伤'];

/** Orders with a summary of their own: every combination of subject, problem and effect once. */
export const MAX_UNIQUE_ORDERS = SUBJECTS.length * PROBLEMS.length * EFFECTS.length;

/** Address and summary of synthetic order `i` (0 ≤ i < MAX_UNIQUE_ORDERS): each i gives texts no other i gives. */
export function syntheticOrder(i: number): { address: string; summary: string } {
  const pick = <T>(list: readonly T[], n: number): T => list[n % list.length] as T;
  // (i mod 80, i mod 97) differ for every i below 7760.
  const address = `${pick(TOWNS, i)}${pick(ROADS, Math.floor(i / TOWNS.length))}${(i % 97) + 1}号${pick(PLACES, i * 3)}`;
  const summary = `${pick(SUBJECTS, i)}${pick(PROBLEMS, Math.floor(i / SUBJECTS.length))}，${pick(EFFECTS, Math.floor(i / (SUBJECTS.length * PROBLEMS.length)))}`;
  return { address, summary };
}

async function measure(dir: string, orders: number, step: () => Promise<unknown>): Promise<TtsStep> {
  const files = () => new Map(fs.readdirSync(dir).filter((f) => /^[0-9a-f]{64}\.wav$/.test(f)).map((f) => [f, fs.statSync(path.join(dir, f)).size]));
  const before = files();
  const cpu0 = cpuTimes(process.pid);
  const self0 = process.cpuUsage();
  const t0 = performance.now();
  await step();
  const wallSeconds = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(self0);
  const cpu1 = cpuTimes(process.pid);
  const rendered = [...files()].filter(([f]) => !before.has(f));
  // 8 kHz 16-bit mono: 16,000 bytes a second after the 44-byte header.
  const speech = rendered.reduce((s, [, bytes]) => s + Math.max(0, bytes - 44) / 16_000, 0);
  return {
    orders,
    ttsCpuMsPerOrder: round(((cpu1.children - cpu0.children) * 1000) / orders, 2),
    controllerCpuMsPerOrder: round((self.user + self.system) / 1000 / orders, 2),
    rendersPerOrder: round(rendered.length / orders, 2),
    speechSecondsPerOrder: round(speech / orders, 2),
    wallSeconds: round(wallSeconds, 2),
  };
}

/** Runs the three steps in a temporary media folder (removed afterwards). */
export async function ttsCost(orders = 200, language: Language = 'zh-CN'): Promise<TtsCostResult> {
  if (!(orders >= 1 && orders <= MAX_UNIQUE_ORDERS)) throw new Error(`--tts-orders: 1 to ${MAX_UNIQUE_ORDERS} (the synthetic summaries run out)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-bench-tts-'));
  const config = loadConfig({ LIANDONG_MEDIA_DIR: dir, LIANDONG_LANG: language }, 'dev');
  const prompts = openPrompts(config);
  const categories = [...loadDepartments().categoriesById.values()].map((c) => c.name[language]);
  const order = (i: number, fixed?: { address: string; summary: string }): ScriptOrder => ({
    code: String(100_000 + ((i * 7919) % 900_000)),
    ...(fixed ?? syntheticOrder(i)),
    major: 0,
    urgency: i % 10 === 0 ? 'urgent' : 'normal',
    // A county's orders come in a few categories, each rendered once: eight of them in turn.
    categoryName: categories[i % 8] ?? '供水',
    departmentName: '',
  });
  try {
    let rendered = 0;
    const warm = await measure(dir, 1, async () => {
      rendered = (await prompts.warm(language)).rendered;
    });
    const all = (from: number, fixed?: { address: string; summary: string }) => () =>
      Promise.all(Array.from({ length: orders }, (_, i) => renderScript(prompts, 'dispatch', order(from + i, fixed))));
    const unique = await measure(dir, orders, all(0));
    const repeated = await measure(dir, orders, all(orders, { address: '城关镇人民路', summary: '城关镇人民路水管爆裂，路面积水' }));
    return { language, warm: { ...warm, rendered }, unique, repeated };
  } finally {
    prompts.renderer.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Report lines and the target line for bench/run.ts. */
export function ttsCostLines(r: TtsCostResult): { lines: string[]; target: string } {
  const step = (s: TtsStep) =>
    `${s.ttsCpuMsPerOrder} ms TTS CPU + ${s.controllerCpuMsPerOrder} ms controller CPU per order; ${s.rendersPerOrder} renders and ${s.speechSecondsPerOrder} s of audio rendered per order; ${s.wallSeconds} s wall`;
  const lines = [
    `TTS cost (${r.unique.orders} synthetic dispatch orders, ${r.language}, fresh media folder, no Asterisk):`,
    `  warm-up at boot: ${r.warm.rendered} files, ${round(r.warm.ttsCpuMsPerOrder / 1000, 2)} s TTS CPU, ${r.warm.wallSeconds} s wall`,
    `  unique code, address, summary: ${step(r.unique)}`,
    `  unique code, same address and summary: ${step(r.repeated)}`,
  ];
  const ok = r.unique.ttsCpuMsPerOrder <= 20;
  return { lines, target: `${ok ? 'MET    ' : 'NOT MET'}  TTS CPU per order (unique summaries) ≤ 20 ms: ${r.unique.ttsCpuMsPerOrder} ms (same summary: ${r.repeated.ttsCpuMsPerOrder} ms)` };
}
