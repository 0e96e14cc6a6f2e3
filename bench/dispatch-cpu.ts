// CPU of dispatching N orders through a Dispatcher over a paced fake telephone that answers at once
// and keys 1 (the whole call: attempt, answer, prompt, key, commit, confirmation, hangup), logging
// at info to /dev/null. Run: node --import tsx bench/dispatch-cpu.ts [N]. A figure to compare two versions on one machine, not a test.
import { pino } from 'pino';
import { openStore } from '../src/db/store.js';
import { WriteQueue } from '../src/db/write-queue.js';
import { loadCatalog } from '../src/departments/catalog.js';
import type { DepartmentStore } from '../src/departments/store.js';
import { Dispatcher } from '../src/dispatch/dispatcher.js';
import { PacedTelephony } from '../src/dispatch/pacing.js';
import { resolvePolicy } from '../src/dispatch/policy.js';
import { createLogger, type Logger } from '../src/logging.js';
import { OrderRepository } from '../src/orders/order-repository.js';
import type { Prompts } from '../src/prompts/index.js';
import type { CallEventListener, TelephonyPort } from '../src/telephony/port.js';

const n = Number(process.argv[2] ?? 1000);
const store = await openStore({ engine: 'sqlite', path: ':memory:' });
const repo = new OrderRepository(store);
const logger: Logger = createLogger('info', pino.destination({ dest: '/dev/null', sync: true }));
const writes = new WriteQueue(() => undefined);
const catalog = loadCatalog();
const departments = { current: () => catalog, policyOf: () => resolvePolicy({}), platformOf: () => null } as unknown as DepartmentStore;
const prompts = { media: () => Promise.resolve(['sound:beep']) } as unknown as Prompts;
const listeners = new Map<string, Set<CallEventListener>>();
const emit = (c: string, e: Parameters<CallEventListener>[0]) => { for (const l of [...(listeners.get(c) ?? [])]) l(e); };
const port = {
  health: () => ({ connected: true, since: new Date() }),
  onHealthChange: () => () => undefined,
  originate(r: { channelId: string }) { setImmediate(() => emit(r.channelId, { type: 'answered', at: new Date() })); return Promise.resolve(); },
  subscribe(c: string, l: CallEventListener) { const s = listeners.get(c) ?? new Set(); s.add(l); listeners.set(c, s); return () => { s.delete(l); if (s.size === 0) listeners.delete(c); }; },
  prompt: () => Promise.resolve({ status: 'complete', digits: '1' }),
  play: () => Promise.resolve({ status: 'finished' }),
  hangup(c: string) { setImmediate(() => emit(c, { type: 'hangup', cause: { code: 16, text: 'Normal Clearing', kind: 'normal' }, at: new Date() })); return Promise.resolve(); },
  listChannelIds: () => Promise.resolve([]),
} as unknown as TelephonyPort;
const telephony = new PacedTelephony(port, { callsPerSecond: 100000, maxChannels: 100000 }, logger);
const dispatcher = new Dispatcher({ repo, writes, departments, telephony, prompts, logger, language: 'zh-CN', timezone: 'Asia/Shanghai', webhook: { notify: () => Promise.resolve({ ok: false, reason: 'bench' }) } });
const rows = [];
for (let i = 0; i < n; i++) rows.push((await repo.createOrder({ externalId: `cpu-${i}`, category: 'water-main-burst', departmentId: 'water-supply', summary: 's', address: 'a', reporterPhone: '13800138000', urgency: 'urgent', major: false })).row);
await writes.drain();
const c0 = process.cpuUsage(); const t0 = performance.now();
for (const row of rows) await dispatcher.begin(row);
while (dispatcher.liveCount() > 0) await new Promise((r) => setTimeout(r, 5));
await writes.drain();
const c = process.cpuUsage(c0); const ms = performance.now() - t0;
const accepted = (await Promise.all(rows.map((r) => repo.getOrder(r.id)))).filter((o) => o?.status === 'accepted').length;
console.log(`${n} orders dispatched (${accepted} accepted) in ${Math.round(ms)} ms wall; CPU user ${Math.round(c.user / 1000)} ms + system ${Math.round(c.system / 1000)} ms = ${Math.round((c.user + c.system) / 1000 / n * 100) / 100} ms per order`);
await store.close();
