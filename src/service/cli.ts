// `liandong service install [--dir DIR] [--settings FILE] [--user NAME]`: writes the systemd
// units and the EnvironmentFile from the settings of this shell (validated as production).
import fs from 'node:fs';
import path from 'node:path';
import { settingsFromProcess, type Config } from '../config.js';
import { ASTERISK_UNIT, asteriskUnit, environmentFile, SERVICE_UNIT, serviceUnit, unitPathProblem } from './systemd.js';

const USAGE = [
  'usage: liandong service install [--dir /etc/systemd/system] [--settings /etc/liandong/liandong.env] [--user NAME]',
  '  writes liandong-asterisk.service and liandong.service, and the EnvironmentFile (mode 0600) with the',
  '  settings exported in this shell (checked as for production); an existing EnvironmentFile is kept.',
];
const APP_DIR = path.resolve(import.meta.dirname, '../..');

export async function runServiceCli(args: string[], config: Config, out: (line: string) => void): Promise<number> {
  const [cmd, ...rest] = args;
  if (cmd !== 'install') {
    for (const l of USAGE) out(l);
    return cmd === undefined || cmd === 'help' ? 0 : 2;
  }
  const opt = (name: string, fallback: string): string => {
    const i = rest.indexOf(name);
    return i >= 0 && rest[i + 1] !== undefined ? (rest[i + 1] as string) : fallback;
  };
  if (config.profile !== 'production') {
    out('error: service install writes production settings; run it without --profile dev');
    return 2;
  }
  const dir = path.resolve(opt('--dir', '/etc/systemd/system'));
  const envFile = path.resolve(opt('--settings', '/etc/liandong/liandong.env'));
  const user = rest.includes('--user') ? opt('--user', '') : undefined;
  const options = { appDir: APP_DIR, node: process.execPath, envFile, asteriskCache: config.asterisk.cacheDir, user };
  const problems = [options.appDir, options.node, envFile, options.asteriskCache].map(unitPathProblem).filter((p): p is string => p !== undefined);
  if (user !== undefined && !/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) problems.push(`--user must be a system user name, got "${user}"`);
  if (problems.length > 0) {
    for (const p of problems) out(`error: ${p}`);
    return 2;
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, ASTERISK_UNIT), asteriskUnit(options), { mode: 0o644 });
  fs.writeFileSync(path.join(dir, SERVICE_UNIT), serviceUnit(options), { mode: 0o644 });
  out(`service: wrote ${path.join(dir, ASTERISK_UNIT)} and ${path.join(dir, SERVICE_UNIT)}`);
  if (fs.existsSync(envFile)) {
    out(`service: kept the existing ${envFile} (remove it to write it again)`);
  } else {
    fs.mkdirSync(path.dirname(envFile), { recursive: true, mode: 0o700 });
    // Created 0600 from the first byte: the secrets are never readable by others, even briefly.
    fs.writeFileSync(envFile, environmentFile(settingsFromProcess()), { mode: 0o600, flag: 'wx' });
    out(`service: wrote ${envFile} (mode 0600) with ${Object.keys(settingsFromProcess()).length} settings`);
  }
  fs.chmodSync(envFile, 0o600);
  if (!fs.existsSync(path.join(APP_DIR, 'dist/src/main.js'))) out('note: dist/ is not built yet: run `npm run build` before starting liandong.service');
  out('next: systemctl daemon-reload && systemctl enable --now liandong-asterisk.service liandong.service; logs: journalctl -u liandong -u liandong-asterisk');
  return Promise.resolve(0);
}
