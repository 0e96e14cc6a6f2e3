// `liandong asterisk up | down | status | render --out DIR | cli <command>`.
// Exit codes: 0 ok; 1 failure (ProvisionError: message and remedy printed); 2 usage;
// 3 `status` when our Asterisk is not running or not ready (as LSB `status` does).
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { asteriskCli, asteriskDown, asteriskStatus, asteriskUp } from './lifecycle.js';
import { packRoot, unpackRoot } from './pack.js';
import { renderAsteriskConfigs } from './render.js';
import { asteriskPaths, type AsteriskStatus } from './types.js';
import { ProvisionError } from './types.js';

const USAGE = [
  'usage: liandong asterisk <command>',
  '  up               build the Debian sid root if needed (root, ~1 min the first time), start Asterisk, wait until ARI answers',
  '  up --from FILE   install the root from a tarball written by pack (no network needed), then up',
  '  pack FILE        write the built root to FILE (.tar.zst, .tar.gz or .tar) for a host without internet',
  '  down             stop the Asterisk started by up',
  '  status [--json]  show whether it runs, its pid, version, ARI readiness and log paths',
  '  render --out DIR write the rendered /etc/asterisk files to DIR (for docker-compose)',
  '  cli "<command>"  run one Asterisk CLI command, e.g. cli "core show channels"',
];

export async function runAsteriskCli(args: string[], config: Config, out: (line: string) => void): Promise<number> {
  const [cmd, ...rest] = args;
  try {
    switch (cmd) {
      case 'up': {
        const i = rest.indexOf('--from');
        if (i >= 0) {
          const file = rest[i + 1];
          if (file === undefined || file.startsWith('--')) return usage(out, 'up --from needs a FILE');
          await unpackRoot(asteriskPaths(config), file, out);
        }
        printStatus(await asteriskUp(config, out), out);
        return 0;
      }
      case 'pack': {
        const file = rest[0];
        if (file === undefined || file.startsWith('--')) return usage(out, 'pack needs a FILE');
        const { bytes } = await packRoot(asteriskPaths(config), file, out);
        out(`asterisk: wrote ${path.resolve(file)} (${(bytes / 1e6).toFixed(0)} MB)`);
        return 0;
      }
      case 'down':
        await asteriskDown(config, out);
        out('asterisk: stopped');
        return 0;
      case 'status': {
        const status = await asteriskStatus(config);
        if (rest.includes('--json')) out(JSON.stringify(status));
        else printStatus(status, out);
        return status.running && status.ariReady ? 0 : 3;
      }
      case 'render':
        return render(rest, config, out);
      case 'cli':
        if (rest.length === 0) return usage(out, 'cli needs a command');
        out(await asteriskCli(config, rest.join(' ')));
        return 0;
      default:
        return usage(out, cmd === undefined || cmd === 'help' || cmd === '--help' ? undefined : `unknown command "${cmd}"`);
    }
  } catch (err) {
    if (err instanceof ProvisionError) {
      out(`error: ${err.message}`);
      out(`remedy: ${err.remedy}`);
    } else {
      out(`error: ${(err as Error).message}`);
    }
    return 1;
  }
}

function render(rest: string[], config: Config, out: (line: string) => void): number {
  const i = rest.indexOf('--out');
  const dir = i >= 0 ? rest[i + 1] : undefined;
  if (dir === undefined || dir.startsWith('--')) return usage(out, 'render needs --out DIR');
  const files = renderAsteriskConfigs(config);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of files) fs.writeFileSync(path.join(dir, name), text, { mode: 0o640 });
  out(`asterisk: wrote ${[...files.keys()].join(' ')} to ${path.resolve(dir)} (they contain the ARI password and AMI secret)`);
  return 0;
}

function printStatus(s: AsteriskStatus, out: (line: string) => void): void {
  out(`asterisk: ${s.running ? `running, pid ${s.pid}` : 'not running'}${s.version ? `, version ${s.version}` : ''}`);
  if (s.running) out(`  fully booted: ${s.fullyBooted ? 'yes' : 'no'}, ARI ready: ${s.ariReady ? 'yes' : 'no'}`);
  out(`  root: ${s.root}`);
  out(`  logs: ${s.logDir} (messages), console: ${s.consoleLog}`);
}

function usage(out: (line: string) => void, problem?: string): number {
  if (problem) out(`error: ${problem}`);
  for (const l of USAGE) out(l);
  return 2;
}
