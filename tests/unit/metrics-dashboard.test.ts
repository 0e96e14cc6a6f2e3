// The Grafana dashboard in docs/ queries only metrics the service exposes: every metric name in
// every panel's PromQL is looked up in the /metrics output of the fully composed service (a
// histogram's _bucket/_sum/_count series count as its own).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createServices, type Services } from '../../src/composition.js';
import { createLogger } from '../../src/logging.js';

const DASHBOARD = path.resolve(import.meta.dirname, '../../docs/grafana-dashboard.json');
interface Panel { title: string; targets?: Array<{ expr: string }> }

let services: Services;
const families = new Map<string, string>();
beforeAll(async () => {
  services = await createServices(loadConfig({ LIANDONG_DB: ':memory:', LOG_LEVEL: 'silent' }, 'dev'), { logger: createLogger('silent') });
  await services.app.ready();
  const res = await services.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer dev-viewer-token' } });
  expect(res.statusCode).toBe(200);
  for (const m of res.body.matchAll(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) ([a-z]+)$/gm)) families.set(m[1] as string, m[2] as string);
});
afterAll(async () => {
  await services?.close();
});

/** The series names a family exposes. */
function seriesOf(name: string, type: string): string[] {
  return type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : type === 'summary' ? [name, `${name}_sum`, `${name}_count`] : [name];
}

describe('Grafana dashboard (docs/grafana-dashboard.json)', () => {
  it('queries only metrics that /metrics exposes', () => {
    const dashboard = JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
    const exposed = new Set([...families].flatMap(([n, t]) => seriesOf(n, t)));
    const used = new Set<string>();
    const missing: string[] = [];
    for (const panel of dashboard.panels) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const { expr } of panel.targets ?? []) {
        // Metric names: identifiers not followed by "(" (functions) and not label names or keywords.
        const names = [...expr.replace(/\{[^}]*\}/g, '{}').replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '').matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)]
          .map((m) => m[1] as string)
          .filter((n) => !/^[0-9]/.test(n) && !['e6', 'le'].includes(n) && /_/.test(n));
        expect(names.length, `${panel.title}: ${expr}`).toBeGreaterThan(0);
        for (const n of names) {
          used.add(n);
          if (!exposed.has(n)) missing.push(`${panel.title}: ${n}`);
        }
      }
    }
    expect(missing).toEqual([]);
    expect(used.size).toBeGreaterThan(10);
  });

  it('exposes the metrics docs/metrics.md lists, each with its type', () => {
    const doc = fs.readFileSync(path.resolve(import.meta.dirname, '../../docs/metrics.md'), 'utf8');
    const listed = [...doc.matchAll(/^\| `(liandong_[a-z0-9_]+)` \| ([a-z]+) \|/gm)].map((m) => [m[1] as string, m[2] as string] as const);
    expect(listed.length).toBeGreaterThan(10);
    for (const [name, type] of listed) expect(families.get(name), name).toBe(type);
    const ours = [...families.keys()].filter((n) => n.startsWith('liandong_'));
    expect(ours.filter((n) => !listed.some(([l]) => l === n))).toEqual([]);
  });
});
