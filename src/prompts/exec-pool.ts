// Runs the renderer's espeak-ng and sox from a few long-lived helper shells instead of forking
// the service for each: a fork of the ~200 MB service process cost ~5.6 ms of event-loop CPU
// (node --cpu-prof in the benchmark: ChildProcess.spawn was 26 % of the controller's CPU, two
// forks per order). A helper is a bash loop; for each job the service writes the job file, then
// one newline on the helper's stdin:
//   job file: <argc> NUL <arg> NUL … <argc2> NUL <arg> NUL … <stdin file> NUL <stderr file> NUL
//   → "<exit status>\n" on stdout, or "<status> <status>\n" for a pipe (argc2 > 0: the first
//   command's stdout goes to the second one's stdin).
// The job travels in a file because bash reads a pipe one byte per read(2): ~0.35 ms of the
// helper's CPU for a 370-byte render job, against ~0.03 ms for mapfile on a file (measured, 2000 jobs).
// Arguments are run as arrays ("${args[@]}"), never parsed by a shell, and the text to speak goes
// through a file (one per helper, rewritten by each of its jobs): nothing a caller typed can
// become a command.
// The last command's stdout is discarded, so this runner suits commands that write files
// (renders); probes that read stdout (`--version`, `--voices`) use runProcess.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import type { Socket } from 'node:net';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { RunFn } from './renderer.js';

const HELPER_SCRIPT = `
set -u
job=$1
while IFS= read -r _; do
  mapfile -d '' -t f < "$job"
  n=\${f[0]}; a=("\${f[@]:1:n}")
  i=$((n + 1)); m=\${f[i]}; b=("\${f[@]:i+1:m}")
  i=$((i + 1 + m)); input=\${f[i]}; err=\${f[i+1]}
  if ((m == 0)); then
    "\${a[@]}" < "$input" > /dev/null 2> "$err"
    printf '%s\\n' "$?"
  else
    : > "$err"
    "\${a[@]}" < "$input" 2>> "$err" | "\${b[@]}" > /dev/null 2>> "$err"
    printf '%s\\n' "\${PIPESTATUS[*]}"
  fi
done
`;
/** bash's status for a command it could not find. */
const NOT_FOUND_STATUS = 127;
const STDERR_MAX_CHARS = 2000;

type HelperProcess = ChildProcessByStdio<Writable, Readable, null>;

interface Helper {
  readonly child: HelperProcess;
  /** Its job, stdin and stderr files in the private folder, rewritten by each of its jobs. */
  readonly files: { readonly job: string; readonly input: string; readonly err: string };
  /** Exited (killed from outside, or bash missing): never given a job again. */
  readonly dead: () => boolean;
  /** Resolves with the exit statuses of the next status line the helper prints (one per command of the job); [-1] when it died. */
  next(): Promise<number[]>;
}

export class ExecPoolError extends Error {
  constructor(readonly code: 'not_found' | 'failed' | 'timeout', message: string) {
    super(message);
    this.name = 'ExecPoolError';
  }
}

export interface ExecPool {
  /** RunFn for file-writing commands: resolves '' on exit 0; rejects with ExecPoolError otherwise. */
  readonly run: RunFn;
  /** Ends the helpers (their loops stop at end of input; a stuck one is killed). */
  close(): void;
}

/** The private folders are named `liandong-render-<pid>-XXXXXX`: the pid says whose a folder is. */
const FOLDER_PREFIX = 'liandong-render-';
/** A render folder's name, its pid captured (mkdtemp adds six characters). */
const FOLDER_NAME = new RegExp(`^${FOLDER_PREFIX}(\\d+)-[A-Za-z0-9]{6}$`);

/**
 * Removes the render folders under `tmpRoot` that this user's processes left when they were
 * killed (close() removes a folder; a SIGKILL or a crash does not): those whose process is gone.
 * A folder whose pid runs (maybe another process reusing it) is kept. The number removed.
 */
export function sweepRenderFolders(tmpRoot: string = os.tmpdir(), alive: (pid: number) => boolean = processAlive): number {
  const uid = process.getuid?.();
  let removed = 0;
  for (const name of fsSync.readdirSync(tmpRoot)) {
    const pid = FOLDER_NAME.exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || alive(Number(pid))) continue;
    const folder = path.join(tmpRoot, name);
    const st = fsSync.lstatSync(folder, { throwIfNoEntry: false });
    if (!st?.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
    fsSync.rmSync(folder, { recursive: true, force: true });
    removed += 1;
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** `size` helpers at most, started on first use; a private temp folder (under `tmpRoot`, default the system's) holds each helper's job, stdin and stderr files. */
export function createExecPool(size: number, tmpRoot: string = os.tmpdir()): ExecPool {
  let tmpDir: string | undefined;
  let making: Promise<string> | undefined;
  /** The private folder, made on first use (a failure is the caller's, and the next run tries again). */
  const folderOf = async (): Promise<string> => {
    if (tmpDir) return tmpDir;
    making ??= fs.mkdtemp(path.join(tmpRoot, `${FOLDER_PREFIX}${process.pid}-`)).finally(() => (making = undefined));
    tmpDir = await making;
    try {
      sweepRenderFolders(tmpRoot);
    } catch (err) {
      // Left folders are only litter: the renders go on; the reason is kept for the next error message.
      lastError = `sweeping old render folders: ${err instanceof Error ? err.message : String(err)}`;
    }
    return tmpDir;
  };
  const idle: Helper[] = [];
  const waiting: Array<(h: Helper) => void> = [];
  const all = new Set<Helper>();
  let closed = false;
  let lastError: string | undefined;
  const kill = (child: HelperProcess): void => {
    if (child.exitCode !== null || child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // ESRCH: gone meanwhile
    }
  };

  // Each helper has its own job, stdin and stderr file in the private folder, rewritten by each of
  // its jobs (a helper runs one at a time; bash's `2>` truncates): no file made or removed per job.
  let helperCount = 0;
  const start = (folder: string): Helper => {
    const n = (helperCount += 1);
    const files = { job: path.join(folder, `${n}.job`), input: path.join(folder, `${n}.in`), err: path.join(folder, `${n}.err`) };
    // detached: its own process group, so a timeout kills the helper and the commands it runs.
    const child = spawn('bash', ['-c', HELPER_SCRIPT, 'liandong-render-helper', files.job], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    // An idle helper must not keep a CLI (demo, report) alive: a job's own timer does while it runs.
    child.unref();
    (child.stdin as unknown as Socket).unref();
    (child.stdout as unknown as Socket).unref();
    const statuses: number[][] = [];
    const readers: Array<(s: number[]) => void> = [];
    let buffered = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buffered += d;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const status = buffered.slice(0, nl).split(' ').map(Number);
        buffered = buffered.slice(nl + 1);
        const reader = readers.shift();
        if (reader) reader(status);
        else statuses.push(status);
      }
    });
    // A helper that dies (killed, bash missing) answers its pending job, and any later one, with status -1.
    let exited = false;
    const onExit = (): void => {
      exited = true;
      all.delete(helper);
      readers.splice(0).forEach((r) => r([-1]));
    };
    child.once('exit', onExit);
    child.once('error', (err) => {
      lastError = err.message;
      onExit();
    });
    // EPIPE after the helper died: its exit (status -1 to the pending job) is what is reported.
    child.stdin.on('error', (err) => void (lastError = err.message));
    const helper: Helper = {
      child,
      files,
      dead: () => exited,
      next: () => {
        if (statuses.length > 0) return Promise.resolve(statuses.shift() as number[]);
        if (exited) return Promise.resolve([-1]);
        return new Promise((r) => readers.push(r));
      },
    };
    all.add(helper);
    return helper;
  };
  const acquire = (folder: string): Promise<Helper> => {
    let h = idle.pop();
    while (h?.dead()) h = idle.pop();
    if (h) return Promise.resolve(h);
    if (all.size < size) return Promise.resolve(start(folder));
    return new Promise((resolve) => waiting.push(resolve));
  };
  const release = (h: Helper): void => {
    const w = waiting.shift();
    if (w) w(h);
    else idle.push(h);
  };
  const discard = (h: Helper): void => {
    all.delete(h);
    kill(h.child);
    // A waiter takes a fresh helper in its place.
    const w = waiting.shift();
    if (w) w(start(path.dirname(h.files.job)));
  };

  const run: RunFn = async (command, args, { stdin, timeoutMs, pipeTo }) => {
    if (closed) throw new ExecPoolError('failed', 'the render helpers are closed');
    const folder = await folderOf();
    const helper = await acquire(folder);
    const { files } = helper;
    const commands = [{ command, args }, ...(pipeTo ? [pipeTo] : [])];
    let timer: NodeJS.Timeout | undefined;
    let statuses: number[] | 'timeout';
    try {
      // No input (sox): /dev/null, nothing written.
      const input = stdin ? files.input : '/dev/null';
      if (stdin) await fs.writeFile(input, stdin);
      const fields = [String(args.length + 1), command, ...args, String(pipeTo ? pipeTo.args.length + 1 : 0), ...(pipeTo ? [pipeTo.command, ...pipeTo.args] : []), input, files.err];
      await fs.writeFile(files.job, `${fields.join('\0')}\0`);
      helper.child.stdin.write('\n');
      statuses = await Promise.race([
        helper.next(),
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
      ]);
    } catch (err) {
      release(helper); // the job could not be written: the helper was given nothing
      throw err;
    } finally {
      clearTimeout(timer);
    }
    const names = commands.map((c) => c.command).join(' | ');
    if (statuses === 'timeout' || statuses[0] === -1) {
      discard(helper);
      if (statuses === 'timeout') throw new ExecPoolError('timeout', `${names} took longer than ${timeoutMs} ms and was killed`);
      throw new ExecPoolError('failed', `${names}: the render helper (bash) exited${lastError ? ` (${lastError})` : ''}`);
    }
    // A command that is not there is the cause (its partner then dies of a closed pipe); else the first that failed.
    const at = statuses.includes(NOT_FOUND_STATUS) ? statuses.indexOf(NOT_FOUND_STATUS) : statuses.findIndex((s) => s !== 0);
    const failed = at >= 0 ? commands[at] : undefined;
    const status = statuses[at] ?? 0;
    // Read before the helper is handed on: its next job truncates the file.
    const stderr = failed && status !== NOT_FOUND_STATUS
      ? (await fs.readFile(files.err, 'utf8').catch((err: NodeJS.ErrnoException) => `(no stderr: ${err.code ?? err.message})`)).slice(0, STDERR_MAX_CHARS)
      : '';
    release(helper);
    if (!failed) return '';
    if (status === NOT_FOUND_STATUS) throw new ExecPoolError('not_found', `${failed.command} is not installed (not found on PATH)`);
    throw new ExecPoolError('failed', `${failed.command} ${failed.args.join(' ')} failed (exit ${status}): ${stderr.trim().slice(0, 500)}`);
  };

  return {
    run,
    close() {
      closed = true;
      for (const h of all) {
        h.child.stdin.end();
        // A helper still running a command after 5 s is killed with it.
        setTimeout(() => kill(h.child), 5000).unref();
      }
      all.clear();
      idle.length = 0;
      if (tmpDir) fsSync.rmSync(tmpDir, { recursive: true, force: true });
    },
  };
}
