// Small process helpers: run a command with a deadline, find executables, wait.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface RunResult {
  /** Exit code, or null when killed by a signal (including our timeout). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export interface RunOptions {
  /** Milliseconds before the command is killed (SIGKILL) and timedOut is reported. */
  readonly timeoutMs: number;
  /** Also append stdout and stderr to this file (build logs). */
  readonly logFile?: string;
}

/** Runs a command without a shell; never rejects except when it cannot be spawned at all. */
export function run(cmd: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = opts.logFile === undefined ? undefined : fs.createWriteStream(opts.logFile, { flags: 'a' });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      log?.write(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      log?.write(b);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      log?.end();
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      log?.end();
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** The last `n` non-empty lines of a text, for error messages. */
export function tailLines(text: string, n: number): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() !== '').slice(-n);
}

/** The last `n` lines of a file (reads at most the last 64 KiB); [] when it does not exist. */
export function tailFile(file: string, n: number): string[] {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      return tailLines(buf.toString('utf8'), n);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return [];
  }
}

// Fixed directories instead of $PATH: root's PATH may lack /usr/sbin (e.g. after `su`),
// and configuration is read only in src/config.ts.
const BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Absolute path of an executable in the standard system directories, or undefined. */
export function findExecutable(name: string): string | undefined {
  for (const dir of BIN_DIRS) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not in this directory; try the next
      continue;
    }
  }
  return undefined;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
