// /api/v1/departments and /api/v1/directory: member departments, their duty contacts, rosters
// and escalation policy; the command centre and county leaders. Changes are admin-only and
// land in the audit log.
import type { FastifyPluginAsync } from 'fastify';
import { isDialableNumber } from '../config.js';
import { validateDepartmentUpdate, type Department } from '../departments/catalog.js';
import type { DepartmentPlatform, DepartmentStore } from '../departments/store.js';
import { policyProblems, type DispatchPolicy } from '../dispatch/policy.js';
import { maskPhone } from '../logging.js';
import { actorOf } from './auth.js';
import { errorBodySchema, HttpError } from './errors.js';
import { departmentListSchema, departmentUpdatedSchema, directoryResponseSchema } from './response-schemas.js';

const endpointSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'number'],
  properties: {
    id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,63}$' },
    name: { type: 'object', additionalProperties: false, required: ['zh-CN', 'en'], properties: { 'zh-CN': { type: 'string', minLength: 1, maxLength: 100 }, en: { type: 'string', minLength: 1, maxLength: 100 } } },
    number: { type: 'string' },
  },
} as const;
const directorySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['commandCentre', 'leaders'],
  properties: { commandCentre: endpointSchema, leaders: { type: 'array', maxItems: 20, items: endpointSchema } },
  examples: [{ commandCentre: { id: 'command-centre', name: { 'zh-CN': '110指挥中心', en: '110 command centre' }, number: '05770000110' }, leaders: [{ id: 'deputy-mayor', name: { 'zh-CN': '分管副县长', en: 'Deputy county head' }, number: '13900000001' }] }],
} as const;
const departmentUpdateExample = {
  name: { 'zh-CN': '县自来水厂（水务集团）', en: 'County water works' },
  categories: ['water-main-burst'],
  contacts: [{ id: 'duty-room', name: '值班室', number: '05770001234', priority: 1 }, { id: 'backup', name: '备班', number: '13800001111', priority: 2 }],
  policy: { attemptsPerContact: 2, retryDelaySeconds: 60, ringTimeoutSeconds: 30, chainLoops: 1, loopDelaySeconds: 120, maxReplays: 2, keyTimeoutSeconds: 8 },
};

type Endpoint = { id: string; name: { 'zh-CN': string; en: string }; number: string };

function isPlatform(v: unknown): v is DepartmentPlatform {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  const url = (v as { url?: unknown }).url;
  return keys.length === 1 && typeof url === 'string' && url.length <= 500 && /^https?:\/\/[^\s]+$/.test(url);
}

export const departmentRoutes: FastifyPluginAsync<{ departments: DepartmentStore }> = async (app, { departments }) => {
  // Numbers are shown in clear only to the admin, who manages them; every other role sees them
  // masked (138****8000), as the API reference says.
  const view = (d: Department, reveal: boolean) => ({
    id: d.id,
    name: d.name,
    dutyClass: d.dutyClass,
    categories: d.categories,
    contacts: d.contacts.map((c) => ({ id: c.id, name: c.name, number: reveal ? c.number : maskPhone(c.number), priority: c.priority })),
    rosters: d.rosters,
    policy: departments.policyOf(d.id),
    ownPolicy: departments.hasOwnPolicy(d.id),
    platform: departments.platformOf(d.id),
  });

  app.get('/api/v1/departments', { onRequest: app.requireRole('desk', 'viewer', 'department'), schema: { response: { 200: departmentListSchema } } }, async (request) => {
    const catalog = departments.current();
    return {
      departments: catalog.departments.map((d) => view(d, request.role === 'admin')),
      categories: catalog.categories.map((c) => ({ id: c.id, name: c.name, departmentId: c.departmentId, major: c.major, informant: c.informant, ...(c.source ? { source: c.source } : {}) })),
    };
  });

  app.put<{ Params: { id: string }; Body: Record<string, unknown> }>(
    '/api/v1/departments/:id',
    { onRequest: app.requireRole('admin'), schema: { params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } }, body: { type: 'object', examples: [departmentUpdateExample] }, response: { 200: departmentUpdatedSchema, 404: errorBodySchema } } },
    async (request) => {
      const { policy, platform, ...rest } = request.body;
      const problems = policy === undefined ? [] : policyProblems(policy);
      if (platform !== undefined && platform !== null && !isPlatform(platform)) {
        problems.push('platform: must be null or {"url": "http(s)://…"} (the department platform that receives normal orders)');
      }
      const result = validateDepartmentUpdate(rest, departments.current(), request.params.id);
      if (!result.ok) problems.push(...result.problems);
      if (!result.ok || problems.length > 0) {
        const status = problems.some((p) => p.includes('does not exist')) ? 404 : 400;
        throw new HttpError(status, status === 404 ? 'department_not_found' : 'invalid_request', problems.join('; '));
      }
      await departments.updateDepartment(request.params.id, result.value, policy as Partial<DispatchPolicy> | undefined, actorOf(request), platform as DepartmentPlatform | null | undefined);
      request.log.info({ departmentId: request.params.id, contacts: result.value.contacts.map((c) => maskPhone(c.number)) }, 'department updated');
      const updated = departments.current().departmentsById.get(request.params.id);
      return { ...view(updated as Department, true), reassignedCategories: result.reassigned };
    },
  );

  app.get('/api/v1/directory', { onRequest: app.requireRole('desk', 'viewer'), schema: { response: { 200: directoryResponseSchema } } }, async (request) => {
    const c = departments.current();
    const shown = <E extends { number: string }>(e: E): E => (request.role === 'admin' ? e : { ...e, number: maskPhone(e.number) });
    return { commandCentre: shown(c.commandCentre), leaders: c.leaders.map(shown) };
  });

  app.put<{ Body: { commandCentre: Endpoint; leaders: Endpoint[] } }>(
    '/api/v1/directory',
    { onRequest: app.requireRole('admin'), schema: { body: directorySchema, response: { 200: directoryResponseSchema } } },
    async (request) => {
      const all = [request.body.commandCentre, ...request.body.leaders];
      const bad = all.find((e) => !isDialableNumber(e.number));
      if (bad) throw new HttpError(400, 'invalid_number', `${bad.id}: number must be 3 to 20 ASCII digits with an optional leading +`);
      if (new Set(all.map((e) => e.id)).size !== all.length) throw new HttpError(400, 'invalid_request', 'ids in the directory must be unique');
      await departments.setDirectory(request.body, actorOf(request));
      return request.body;
    },
  );
  return Promise.resolve();
};
