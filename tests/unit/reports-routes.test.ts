// GET /api/v1/reports/assessment(.csv|.svg): roles, validation, formats; the CLI's arguments.
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { loadCatalog } from '../../src/departments/catalog.js';
import { buildApp } from '../../src/http/app.js';
import { assessmentRoutes } from '../../src/http/report.routes.js';
import { createLogger } from '../../src/logging.js';
import { AssessmentService } from '../../src/reports/assessment-service.js';
import { parseReportArgs } from '../../src/reports/cli.js';
import { FIGURE_COLUMNS } from '../../src/reports/definitions.js';
import type { Engine } from '../../src/db/store.js';
import { ENGINES } from '../support/engines.js';
import { Fixture } from './reports-fixtures.js';
import { healthyProbe } from '../support/health.js';

const open: Fixture[] = [];
afterEach(async () => {
  for (const f of open.splice(0)) await f.close();
});

const VIEWER = { authorization: 'Bearer dev-viewer-token' };
const NOW = Date.parse('2026-11-20T04:00:00.000Z'); // 2026Q4 in Shanghai

async function setup(engine: Engine) {
  const f = (await Fixture.open(engine))
    .order('a', 'water-supply', '2026-10-02T01:00:00.000Z').attempt('a', 'accepted').acceptance('a', 12)
    .order('b', 'tourism', '2026-10-03T01:00:00.000Z', 'unacknowledged').attempt('b', 'busy').event('b', 'chain_exhausted');
  open.push(await f.flush());
  const config = loadConfig({}, 'dev');
  const catalog = loadCatalog();
  const reports = new AssessmentService({ store: f.store, departments: { current: () => catalog }, config, now: () => NOW });
  const app = await buildApp({
    config,
    logger: createLogger('silent'),
    health: healthyProbe(),
    apiRoutes: async (i) => i.register(assessmentRoutes, { reports }),
  });
  return { app, f };
}

describe.each(ENGINES)('assessment routes on %s', (engine) => {
  describe('GET /api/v1/reports/assessment', () => {
    it('gives the ranked report with every figure defined next to it', async () => {
      const { app } = await setup(engine);
      const res = await app.inject({ method: 'GET', url: '/api/v1/reports/assessment?quarter=2026Q4', headers: VIEWER });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json<{ quarter: string; language: string; departments: Array<{ departmentId: string; rank: number | null; received: number }>; definitions: Record<string, { label: string; definition: string }> }>();
      expect(body.quarter).toBe('2026Q4');
      expect(body.language).toBe('zh-CN');
      expect(body.departments.slice(0, 2).map((d) => [d.departmentId, d.rank, d.received])).toEqual([['water-supply', 1, 1], ['tourism', 2, 1]]);
      for (const c of [...FIGURE_COLUMNS.map((x) => x.key), 'rank', 'scope']) expect(body.definitions[c]?.definition, c).toMatch(/\S{4}/);
      expect(body.definitions.acceptanceRate?.label).toBe('受理率');
      const en = (await app.inject({ method: 'GET', url: '/api/v1/reports/assessment?quarter=2026Q4&lang=en', headers: VIEWER })).json<{ definitions: Record<string, { label: string }> }>();
      expect(en.definitions.acceptanceRate?.label).toBe('Acceptance rate');
    });

    it('defaults to the current quarter in Asia/Shanghai', async () => {
      const { app } = await setup(engine);
      const body = (await app.inject({ method: 'GET', url: '/api/v1/reports/assessment', headers: VIEWER })).json<{ quarter: string; totals: { received: number } }>();
      expect(body).toMatchObject({ quarter: '2026Q4', totals: { received: 2 } });
    });

    it.each([
      ['?quarter=2026Q5', 400, 'invalid_quarter'],
      ['?quarter=Q4-2026', 400, 'invalid_quarter'],
      ['?quarter=1900Q1', 400, 'invalid_quarter'],
      ['?quarter=2026Q4&lang=fr', 400, 'invalid_request'],
      ['?quarter=2026Q4&extra=1', 400, 'invalid_request'],
    ])('refuses %s', async (query, status, code) => {
      const { app } = await setup(engine);
      const res = await app.inject({ method: 'GET', url: `/api/v1/reports/assessment${query}`, headers: VIEWER });
      expect(res.statusCode).toBe(status);
      expect(res.json<{ error: { code: string } }>().error.code).toBe(code);
    });

    it('is for the linkage office (viewer) and admins only', async () => {
      const { app } = await setup(engine);
      const url = '/api/v1/reports/assessment?quarter=2026Q4';
      expect((await app.inject({ method: 'GET', url })).statusCode).toBe(401);
      expect((await app.inject({ method: 'GET', url, headers: { authorization: 'Bearer dev-desk-token' } })).statusCode).toBe(403);
      expect((await app.inject({ method: 'GET', url, headers: { authorization: 'Bearer dev-department-token' } })).statusCode).toBe(403);
      expect((await app.inject({ method: 'GET', url, headers: { authorization: 'Bearer dev-admin-token' } })).statusCode).toBe(200);
    });
  });

  describe('GET /api/v1/reports/assessment.csv and .svg', () => {
    it('CSV: the transmittal ranked, with a county total, as a download', async () => {
      const { app } = await setup(engine);
      const res = await app.inject({ method: 'GET', url: '/api/v1/reports/assessment.csv?quarter=2026Q4', headers: VIEWER });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(res.headers['content-disposition']).toBe('attachment; filename="assessment-2026Q4.csv"');
      const lines = res.body.split('\r\n');
      expect(lines[0]?.startsWith('\uFEFF季度,名次,单位编号,单位,接收指令,受理,未应答')).toBe(true);
      expect(lines[1]?.startsWith('2026Q4,1,water-supply,')).toBe(true);
      expect(lines[2]?.startsWith('2026Q4,2,tourism,')).toBe(true);
      expect(lines.at(-2)?.startsWith('2026Q4,,,全县合计,2,1,1,0,0,0,50.0%,12.0,12.0,1.00')).toBe(true);
    });

    it('SVG: a chart the console can inline; unknown chart refused', async () => {
      const { app } = await setup(engine);
      const res = await app.inject({ method: 'GET', url: '/api/v1/reports/assessment.svg?quarter=2026Q4&chart=acceptance', headers: VIEWER });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('image/svg+xml; charset=utf-8');
      expect(res.body).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      const bad = await app.inject({ method: 'GET', url: '/api/v1/reports/assessment.svg?quarter=2026Q4&chart=pie', headers: VIEWER });
      expect(bad.statusCode).toBe(400);
    });
  });
});

describe('liandong report arguments', () => {
  it.each([
    [['assessment'], { format: 'text' }],
    [['assessment', '--quarter', '2026Q4', '--csv'], { format: 'csv', quarter: '2026Q4' }],
    [['assessment', '--json', '--lang', 'en'], { format: 'json', language: 'en' }],
  ])('%j', (args, expected) => {
    expect(parseReportArgs(args)).toEqual(expected);
  });

  it.each([
    [[], 'missing subcommand'],
    [['bogus'], 'unknown report'],
    [['assessment', '--quarter'], '--quarter needs a value'],
    [['assessment', '--csv', '--json'], 'exclude each other'],
    [['assessment', '--lang', 'fr'], '--lang must be one of'],
    [['assessment', '--pdf'], 'unknown option'],
  ])('refuses %j', (args, problem) => {
    expect(parseReportArgs(args)).toContain(problem);
  });
});
