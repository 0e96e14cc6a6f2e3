// The baseline: the same calls placed by Asterisk alone, with call files (pbx_spool) into a
// dialplan that plays the same prompts with Read(), records the acceptance in AstDB and plays
// the same confirmation. No controller anywhere. The context and the two modules it needs
// (pbx_spool, func_db) are added at run time through the CLI, so the rendered configuration
// stays what production runs; a restart of Asterisk removes them again.
import fs from 'node:fs';
import path from 'node:path';
import { asteriskCli } from '../../src/asterisk/index.js';
import { asteriskPaths } from '../../src/asterisk/types.js';
import type { Config } from '../../src/config.js';

export const BASELINE_CONTEXT = 'liandong-bench';
const DB_FAMILY = 'liandong_bench';
/** Inside the Asterisk root. */
const SOUNDS = '/var/lib/asterisk/sounds/liandong-bench';

/** Host paths of the rendered WAVs, in playing order: the same files the controller plays (a prompt with slots is several parts). */
export interface BaselineMedia {
  readonly order: readonly string[];
  readonly menu: readonly string[];
  readonly accepted: readonly string[];
  readonly goodbye: readonly string[];
}
type Prompt = keyof BaselineMedia;
const PROMPTS: readonly Prompt[] = ['order', 'menu', 'accepted', 'goodbye'];
/** Files per dialplan line that builds a list (each path ~50 bytes; a CLI command stays under 512). */
const FILES_PER_LINE = 6;

function asteriskIds(root: string): { uid: number; gid: number } {
  const line = fs.readFileSync(path.join(root, 'etc/passwd'), 'utf8').split('\n').find((l) => l.startsWith('asterisk:'));
  const f = line?.split(':');
  return { uid: Number(f?.[2]), gid: Number(f?.[3]) };
}

/** Copies the prompts into the root, loads pbx_spool and func_db, (re)writes the dialplan context. */
export async function prepareBaseline(config: Config, media: BaselineMedia, keyTimeoutSeconds: number): Promise<void> {
  const { root } = asteriskPaths(config);
  const dir = path.join(root, SOUNDS);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const name of PROMPTS) media[name].forEach((file, i) => fs.copyFileSync(file, path.join(dir, `${name}-${i}.wav`)));
  for (const mod of ['pbx_spool.so', 'func_db.so']) {
    const out = await asteriskCli(config, `module show like ${mod}`);
    if (!/Running/.test(out)) await asteriskCli(config, `module load ${mod}`);
  }
  await installContext(config, keyTimeoutSeconds);
  await asteriskCli(config, `database deltree ${DB_FAMILY}`);
}

/**
 * (Re)writes the dialplan context. A `dialplan reload` anywhere (admin tools, other test runs)
 * drops contexts added at run time, so each baseline run installs it again first.
 */
export async function installContext(config: Config, keyTimeoutSeconds: number): Promise<void> {
  // Every part of a prompt (the files prepareBaseline copied), in order.
  const copied = fs.readdirSync(path.join(asteriskPaths(config).root, SOUNDS));
  const parts = (name: Prompt): string[] => {
    const count = copied.filter((f) => new RegExp(`^${name}-\\d+\\.wav$`).test(f)).length;
    if (count === 0) throw new Error(`the baseline has no ${name} prompt in ${SOUNDS}; prepareBaseline first`);
    return Array.from({ length: count }, (_, i) => `${SOUNDS}/${name}-${i}`);
  };
  // A list of files for Read()/Playback() (joined with &) built in a channel variable a few files a
  // line: the remote console refuses a command of 512 bytes or more, and an order is ~16 files.
  const collect = (variable: string, files: string[]): string[] =>
    Array.from({ length: Math.ceil(files.length / FILES_PER_LINE) }, (_, i) =>
      `Set(${variable}=${i === 0 ? '' : `\${${variable}}&`}${files.slice(i * FILES_PER_LINE, (i + 1) * FILES_PER_LINE).join('&')})`);
  const prelude = [...collect('BENCH_HEAR', [...parts('order'), ...parts('menu')]), ...collect('BENCH_ACK', [...parts('accepted'), ...parts('goodbye')])];
  const ackPriority = prelude.length + 4;
  // Each step as app(data): the CLI takes everything between the first '(' and the last ')' as data.
  const steps = [
    ...prelude,
    // Play the order and the menu; a key interrupts; one key, the same key timeout as the controller.
    `Read(KEY,\${BENCH_HEAR},1,,1,${keyTimeoutSeconds})`,
    `GotoIf($[0\${KEY}=1]?${ackPriority})`,
    'Hangup()',
    // The acknowledgement: who (the channel) and when (ms), durable in AstDB before the confirmation.
    `Set(DB(${DB_FAMILY}/\${BENCHID})=\${UNIQUEID}|\${STRFTIME(,,%s.%3q)})`,
    'Playback(${BENCH_ACK})',
    'Hangup()',
  ];
  for (const [i, step] of steps.entries()) await asteriskCli(config, `dialplan add extension s,${i + 1},${step} into ${BASELINE_CONTEXT} replace`);
  const shown = await asteriskCli(config, `dialplan show s@${BASELINE_CONTEXT}`);
  if (!shown.includes('Read(KEY') || !shown.includes('Playback(')) throw new Error(`the baseline context was not installed:\n${shown}`);
}

/** True while the baseline context is in the dialplan. */
export async function contextPresent(config: Config): Promise<boolean> {
  return (await asteriskCli(config, `dialplan show s@${BASELINE_CONTEXT}`).catch(() => '')).includes('Read(KEY');
}

/** One call file, written aside and moved into the spool (pbx_spool reads it at once). */
export function dropCallFile(config: Config, benchId: string, number: string, waitSeconds: number): void {
  const { root } = asteriskPaths(config);
  const { uid, gid } = asteriskIds(root);
  const tmp = path.join(root, 'var/spool/asterisk/tmp', `${benchId}.call`);
  fs.mkdirSync(path.dirname(tmp), { recursive: true });
  fs.writeFileSync(
    tmp,
    [
      `Channel: Local/${number}@sim-phones`,
      'Codecs: ulaw',
      'CallerID: 110',
      'MaxRetries: 0',
      `WaitTime: ${waitSeconds}`,
      `Context: ${BASELINE_CONTEXT}`,
      'Extension: s',
      'Priority: 1',
      `Setvar: BENCHID=${benchId}`,
      '',
    ].join('\n'),
  );
  fs.chownSync(tmp, uid, gid);
  fs.renameSync(tmp, path.join(root, 'var/spool/asterisk/outgoing', `${benchId}.call`));
}

/** Acknowledgements the dialplan recorded: bench id → the channel's unique id and the time (epoch ms). */
export async function baselineAcks(config: Config): Promise<Map<string, { uniqueId: string; at: number }>> {
  const out = await asteriskCli(config, `database show ${DB_FAMILY}`);
  const acks = new Map<string, { uniqueId: string; at: number }>();
  for (const line of out.split('\n')) {
    const m = new RegExp(`^/${DB_FAMILY}/(\\S+)\\s*:\\s*(\\S+)\\|([0-9.]+)`).exec(line.trim());
    if (m) acks.set(m[1] as string, { uniqueId: m[2] as string, at: Number(m[3]) * 1000 });
  }
  return acks;
}
