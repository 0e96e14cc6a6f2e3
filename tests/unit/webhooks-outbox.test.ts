// The webhook outbox against a local receiver: signed bodies, retries with the doubling backoff,
// a timeout counted as a failure, deliveries left pending picked up by a new outbox on the same
// database (a restart), per-department subscribers, and an event that rolls back with its
// caller's transaction.
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/db/database.js';
import { backoffMs, retryOffsetsMs } from '../../src/webhooks/backoff.js';
import { WebhookOutbox } from '../../src/webhooks/outbox.js';

const SECRET = 'unit-test-webhook-secret';
const logger = pino({ level: 'silent' });

interface Received { at: number; path: string; headers: http.IncomingHttpHeaders; body: string }

async function receiver(answer: (r: Received, n: number) => { status: number; delayMs?: number }) {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const r = { at: Date.now(), path: req.url ?? '', headers: req.headers, body };
      got.push(r);
      const a = answer(r, got.length);
      setTimeout(() => {
        if (!res.destroyed) res.writeHead(a.status).end('ok');
      }, a.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { got, url, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function outbox(db: Db, globalUrl: string | undefined, retry = { firstMs: 100, maxMs: 400, forMs: 60_000 }, timeoutMs = 1000): WebhookOutbox {
  const o = new WebhookOutbox(db, { secret: SECRET, globalUrl, timeoutMs, retry }, logger);
  cleanups.push(() => o.stop());
  return o;
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('backoff', () => {
  it('doubles from the first wait up to the cap, and stops at the retry time', () => {
    const p = { firstMs: 10_000, maxMs: 3_600_000, forMs: 3 * 86_400_000 };
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => backoffMs(p, n) / 1000)).toEqual([10, 20, 40, 80, 160, 320, 640, 1280, 2560]);
    expect(backoffMs(p, 10)).toBe(3_600_000);
    expect(backoffMs(p, 500)).toBe(3_600_000);
    const offsets = retryOffsetsMs(p);
    expect(offsets.at(-1)).toBeLessThanOrEqual(p.forMs);
    expect(offsets.length).toBe(9 + Math.floor((p.forMs - 5110_000) / 3_600_000));
  });
});

describe('webhook outbox', () => {
  it('signs each delivery: sha256 HMAC of the body, timestamp header equal to the body sentAt, ids to deduplicate', async () => {
    const rx = await receiver(() => ({ status: 204 }));
    cleanups.push(rx.close);
    const db = openDatabase(':memory:');
    const o = outbox(db, `${rx.url}/hook`);
    o.start();
    const ev = o.enqueue('order.accepted', { orderId: 'o1', code: '123456' }, 'water-supply');
    expect(ev.deliveries).toBe(1);
    await until('delivered', () => o.counts().delivered === 1);
    const r = rx.got[0] as Received;
    const expected = `sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`;
    expect(r.headers['x-liandong-signature']).toBe(expected);
    const body = JSON.parse(r.body) as Record<string, unknown>;
    expect(body).toMatchObject({ id: ev.id, event: 'order.accepted', departmentId: 'water-supply', data: { orderId: 'o1', code: '123456' }, attempt: 1 });
    expect(r.headers['x-liandong-timestamp']).toBe(String(body.sentAt));
    expect(Math.abs(Number(body.sentAt) - Date.now() / 1000)).toBeLessThan(5);
    expect(r.headers['x-liandong-event-id']).toBe(ev.id);
    expect(r.headers['x-liandong-event']).toBe('order.accepted');
    const view = o.list({ limit: 10, offset: 0 });
    expect(view.deliveries[0]).toMatchObject({ eventId: ev.id, status: 'delivered', attempts: 1, lastStatus: 204, subscriberId: 'global' });
  });

  it('retries 500s and timeouts with the doubling backoff until answered 2xx', async () => {
    // 500, 500, slow (past the 300 ms timeout), then 200.
    const rx = await receiver((_, n) => (n <= 2 ? { status: 500 } : n === 3 ? { status: 200, delayMs: 800 } : { status: 200 }));
    cleanups.push(rx.close);
    const db = openDatabase(':memory:');
    const o = outbox(db, rx.url, { firstMs: 100, maxMs: 250, forMs: 60_000 }, 300);
    o.start();
    const ev = o.enqueue('order.completed', { orderId: 'o2' });
    await until('delivered', () => o.counts().delivered === 1);
    expect(rx.got.length).toBe(4);
    const ids = rx.got.map((r) => (JSON.parse(r.body) as { id: string; attempt: number }));
    expect(ids.map((b) => b.id)).toEqual([ev.id, ev.id, ev.id, ev.id]);
    expect(ids.map((b) => b.attempt)).toEqual([1, 2, 3, 4]);
    // Gaps between tries: 100 ms, 200 ms, then the 300 ms timeout plus the 250 ms cap.
    const gaps = rx.got.slice(1).map((r, i) => r.at - (rx.got[i] as Received).at);
    expect(gaps[0]).toBeGreaterThanOrEqual(95);
    expect(gaps[1]).toBeGreaterThanOrEqual(195);
    expect(gaps[2]).toBeGreaterThanOrEqual(300 + 245);
    const d = o.list({ limit: 1, offset: 0 }).deliveries[0];
    expect(d).toMatchObject({ status: 'delivered', attempts: 4, lastStatus: 200, lastError: null });
  });

  it('gives up once the retry time is over; an admin retry sends it again', async () => {
    let ok = false;
    const rx = await receiver(() => ({ status: ok ? 200 : 503 }));
    cleanups.push(rx.close);
    const db = openDatabase(':memory:');
    const o = outbox(db, rx.url, { firstMs: 100, maxMs: 100, forMs: 350 });
    o.start();
    o.enqueue('survey.flagged', { orderId: 'o3' });
    await until('given up', () => o.counts().failed === 1);
    const failed = o.list({ status: 'failed', limit: 1, offset: 0 }).deliveries[0];
    expect(failed?.lastError).toBe('HTTP 503');
    expect(failed?.attempts).toBeGreaterThanOrEqual(3);
    ok = true;
    expect(o.retry(failed?.id as string)).toBe('retried');
    await until('delivered after the retry', () => o.counts().delivered === 1);
    expect(o.retry(failed?.id as string)).toBe('not_failed');
    expect(o.retry('dl_nope')).toBe('not_found');
  });

  it('survives a restart: deliveries left pending by a stopped outbox are sent by the next one on the same file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-outbox-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'db.sqlite');
    const down = await receiver(() => ({ status: 500 }));
    const url = down.url;
    const db1 = openDatabase(file);
    const o1 = outbox(db1, url, { firstMs: 200, maxMs: 200, forMs: 60_000 });
    o1.start();
    const events = [o1.enqueue('order.accepted', { n: 1 }), o1.enqueue('dispute.opened', { n: 2 }), o1.enqueue('order.unacknowledged', { n: 3 })];
    await until('tried once each', () => down.got.length >= 3);
    o1.stop();
    db1.close();
    await down.close();
    // The receiver comes back on the same port; a new process opens the same database.
    const port = Number(new URL(url).port);
    const got: string[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        got.push((JSON.parse(body) as { id: string }).id);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const db2 = openDatabase(file);
    cleanups.push(() => db2.close());
    const o2 = outbox(db2, url);
    o2.start();
    await until('all delivered after the restart', () => o2.counts().delivered === 3);
    expect([...new Set(got)].sort()).toEqual(events.map((e) => e.id).sort());
  });

  it('per-department and per-event subscribers receive only their events; the global URL all', async () => {
    const rx = await receiver(() => ({ status: 200 }));
    cleanups.push(rx.close);
    const db = openDatabase(':memory:');
    const o = outbox(db, `${rx.url}/global`);
    o.subscribers.add({ url: `${rx.url}/water`, departmentId: 'water-supply', events: null }, 'test');
    o.subscribers.add({ url: `${rx.url}/flags`, departmentId: null, events: ['survey.flagged'] }, 'test');
    o.start();
    o.enqueue('order.accepted', {}, 'water-supply');
    o.enqueue('order.accepted', {}, 'power-supply');
    o.enqueue('survey.flagged', {}, 'power-supply');
    await until('all delivered', () => o.counts().delivered === 5);
    const byPath = (p: string) => rx.got.filter((r) => r.path === p).map((r) => (JSON.parse(r.body) as { event: string; departmentId: string }));
    expect(byPath('/global').length).toBe(3);
    expect(byPath('/water')).toEqual([expect.objectContaining({ event: 'order.accepted', departmentId: 'water-supply' })]);
    expect(byPath('/flags')).toEqual([expect.objectContaining({ event: 'survey.flagged' })]);
  });

  it('an event enqueued in a transaction that rolls back is neither stored nor sent', async () => {
    const rx = await receiver(() => ({ status: 200 }));
    cleanups.push(rx.close);
    const db = openDatabase(':memory:');
    const o = outbox(db, rx.url);
    o.start();
    expect(() =>
      db.transaction(() => {
        o.enqueue('order.accepted', { orderId: 'rolled-back' });
        throw new Error('the caller fails after enqueueing');
      })(),
    ).toThrow('the caller fails');
    await new Promise((r) => setTimeout(r, 200));
    expect(o.counts()).toEqual({ pending: 0, delivered: 0, failed: 0 });
    expect(rx.got).toEqual([]);
  });

  it('without a secret nothing is sent: deliveries wait', async () => {
    const rx = await receiver(() => ({ status: 200 }));
    cleanups.push(rx.close);
    const db = openDatabase(':memory:');
    const o = new WebhookOutbox(db, { secret: undefined, globalUrl: rx.url, timeoutMs: 1000, retry: { firstMs: 100, maxMs: 100, forMs: 60_000 } }, logger);
    cleanups.push(() => o.stop());
    o.start();
    o.enqueue('order.accepted', {});
    await new Promise((r) => setTimeout(r, 200));
    expect(rx.got).toEqual([]);
    expect(o.counts().pending).toBe(1);
  });
});
