// Heap and RSS of a Dispatcher holding N queued orders (the trunk never frees a line: Asterisk
// is "not connected", so every call waits in the pacer). At most MAX order machines are live
// (LIANDONG_MAX_LIVE_ORDERS, default 1000); the other orders wait for admission without one.
// Run with:
//   node --expose-gc --import tsx bench/queued-memory.ts [N] [MAX]
// (MAX = N: every order gets its machine at once, as before the admission limit.)
import { pino } from 'pino';
import { DEFAULT_MAX_LIVE_ORDERS } from '../src/config.js';
import { openStore } from '../src/db/store.js';
import { WriteQueue } from '../src/db/write-queue.js';
import { loadCatalog } from '../src/departments/catalog.js';
import type { DepartmentStore } from '../src/departments/store.js';
import { Dispatcher } from '../src/dispatch/dispatcher.js';
import { PacedTelephony } from '../src/dispatch/pacing.js';
import { resolvePolicy } from '../src/dispatch/policy.js';
import type { Logger } from '../src/logging.js';
import { OrderRepository } from '../src/orders/order-repository.js';
import type { Prompts } from '../src/prompts/index.js';
import type { TelephonyPort } from '../src/telephony/port.js';

const n = Number(process.argv[2] ?? 10_000);
const maxLiveOrders = Number(process.argv[3] ?? DEFAULT_MAX_LIVE_ORDERS);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const mb = (b: number) => Math.round(b / 1e5) / 10;
function measure(label: string) {
  gc!(); gc!();
  const m = process.memoryUsage();
  console.log(`${label}: heapUsed ${mb(m.heapUsed)} MB, rss ${mb(m.rss)} MB`);
  return m;
}

const store = await openStore({ engine: 'sqlite', path: ':memory:' });
const repo = new OrderRepository(store);
const logger = pino({ level: 'info' }, pino.destination('/dev/null')) as unknown as Logger;
const writes = new WriteQueue(() => undefined);
const catalog = loadCatalog();
const departments = { current: () => catalog, policyOf: () => resolvePolicy({}), platformOf: () => null } as unknown as DepartmentStore;
const prompts = { media: () => Promise.resolve(['sound:beep']) } as unknown as Prompts;
const port = {
  health: () => ({ connected: false, since: new Date() }),
  onHealthChange: () => () => undefined,
  subscribe: () => () => undefined,
  listChannelIds: () => Promise.resolve([]),
} as unknown as TelephonyPort;
const telephony = new PacedTelephony(port, { callsPerSecond: 10, maxChannels: 10 }, logger);
const dispatcher = new Dispatcher({
  repo, writes, departments, telephony, prompts, logger, language: 'zh-CN', timezone: 'Asia/Shanghai',
  webhook: { notify: () => Promise.resolve({ ok: false, reason: 'bench' }) },
  maxLiveOrders,
});
const rows = [];
for (let i = 0; i < n; i++) {
  const { row } = await repo.createOrder({ externalId: `mem-${i}`, category: 'water-main-burst', departmentId: 'water-supply', summary: 's', address: 'a', reporterPhone: '13800138000', urgency: 'urgent', major: false });
  rows.push(row);
}
await writes.drain();
const before = measure(`${n} orders stored, none dispatched`);
for (const row of rows) await dispatcher.begin(row);
await writes.drain();
await new Promise((r) => setTimeout(r, 200));
const live = dispatcher.liveState().units;
const after = measure(`${n} orders begun with at most ${maxLiveOrders} machines: ${live} live (their calls waiting for a line: ${telephony.pacer.stats().waiting}), ${dispatcher.awaitingAdmission()} waiting for admission`);
console.log(`per order begun: heap ${Math.round((after.heapUsed - before.heapUsed) / n)} B, rss ${Math.round((after.rss - before.rss) / n)} B`);
dispatcher.stopAll();
await writes.drain();
measure('after stopAll');
await store.close();
