// Demo part 4: several units on one order (联合处置). One order, one code, two units phoned in
// parallel: urban management (the lead) accepts at once; the transport bureau's duty room is
// busy and its backup accepts. The case record shows each unit's calls and acceptance.
import type { Services } from '../composition.js';
import { configFromProcess, type Role } from '../config.js';
import type { CaseRecord } from '../orders/case-record.js';

type Out = (line: string) => void;
const bearer = (role: Role) => ({ authorization: `Bearer ${configFromProcess('dev').apiTokens.find((t) => t.role === role)?.token ?? ''}` });
const DESK = bearer('desk');
const ADMIN = bearer('admin');
/** Short delays for the demo; no feedback deadlines (no reminder calls in this part). */
const POLICY = { attemptsPerContact: 1, ringTimeoutSeconds: 6, retryDelaySeconds: 2, chainLoops: 0, keyTimeoutSeconds: 6, arrivalDeadlineSeconds: 0, completionDeadlineSeconds: 0 };

export async function coDispatchOrder(s: Services, out: Out): Promise<void> {
  const api = async (method: 'GET' | 'POST' | 'PUT', url: string, headers: Record<string, string>, payload?: object) => {
    const res = await s.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
  };
  out('Call 4: one order for two units (联合处置): urban management leads, the transport bureau helps');
  const list = (await api('GET', '/api/v1/departments', DESK)).body as { departments: Array<{ id: string; name: unknown; categories: string[] }> };
  const units = [
    { id: 'urban-management', contacts: [{ id: 'duty-room', name: '值班室', number: '70111', priority: 1 }], says: 'duty room 70111 (presses 1 after 1 s)' },
    {
      id: 'transport',
      contacts: [{ id: 'duty-room', name: '值班室', number: '740', priority: 1 }, { id: 'backup', name: '备班', number: '70211', priority: 2 }],
      says: 'duty room 740 (busy), backup 70211 (presses 1 after 2 s)',
    },
  ];
  for (const u of units) {
    const dept = list.departments.find((d) => d.id === u.id);
    if (!dept) throw new Error(`config/departments.json has no ${u.id} department`);
    const put = await api('PUT', `/api/v1/departments/${u.id}`, ADMIN, { name: dept.name, categories: dept.categories, contacts: u.contacts, policy: POLICY });
    out(`  PUT /api/v1/departments/${u.id} (admin) → ${put.status}: ${u.says}`);
  }
  const created = await api('POST', '/api/v1/orders', DESK, {
    externalId: `demo-co-${Date.now()}`,
    category: 'municipal-facility-damage',
    departmentIds: units.map((u) => u.id),
    summary: '人民路路面塌陷，车辆陷入',
    address: '城关镇人民路20号',
    reporterPhone: '13800138000',
    urgency: 'urgent',
  });
  out(`  POST /api/v1/orders {departmentIds: [urban-management, transport]} (desk) → ${created.status} ${JSON.stringify(created.body)}`);
  const id = created.body.id as string;
  const started = Date.now();
  const recordOf = async () => (await api('GET', `/api/v1/orders/${id}`, DESK)).body as unknown as CaseRecord;
  const settled = (r: CaseRecord) => r.units.every((u) => u.status !== 'dispatching') && r.attempts.every((a) => a.endedAt !== null);
  let record = await recordOf();
  while (!settled(record) && Date.now() - started < 90_000) {
    await new Promise((r) => setTimeout(r, 300));
    record = await recordOf();
  }
  out(`  case record: code ${record.code}, status ${record.status} (the lead's)`);
  for (const a of record.attempts) {
    const at = ((Date.parse(a.startedAt) - started) / 1000).toFixed(1).padStart(5);
    out(`  [${at} s] attempt ${a.id.slice(id.length + 1)} ${a.departmentId ?? '?'} → ${a.contactId}: ${a.result}${a.cause ? `, cause ${a.cause.code}` : ''}${a.digits ? `, keys "${a.digits}"` : ''}`);
  }
  for (const u of record.units) {
    const ack = u.acknowledgement;
    out(`  unit ${u.departmentId}${u.lead ? ' (lead)' : ''}: ${u.status}${ack ? `, accepted by ${ack.contactId} ${ack.secondsToAccept.toFixed(1)} s after the order` : ''}`);
  }
}
