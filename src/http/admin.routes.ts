// /api/v1/admin: the telecom admin's tools over HTTP (admin role only) — dialplan render, check
// and reload, endpoint status, test calls, escalation-policy dry runs, and the audit log.
// Thin: the work is in src/admin/; every change and call lands in the audit log there.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { loadAsteriskCatalog } from '../admin/asterisk-catalog.js';
import { AuditLog } from '../admin/audit.js';
import { checkDialplan, formatProblem, type CheckReport } from '../admin/dialplan-check.js';
import { reloadDialplan } from '../admin/dialplan-reload.js';
import { listEndpoints } from '../admin/endpoints.js';
import { DryRunError, phonesOf, planDryRun, simulateDryRun } from '../admin/policy-dry-run.js';
import { LiveDryRuns, LiveRunRefused } from '../admin/policy-live.js';
import { BEHAVIOURS } from '../admin/policy-simulation.js';
import { redactSecrets, telephonySummary } from '../admin/render-view.js';
import { loadTelephonyConfig, TELEPHONY_FILE, TelephonyConfigError } from '../admin/telephony-config.js';
import { resolveTestCallTarget, runTestCall } from '../admin/test-call.js';
import type { CoreServices, FeaturePlugin } from '../composition.js';
import type { Key } from '../telephony/port.js';
import { actorOf } from './auth.js';
import { errorBodySchema, HttpError } from './errors.js';
import { adminSchemas } from './response-schemas.js';

export interface AdminRouteOptions {
  /** Templates folder (default dialplans/). */
  readonly templatesDir?: string;
  /** Telephony config file (default config/telephony.json). */
  readonly telephonyFile?: string;
  /** Asterisk's config folder for reload (default: liandong's own Asterisk root). */
  readonly etcDir?: string;
}

const KEY_PATTERN = '^[0-9*#A-D]$';
const policyDryRunSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['departmentId'],
  properties: {
    departmentId: { type: 'string', maxLength: 64 },
    mode: { type: 'string', enum: ['simulated', 'live'] },
    policy: { type: 'object' },
    phones: { type: 'object', maxProperties: 50, additionalProperties: { type: 'string', enum: [...BEHAVIOURS] } },
    major: { type: 'boolean' },
    at: { type: 'string', maxLength: 40 },
  },
  examples: [{ departmentId: 'water-supply', mode: 'simulated', phones: { 'duty-room': 'no_answer', backup: 'accept' } }],
} as const;
const testCallSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['target'],
  properties: {
    target: { type: 'string', minLength: 1, maxLength: 130 },
    expectKey: { type: 'string', pattern: KEY_PATTERN },
    ringTimeoutSeconds: { type: 'integer', minimum: 2, maximum: 120 },
    keyTimeoutSeconds: { type: 'integer', minimum: 2, maximum: 60 },
  },
  examples: [{ target: 'water-supply/duty-room', expectKey: '1' }],
} as const;
const auditQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    action: { type: 'string', pattern: '^[a-z_]+(\\.[a-z_]+)*(\\.\\*)?$', maxLength: 64 },
    actor: { type: 'string', maxLength: 64 },
    since: { type: 'string', format: 'date-time' },
    // Query strings are text and the app coerces no types: digits, parsed in the handler.
    before: { type: 'string', pattern: '^[1-9][0-9]{0,14}$' },
    limit: { type: 'string', pattern: '^(500|[1-4][0-9]{2}|[1-9][0-9]?)$' },
  },
} as const;

export function createAdminRoutes(options: AdminRouteOptions = {}): FeaturePlugin {
  const plugin: FastifyPluginAsync<{ core: CoreServices }> = async (app, { core }) => {
    const audit = new AuditLog(core.store);
    const admin = { onRequest: app.requireRole('admin') };
    const actor = (request: FastifyRequest): string => actorOf(request);
    const departmentIds = (): Set<string> => new Set(core.departments.current().departments.map((d) => d.id));
    const sources = { templatesDir: options.templatesDir, telephonyFile: options.telephonyFile };
    const catalog = () => loadAsteriskCatalog((c) => core.ami.command(c));
    const liveRuns = new LiveDryRuns({
      telephony: core.telephony, prompts: core.prompts, logger: core.logger, language: core.config.language, timezone: core.config.timezone,
      catalog: () => core.departments.current(),
    });
    const checkView = (r: CheckReport) => ({
      ok: r.ok,
      asteriskChecked: r.asteriskChecked,
      problems: r.problems.map((p) => ({ ...p, text: formatProblem(p) })),
      files: [...r.rendered].map(([name, text]) => ({ name, lines: text.split('\n').length })),
      telephony: r.telephony ? telephonySummary(r.telephony) : null,
    });

    const answers = (ok: Record<number, unknown>, more: Record<number, unknown> = {}) => ({ response: { ...ok, ...more } });
    app.get('/api/v1/admin/telephony', { ...admin, schema: answers({ 200: adminSchemas.telephony, 409: errorBodySchema }) }, async () => {
      const file = options.telephonyFile ?? TELEPHONY_FILE;
      try {
        return { file, ...telephonySummary(loadTelephonyConfig(file)) };
      } catch (err) {
        if (err instanceof TelephonyConfigError) throw new HttpError(409, 'telephony_config_invalid', err.message);
        throw err;
      }
    });

    app.post('/api/v1/admin/dialplan/render', { ...admin, schema: answers({ 200: adminSchemas.render }) }, async () => {
      const r = await checkDialplan(core.config, { ...sources, departmentIds: departmentIds() });
      // Review copy: passwords and secrets are masked; `liandong dialplan render --out` writes the real files.
      return { ...checkView(r), rendered: Object.fromEntries([...r.rendered].map(([name, text]) => [name, redactSecrets(text)])) };
    });

    app.post('/api/v1/admin/dialplan/check', { ...admin, schema: answers({ 200: adminSchemas.check }) }, async () => checkView(await checkDialplan(core.config, { ...sources, departmentIds: departmentIds(), catalog })));

    app.post('/api/v1/admin/dialplan/reload', { ...admin, schema: answers({ 200: adminSchemas.reload, 422: adminSchemas.reload, 502: adminSchemas.reload }) }, async (request: FastifyRequest, reply: FastifyReply) => {
      const r = await reloadDialplan(core.config, { ami: core.ami, audit, actor: actor(request), departmentIds: departmentIds() }, { ...sources, etcDir: options.etcDir });
      const body = {
        status: r.status, changed: r.changed, needsRestart: r.needsRestart, endpointsAdded: r.endpointsAdded, endpointsRemoved: r.endpointsRemoved, ms: r.ms,
        check: checkView(r.check),
      };
      if (r.status === 'refused') {
        const errors = r.check.problems.filter((p) => p.severity === 'error').map(formatProblem);
        return reply.status(422).send({ error: { code: 'dialplan_invalid', message: `not reloaded: ${r.reason ?? ''}${errors.length ? `: ${errors.slice(0, 3).join('; ')}` : ''}` }, ...body });
      }
      if (r.status === 'rolled_back') return reply.status(502).send({ error: { code: 'reload_rolled_back', message: r.reason ?? 'reload failed' }, ...body });
      return body;
    });

    app.get('/api/v1/admin/endpoints', { ...admin, schema: answers({ 200: adminSchemas.endpoints, 503: errorBodySchema }) }, async () => {
      let telephony;
      let warning: string | undefined;
      try {
        telephony = loadTelephonyConfig(options.telephonyFile);
      } catch (err) {
        if (!(err instanceof TelephonyConfigError)) throw err;
        telephony = { trunk: null, extensions: [], feedbackNumbers: [] };
        warning = err.message;
      }
      try {
        return { endpoints: await listEndpoints(core.ami, telephony), ...(warning ? { warning } : {}) };
      } catch (err) {
        throw new HttpError(503, 'asterisk_unreachable', `Asterisk did not answer over AMI: ${(err as Error).message}`);
      }
    });

    app.post<{ Body: { target: string; expectKey?: string; ringTimeoutSeconds?: number; keyTimeoutSeconds?: number } }>(
      '/api/v1/admin/test-call',
      { ...admin, schema: { body: testCallSchema, ...answers({ 200: adminSchemas.testCall, 503: errorBodySchema }) } },
      async (request) => {
        const target = resolveTestCallTarget(core.departments.current(), request.body.target, core.config.language);
        if ('error' in target) throw new HttpError(400, 'invalid_target', target.error);
        if (!core.telephony.health().connected) throw new HttpError(503, 'asterisk_unreachable', 'not connected to Asterisk (ARI); no call placed');
        const { expectKey, ringTimeoutSeconds, keyTimeoutSeconds } = request.body;
        return runTestCall(
          { telephony: core.telephony, prompts: core.prompts, logger: core.logger, audit, actor: actor(request) },
          target,
          { ...(expectKey ? { expectKey: expectKey as Key } : {}), ...(ringTimeoutSeconds ? { ringTimeoutSeconds } : {}), ...(keyTimeoutSeconds ? { keyTimeoutSeconds } : {}) },
        );
      },
    );

    app.post<{ Body: { departmentId: string; mode?: 'simulated' | 'live'; policy?: Record<string, unknown>; phones?: Record<string, string>; major?: boolean; at?: string } }>(
      '/api/v1/admin/policy/dry-run',
      { ...admin, schema: { body: policyDryRunSchema, ...answers({ 200: adminSchemas.dryRunReport, 202: adminSchemas.dryRunStarted, 404: errorBodySchema, 409: errorBodySchema }) } },
      async (request, reply) => {
        const { mode = 'simulated', ...req } = request.body;
        let plan;
        try {
          plan = planDryRun(core.departments, req, core.config.language, core.config.timezone);
        } catch (err) {
          if (err instanceof DryRunError) throw new HttpError(err.code === 'department_not_found' ? 404 : 400, err.code, err.message);
          throw err;
        }
        const who = actor(request);
        const summary = { departmentId: plan.departmentId, mode, policy: plan.policy, phones: phonesOf(plan), major: plan.major };
        if (mode === 'simulated') {
          const report = await simulateDryRun(plan);
          await audit.record(who, 'policy.dry_run', { ...summary, status: report.status, seconds: report.seconds, calls: report.calls });
          return report;
        }
        if (!core.config.asterisk.simPhones) throw new HttpError(409, 'sim_phones_off', 'a live dry run dials the simulated phones, which are not loaded (LIANDONG_SIM_PHONES=false, as in production); use mode "simulated"');
        try {
          // The run ends after this answer: its audit entry is a posted write (a failure is reported by the queue).
          const run = await liveRuns.start(plan, (done) => {
            core.writes.post('audit policy.dry_run', () => audit.record(who, 'policy.dry_run', { ...summary, runId: done.runId, status: done.report?.status ?? done.status, seconds: done.report?.seconds ?? null, calls: done.report?.calls ?? null, ...(done.reason ? { reason: done.reason } : {}) }));
          });
          return reply.status(202).send(run);
        } catch (err) {
          if (err instanceof LiveRunRefused) throw new HttpError(409, 'live_run_refused', err.message);
          throw err;
        }
      },
    );

    app.get<{ Params: { runId: string } }>(
      '/api/v1/admin/policy/dry-run/:runId',
      { ...admin, schema: { params: { type: 'object', properties: { runId: { type: 'string', maxLength: 64 } } }, ...answers({ 200: adminSchemas.dryRun, 404: errorBodySchema }) } },
      async (request) => {
        const run = liveRuns.get(request.params.runId);
        if (!run) throw new HttpError(404, 'run_not_found', `no live dry run "${request.params.runId}" (runs are kept in memory until the service restarts)`);
        return run;
      },
    );

    app.get<{ Querystring: { action?: string; actor?: string; since?: string; before?: string; limit?: string } }>(
      '/api/v1/admin/audit',
      { ...admin, schema: { querystring: auditQuerySchema, ...answers({ 200: adminSchemas.audit }) } },
      async (request) => {
        const { before, limit, ...filter } = request.query;
        return await audit.list({ ...filter, ...(before ? { before: Number(before) } : {}), ...(limit ? { limit: Number(limit) } : {}) });
      },
    );
    return Promise.resolve();
  };
  return plugin;
}

export const adminRoutes: FeaturePlugin = createAdminRoutes();
