// Where the controller's CPU goes: a V8 .cpuprofile (node --cpu-prof) summed by self time,
// per function and per area (our code by folder, dependencies by package, Node internals, GC).
import fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  /** µs on the system's monotonic clock (V8's TimeTicks; process.hrtime reads the same clock). */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** [from, to] in µs on the monotonic clock (monotonicUs). */
export type Window = readonly [number, number];

/** Now on the clock of a profile's sample times, µs. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

export interface ProfileSummary {
  readonly totalMs: number;
  /** Share of sampled time per area, busy time only (idle excluded), percent. */
  readonly areas: Array<{ area: string; ms: number; percent: number }>;
  readonly functions: Array<{ fn: string; ms: number; percent: number }>;
}

function areaOf(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'V8 garbage collector';
  if (fn === '(program)') return 'V8/native (program)';
  if (!url) return 'native';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `npm: ${pkg[1]}`;
  if (url.startsWith('node:')) return `node: ${url.slice(5).split('/').slice(0, 2).join('/')}`;
  const ours = /\/(src|machines)\/(.+?)\/?[^/]*$/.exec(url);
  if (ours) return `${ours[1]}/${(ours[2] ?? '').split('/')[0] ?? ''}`.replace(/\/$/, '');
  return url;
}

/**
 * windows: only samples taken inside them count (the measured runs, not the service's start, its
 * module loading and the warm-up); none given: the whole profile.
 */
export function summarizeProfile(file: string, top = 25, windows?: readonly Window[]): ProfileSummary {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let at = p.startTime;
  p.samples.forEach((id, i) => {
    const delta = p.timeDeltas[i] ?? 0;
    at += delta;
    if (windows && !windows.some(([from, to]) => at >= from && at <= to)) return;
    self.set(id, (self.get(id) ?? 0) + delta);
  });
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n || n.callFrame.functionName === '(idle)') continue;
    busy += us;
    const { functionName, url, lineNumber } = n.callFrame;
    const area = areaOf(url, functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|machines)\//, '$1/')}:${lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
  }
  const list = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([k, us]) => ({ k, ms: Math.round(us / 1000), percent: Math.round((1000 * us) / busy) / 10 }));
  return {
    totalMs: Math.round(busy / 1000),
    areas: list(areas).slice(0, top).map(({ k, ms, percent }) => ({ area: k, ms, percent })),
    functions: list(fns).slice(0, top).map(({ k, ms, percent }) => ({ fn: k, ms, percent })),
  };
}
