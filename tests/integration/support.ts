// Shared harness for integration tests: the real services (SQLite, prompts, ARI, AMI, HTTP
// serving prompt audio to Asterisk) against the real Asterisk started by global-setup.ts.
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { expect } from 'vitest';
import { configFromProcess, type Config } from '../../src/config.js';
import { createServices, type ServiceOptions, type Services } from '../../src/composition.js';
import { createLogger } from '../../src/logging.js';
import type { CallEvent } from '../../src/telephony/port.js';

export const ARTIFACTS = path.resolve('tests/artifacts');

/**
 * The dev profile with a scratch database and media folder, its own HTTP port, and its own
 * Stasis app name, so two test runs on one machine never take each other's ARI events.
 */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return configFromProcess('dev', {
    ARI_APP: `liandong-test-${process.pid}`,
    LIANDONG_HTTP_PORT: String(3901 + (process.pid % 50)),
    LIANDONG_DB: ':memory:',
    LIANDONG_MEDIA_DIR: path.join(ARTIFACTS, 'media'),
    LOG_LEVEL: 'debug',
    ...overrides,
  });
}

export async function startServices(name: string, overrides: Record<string, string> = {}, options: Omit<ServiceOptions, 'logger'> = {}): Promise<Services> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const config = testConfig(overrides);
  // A fresh file per run (append: false): an assertion on the log must see this run's lines only,
  // never those a run before it left in the same file.
  const logger = createLogger(config.logLevel, pino.destination({ dest: path.join(ARTIFACTS, `${name}.log`), sync: true, append: false }));
  const services = await createServices(config, { ...options, logger });
  await services.app.listen({ host: config.http.host, port: config.http.port });
  await services.start();
  await services.telephony.waitConnected(20_000);
  return services;
}

/** Collects a channel's events; `next(type)` waits for the next one of that type. */
export class EventLog {
  readonly events: CallEvent[] = [];
  private waiters: Array<{ type: CallEvent['type']; resolve: (e: CallEvent) => void }> = [];

  readonly listener = (event: CallEvent): void => {
    this.events.push(event);
    const i = this.waiters.findIndex((w) => w.type === event.type);
    if (i >= 0) this.waiters.splice(i, 1)[0]?.resolve(event);
  };

  types(): string[] {
    return this.events.map((e) => (e.type === 'key' ? `key:${e.key}` : e.type));
  }

  next<T extends CallEvent['type']>(type: T, timeoutMs = 20_000): Promise<Extract<CallEvent, { type: T }>> {
    const seen = this.events.find((e) => e.type === type && !this.consumed.has(e));
    if (seen) {
      this.consumed.add(seen);
      return Promise.resolve(seen as Extract<CallEvent, { type: T }>);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} event within ${timeoutMs} ms; saw ${this.types().join(', ')}`)), timeoutMs);
      this.waiters.push({
        type,
        resolve: (e) => {
          clearTimeout(timer);
          this.consumed.add(e);
          resolve(e as Extract<CallEvent, { type: T }>);
        },
      });
    });
  }

  private readonly consumed = new Set<CallEvent>();
}

let seq = 0;
/** A fresh channel id per call: Asterisk refuses a repeated one. */
export function channelId(prefix = 't'): string {
  seq += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${seq}`;
}

/** Policy for a fast test: one try per contact, 5 s ring, no chain loop, 3 s for a key. */
const FAST_POLICY = { attemptsPerContact: 1, retryDelaySeconds: 1, ringTimeoutSeconds: 5, chainLoops: 0, keyTimeoutSeconds: 3 };

/**
 * Points a department's only contact (its duty room) at `number`, a sim phone, keeping its
 * name and categories; `policy` overrides fields of the fast policy above. Fails the test
 * unless the admin API accepts it.
 */
export async function setDutyLine(services: Services, departmentId: string, number: string, policy: Record<string, number> = {}): Promise<void> {
  const list = await services.app.inject({ method: 'GET', url: '/api/v1/departments', headers: { authorization: 'Bearer dev-desk-token' } });
  const dept = list.json<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>().departments.find((d) => d.id === departmentId);
  expect(dept, `department ${departmentId}`).toBeDefined();
  const res = await services.app.inject({
    method: 'PUT',
    url: `/api/v1/departments/${departmentId}`,
    headers: { authorization: 'Bearer dev-admin-token' },
    payload: { name: dept?.name, categories: dept?.categories, contacts: [{ id: 'duty', name: '值班室', number, priority: 1 }], policy: { ...FAST_POLICY, ...policy } },
  });
  expect(res.statusCode, res.body).toBe(200);
}
