// Demo part 2: a dispatch order through the HTTP API, the duty room not answering, the backup
// accepting with 1, no arrival reported in time so a reminder call (督查催办) where the backup
// presses 1 "arrived", the completion by API, and the case record as the linkage office sees it.
import type { Services } from '../composition.js';
import { configFromProcess, type Role } from '../config.js';
import type { CaseRecord } from '../orders/case-record.js';

type Out = (line: string) => void;
// The demo signs in with the configured token of each role (the dev profile's unless overridden).
const bearer = (role: Role) => ({ authorization: `Bearer ${configFromProcess('dev').apiTokens.find((t) => t.role === role)?.token ?? ''}` });
const DESK = bearer('desk');
const ADMIN = bearer('admin');
const DEPT = bearer('department');

export async function dispatchOrder(s: Services, out: Out): Promise<void> {
  const api = async (method: 'GET' | 'POST' | 'PUT', url: string, headers: Record<string, string>, payload?: object) => {
    const res = await s.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
    return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
  };
  out('Call 2: a dispatch order for the water-supply company (供水公司)');
  const dept = (await api('GET', '/api/v1/departments', DESK)).body as { departments: Array<{ id: string; name: unknown; categories: string[] }> };
  const water = dept.departments.find((d) => d.id === 'water-supply');
  if (!water) throw new Error('config/departments.json has no water-supply department');
  const put = await api('PUT', '/api/v1/departments/water-supply', ADMIN, {
    name: water.name,
    categories: water.categories,
    contacts: [
      { id: 'duty-room', name: '值班室', number: '730', priority: 1 },
      { id: 'backup', name: '备班', number: '70211', priority: 2 },
    ],
    // Arrival deadline 5 s after the acceptance for the demo (urgent default: 30 min).
    policy: { attemptsPerContact: 1, ringTimeoutSeconds: 6, retryDelaySeconds: 2, chainLoops: 0, keyTimeoutSeconds: 6, arrivalDeadlineSeconds: 5 },
  });
  out(`  PUT /api/v1/departments/water-supply (admin) → ${put.status}: duty room 730 (rings, never answers), backup 70211 (answers, presses 1 after 2 s); ring timeout 6 s; arrival deadline 5 s`);
  const created = await api('POST', '/api/v1/orders', DESK, {
    externalId: `demo-${Date.now()}`,
    category: 'water-main-burst',
    summary: '主干道水管爆裂，路面积水',
    address: '城关镇人民路12号',
    // The simulated citizen who answers the callback survey 1, 2, 1.
    reporterPhone: '7011121',
    urgency: 'urgent',
  });
  out(`  POST /api/v1/orders (desk) → ${created.status} ${JSON.stringify(created.body)}`);
  const id = created.body.id as string;
  const started = Date.now();
  let shown = 0;
  while (s.dispatcher.isLive(id) && Date.now() - started < 90_000) {
    shown = printNewEvents((await api('GET', `/api/v1/orders/${id}`, DESK)).body as unknown as CaseRecord, shown, started, out);
    await new Promise((r) => setTimeout(r, 300));
  }
  shown = printNewEvents((await api('GET', `/api/v1/orders/${id}`, DESK)).body as unknown as CaseRecord, shown, started, out);
  // Nobody reports the arrival: 5 s after the acceptance the reminder call goes to the backup who
  // accepted; it presses 1 and the arrival is recorded through the phone.
  out('  (no arrival reported: the reminder call 督查催办 follows)');
  while ((await api('GET', `/api/v1/orders/${id}`, DESK)).body.status !== 'arrived' && Date.now() - started < 90_000) {
    shown = printNewEvents((await api('GET', `/api/v1/orders/${id}`, DESK)).body as unknown as CaseRecord, shown, started, out);
    await new Promise((r) => setTimeout(r, 300));
  }
  shown = printNewEvents((await api('GET', `/api/v1/orders/${id}`, DESK)).body as unknown as CaseRecord, shown, started, out);
  type Calls = { reminders: { calls: Array<{ result: string | null }> } };
  while (((await api('GET', `/api/v1/orders/${id}`, DESK)).body as unknown as Calls).reminders.calls.some((c) => c.result === null) && Date.now() - started < 90_000) {
    await new Promise((r) => setTimeout(r, 300)); // the reminder's confirmation is still playing
  }
  const fb = await api('POST', `/api/v1/orders/${id}/feedback`, DEPT, { kind: 'completed', note: '已修复' });
  out(`  POST /api/v1/orders/${id}/feedback {kind: completed} (department) → ${fb.status}`);
  const record = (await api('GET', `/api/v1/orders/${id}`, DESK)).body as unknown as CaseRecord;
  out('');
  out(`Case record (GET /api/v1/orders/${id}):`);
  out(`  code ${record.code}  status ${record.status}  department ${record.departmentId}  reporter ${record.reporterPhone}`);
  for (const a of record.attempts) {
    out(`  attempt ${a.seq} ${a.script} → ${a.contactId} (${a.number}): ${a.result}${a.cause ? `, cause ${a.cause.code}` : ''}${a.digits ? `, keys "${a.digits}"` : ''}`);
  }
  const ack = record.acknowledgement;
  out(ack ? `  acknowledgement: ${ack.contactId} accepted at ${ack.acceptedAt}, ${ack.secondsToAccept.toFixed(1)} s after the order, disputed ${ack.disputed}` : '  acknowledgement: none');
  out(`  feedback: ${record.feedback.map((f) => `${f.kind} (${f.via}, ${f.actor}) at ${f.at}`).join('; ')}`);
  const reminders = (record as unknown as { reminders: { calls: Array<{ id: string; contactId: string; result: string | null; digits: string; answer: string | null }> } }).reminders;
  for (const c of reminders.calls) out(`  reminder call ${c.id} → ${c.contactId}: ${c.result ?? 'live'}, keys "${c.digits}", answer ${c.answer ?? '—'}`);
  out(`  timeline: ${record.events.length} events`);
  await surveyCallback(s, id, out, api);
}

type Api = (method: 'GET' | 'POST' | 'PUT', url: string, headers: Record<string, string>, payload?: object) => Promise<{ status: number; body: Record<string, unknown> }>;

/** Demo part 3: the completed case was put on the callback list; the citizen answers 1, 2, 1. */
async function surveyCallback(s: Services, orderId: string, out: Out, api: Api): Promise<void> {
  out('');
  out('Call 3: the three-satisfactions callback to the citizen (simulated phone 7011121 answers 1, 2, 1)');
  const started = Date.now();
  type Survey = { kind: string; status: string; answers: Record<string, string | null>; dueAt: string };
  const surveysOf = async () => ((await api('GET', `/api/v1/orders/${orderId}`, DESK)).body.surveys ?? []) as Survey[];
  const finished = (x: Survey) => ['completed', 'partial', 'unreachable', 'opted_out'].includes(x.status);
  while (!(await surveysOf()).some((x) => x.kind === 'callback' && finished(x)) && Date.now() - started < 90_000) {
    await new Promise((r) => setTimeout(r, 500));
  }
  const events = ((await api('GET', `/api/v1/orders/${orderId}`, DESK)).body.events ?? []) as Array<{ at: string; kind: string; detail: Record<string, unknown> }>;
  for (const e of events.filter((x) => x.kind.startsWith('survey') || x.kind.startsWith('flag'))) {
    const detail = ['question', 'answer', 'disposition', 'kind', 'reason', 'dueAt'].filter((k) => e.detail[k] !== undefined).map((k) => `${k}=${String(e.detail[k])}`).join(' ');
    out(`  [${((Date.parse(e.at) - started) / 1000).toFixed(1).padStart(5)} s] ${e.kind}  ${detail}`);
  }
  for (const x of await surveysOf()) out(`  survey ${x.kind}: ${x.status} ${JSON.stringify(x.answers)}${x.status === 'scheduled' ? ` due ${x.dueAt}` : ''}`);
  const VIEWER = bearer('viewer');
  const register = (await api('GET', '/api/v1/reports/callbacks', VIEWER)).body.rows as Array<Record<string, unknown>>;
  const row = register.filter((r) => r.orderId === orderId);
  out('  callback register row (GET /api/v1/reports/callbacks):');
  for (const r of row) out(`    ${JSON.stringify(r)}`);
  const csv = await s.app.inject({ method: 'GET', url: '/api/v1/reports/callbacks.csv', headers: VIEWER });
  const lines = csv.body.replace(/^\uFEFF/, '').split('\r\n');
  const code = row[0]?.orderCode;
  out('  the same row in /api/v1/reports/callbacks.csv (UTF-8 with BOM):');
  out(`    ${lines[0] ?? ''}`);
  for (const l of lines.filter((x) => typeof code === 'string' && x.startsWith(`${code},`))) out(`    ${l}`);
}

function printNewEvents(record: CaseRecord, shown: number, started: number, out: Out): number {
  for (const e of record.events.slice(shown)) {
    const t = ((Date.parse(e.at) - started) / 1000).toFixed(1).padStart(5);
    const detail = Object.entries(e.detail).filter(([, v]) => v !== null && v !== '').map(([k, v]) => `${k}=${String(v)}`).join(' ');
    out(`  [${t} s] ${e.kind}${detail ? `  ${detail}` : ''}`);
  }
  return record.events.length;
}
