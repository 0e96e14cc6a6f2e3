// The render helpers (src/prompts/exec-pool.ts): real bash, real commands. Arguments and input
// pass through literally (no shell parsing), failures come back typed, a stuck command is killed,
// and the folders of killed processes are swept.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createExecPool, sweepRenderFolders, type ExecPool } from '../../src/prompts/exec-pool.js';

const dirs: string[] = [];
const pools: ExecPool[] = [];
afterEach(() => {
  pools.splice(0).forEach((p) => p.close());
  dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true }));
});
function setup(size = 2) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-exec-'));
  dirs.push(dir);
  const pool = createExecPool(size, dir);
  pools.push(pool);
  return { dir, pool };
}

describe('exec pool', () => {
  it('runs a command with its stdin; arguments with shell syntax arrive as they are', async () => {
    const { dir, pool } = setup();
    const name = path.join(dir, 'a; touch pwned $(id) `id` \'q" & b\nc|d');
    const text = '工单 901112：城关镇人民路 $(rm -rf /) ; `id`\n第二行';
    await expect(pool.run('tee', [name], { stdin: text, timeoutMs: 5000 })).resolves.toBe('');
    expect(fs.readFileSync(name, 'utf8')).toBe(text);
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('pwned') || n === 'touch')).toEqual([]);
  });

  it('each helper reuses one job, one stdin and one stderr file: many jobs leave no more files, and a job never reports an earlier job\'s stderr', async () => {
    const { dir, pool } = setup(2);
    await Promise.all(Array.from({ length: 20 }, (_, i) => pool.run('tee', [path.join(dir, `out-${i}`)], { stdin: `job ${i}`, timeoutMs: 5000 })));
    expect(fs.readFileSync(path.join(dir, 'out-7'), 'utf8')).toBe('job 7');
    const [folder, ...others] = fs.readdirSync(dir).filter((n) => n.startsWith('liandong-render-'));
    expect(others).toEqual([]);
    expect(fs.readdirSync(path.join(dir, folder ?? '')).length).toBeLessThanOrEqual(6);
    const one = setup(1).pool;
    await expect(one.run('sh', ['-c', 'echo "first failure" >&2; exit 3'], { timeoutMs: 5000 })).rejects.toThrow('first failure');
    const second = one.run('sh', ['-c', 'exit 4'], { timeoutMs: 5000 });
    await expect(second).rejects.toThrow('(exit 4)');
    await expect(second).rejects.not.toThrow('first failure');
  });

  it('a failing command reports its exit status and stderr; a missing one is not_found; the pool goes on', async () => {
    const { pool } = setup();
    await expect(pool.run('sh', ['-c', 'echo "bad voice" >&2; exit 3'], { timeoutMs: 5000 })).rejects.toMatchObject({ code: 'failed', message: expect.stringContaining('(exit 3): bad voice') as string });
    await expect(pool.run('no-such-command-liandong', [], { timeoutMs: 5000 })).rejects.toMatchObject({ code: 'not_found' });
    await expect(pool.run('true', [], { timeoutMs: 5000 })).resolves.toBe('');
  });

  it('pipes a command into another; a failure names the command that failed, with its stderr', async () => {
    const { dir, pool } = setup(1);
    const out = path.join(dir, 'piped.txt');
    await pool.run('cat', [], { stdin: '工单 901112 $(id)', timeoutMs: 5000, pipeTo: { command: 'tee', args: [out] } });
    expect(fs.readFileSync(out, 'utf8')).toBe('工单 901112 $(id)');
    await expect(pool.run('sh', ['-c', 'echo "no such voice" >&2; exit 3'], { timeoutMs: 5000, pipeTo: { command: 'cat', args: [] } }))
      .rejects.toMatchObject({ code: 'failed', message: expect.stringMatching(/^sh -c .*\(exit 3\): no such voice/) as string });
    await expect(pool.run('printf', ['x'], { timeoutMs: 5000, pipeTo: { command: 'sh', args: ['-c', 'cat > /dev/null; echo "not a WAV" >&2; exit 2'] } }))
      .rejects.toMatchObject({ code: 'failed', message: expect.stringMatching(/^sh -c .*\(exit 2\): not a WAV/) as string });
    await expect(pool.run('printf', ['x'], { timeoutMs: 5000, pipeTo: { command: 'no-such-command-liandong', args: [] } }))
      .rejects.toMatchObject({ code: 'not_found', message: expect.stringContaining('no-such-command-liandong') as string });
    await expect(pool.run('sleep', ['30'], { timeoutMs: 300, pipeTo: { command: 'cat', args: [] } })).rejects.toMatchObject({ code: 'timeout' });
    await expect(pool.run('true', [], { timeoutMs: 5000, pipeTo: { command: 'cat', args: [] } })).resolves.toBe('');
  });

  it('kills a command past its time limit, with its helper, and the next job gets a new helper', async () => {
    const { dir, pool } = setup(1);
    const started = Date.now();
    await expect(pool.run('sleep', ['30'], { timeoutMs: 300 })).rejects.toMatchObject({ code: 'timeout' });
    expect(Date.now() - started).toBeLessThan(5000);
    const out = path.join(dir, 'after.txt');
    await pool.run('tee', [out], { stdin: 'still working', timeoutMs: 5000 });
    expect(fs.readFileSync(out, 'utf8')).toBe('still working');
  });

  it('runs at most `size` jobs at once and queues the rest', async () => {
    const { dir, pool } = setup(2);
    const log = path.join(dir, 'log');
    // Each job appends "start", waits 0.3 s, appends "end": with two helpers never three starts in a row.
    const job = () => pool.run('sh', ['-c', `echo start >> '${log}'; sleep 0.3; echo end >> '${log}'`], { timeoutMs: 5000 });
    await Promise.all([job(), job(), job(), job()]);
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
    expect(lines.filter((l) => l === 'start')).toHaveLength(4);
    let open = 0;
    let most = 0;
    for (const l of lines) {
      open += l === 'start' ? 1 : -1;
      most = Math.max(most, open);
    }
    expect(most).toBe(2);
  });

  it('a helper killed from outside while idle is replaced; the job after it runs', async () => {
    const { dir, pool } = setup(1);
    await pool.run('true', [], { timeoutMs: 5000 });
    const bashChildren = () => fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).filter((n) => {
      try {
        const stat = fs.readFileSync(`/proc/${n}/stat`, 'utf8');
        return stat.includes('(bash)') && Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid;
      } catch {
        return false; // exited while we looked
      }
    });
    // The helpers of the tests before, closed in their afterEach, end at their end of input.
    await expect.poll(() => bashChildren().length, { timeout: 10_000 }).toBe(1);
    const helpers = bashChildren();
    process.kill(Number(helpers[0]), 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const out = path.join(dir, 'after-kill.txt');
    await pool.run('tee', [out], { stdin: 'new helper', timeoutMs: 5000 });
    expect(fs.readFileSync(out, 'utf8')).toBe('new helper');
  });

  it('refuses jobs after close', async () => {
    const { pool } = setup();
    pool.close();
    await expect(pool.run('true', [], { timeoutMs: 1000 })).rejects.toMatchObject({ code: 'failed' });
  });

  it('sweeps the render folders of processes that are gone, and only those', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-exec-'));
    dirs.push(dir);
    const make = (name: string) => fs.mkdirSync(path.join(dir, name));
    make('liandong-render-4001-aB3dE9'); // its process is gone
    make('liandong-render-4002-Xy7Zw1'); // its process runs
    make(`liandong-render-${process.pid}-Qq1Ww2`); // this process's own
    make('liandong-render-oldnam'); // no pid in the name: not known to be gone
    make('other-4001-aB3dE9');
    fs.writeFileSync(path.join(dir, 'liandong-render-4003-Aa1Bb2'), 'a file, not a folder');
    expect(sweepRenderFolders(dir, (pid) => pid === 4002)).toBe(1);
    expect(fs.readdirSync(dir).sort()).toEqual(['liandong-render-4002-Xy7Zw1', 'liandong-render-4003-Aa1Bb2', `liandong-render-${process.pid}-Qq1Ww2`, 'liandong-render-oldnam', 'other-4001-aB3dE9'].sort());
  });

  it('a pool\'s first job sweeps what a killed process left (a real pid that has exited)', async () => {
    const { dir, pool } = setup(1);
    const gone = spawnSync('true').pid;
    fs.mkdirSync(path.join(dir, `liandong-render-${gone}-Kk2Ll3`));
    await pool.run('true', [], { timeoutMs: 5000 });
    const left = fs.readdirSync(dir).filter((n) => n.startsWith('liandong-render-'));
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(new RegExp(`^liandong-render-${process.pid}-`));
  });
});

