// Credentials per unit and per person (issue 13): `department/<unitId>:token` in
// LIANDONG_API_TOKENS, the token file managed by `liandong tokens`, re-read when it changes; a
// unit-bound token reads and acts on its own unit's orders only; the person is the actor.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql, type RawBuilder } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { createServices, type Services } from '../../src/composition.js';
import { first } from '../../src/db/sql.js';
import { createLogger } from '../../src/logging.js';
import { parseAddArgs, runTokensCli } from '../../src/tokens/cli.js';
import { addToken, readTokenFile, revokeToken, sha256Hex, TokenFileError, writeTokenFile } from '../../src/tokens/token-file.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'liandong-tokens-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('LIANDONG_API_TOKENS with unit-bound entries', () => {
  it('reads department/<unitId>:token as a department token bound to that unit', () => {
    const config = loadConfig({ LIANDONG_API_TOKENS: 'desk:desk-token-123456,department/water-supply:water-token-123456' }, 'dev');
    expect(config.apiTokens).toEqual([{ role: 'desk', token: 'desk-token-123456' }, { role: 'department', token: 'water-token-123456', unitId: 'water-supply' }]);
  });

  it('refuses other roles with a unit and malformed unit ids, without showing the token', () => {
    for (const entry of ['desk/water-supply:tok-123456789012', 'department/Water:tok-123456789012', 'department/:tok-123456789012']) {
      let message = '';
      try {
        loadConfig({ LIANDONG_API_TOKENS: entry }, 'dev');
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message, entry).toMatch(/department\/<unitId>:token/);
      expect(message).not.toContain('tok-123456789012');
    }
  });
});

describe('the token file', () => {
  it('stores only the SHA-256 of a new token, with its person and unit; revoking keeps the record', () => {
    const { data, token, id } = addToken({ version: 1, tokens: [] }, { role: 'department', unitId: 'water-supply', person: '李四' });
    expect(token).toMatch(/^ld_[A-Za-z0-9_-]{43}$/);
    const file = path.join(dir, 'one.json');
    writeTokenFile(file, data);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toContain(token);
    expect(text).toContain(sha256Hex(token));
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const read = readTokenFile(file);
    expect(read.tokens[0]).toMatchObject({ id, role: 'department', unitId: 'water-supply', person: '李四' });
    const revoked = revokeToken(read, id);
    expect(revoked.tokens[0]?.revokedAt).toEqual(expect.any(String));
    expect(() => revokeToken(revoked, id)).toThrow(/already revoked/);
  });

  it('refuses a unit on a non-department token, an empty or control-character person, and an invalid file', () => {
    expect(() => addToken({ version: 1, tokens: [] }, { role: 'desk', unitId: 'water-supply', person: 'x' })).toThrow(TokenFileError);
    expect(() => addToken({ version: 1, tokens: [] }, { role: 'desk', person: '' })).toThrow(TokenFileError);
    expect(() => addToken({ version: 1, tokens: [] }, { role: 'desk', person: 'a\u0007b' })).toThrow(TokenFileError);
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ version: 1, tokens: [{ id: 'nope', role: 'root', person: 'x', sha256: 'abc', createdAt: 'now' }] }));
    expect(() => readTokenFile(bad)).toThrow(/id must look like.*role must be one of.*sha256.*createdAt/);
    expect(readTokenFile(path.join(dir, 'missing.json'))).toEqual({ version: 1, tokens: [] });
  });

  it('is managed by `liandong tokens add|list|revoke`: the token is printed once', async () => {
    const config = loadConfig({ LIANDONG_TOKENS_FILE: path.join(dir, 'cli.json') }, 'dev');
    const lines: string[] = [];
    const out = (l: string) => void lines.push(l);
    expect(await runTokensCli(['add', '--role', 'department', '--unit', 'water-supply', '--person', '王五'], config, out)).toBe(0);
    const token = /: (ld_\S+)$/.exec(lines[1] ?? '')?.[1];
    expect(token).toBeDefined();
    const id = /token (t[0-9a-f]{8})/.exec(lines[0] ?? '')?.[1] as string;
    lines.length = 0;
    expect(await runTokensCli(['list'], config, out)).toBe(0);
    expect(lines.join('\n')).toContain(id);
    expect(lines.join('\n')).toContain('王五');
    expect(lines.join('\n')).not.toContain(token);
    expect(await runTokensCli(['revoke', id], config, out)).toBe(0);
    lines.length = 0;
    await runTokensCli(['list'], config, out);
    expect(lines.join('\n')).toMatch(/REVOKED/);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await runTokensCli(['add', '--role', 'department', '--unit', 'no-such-unit', '--person', 'x'], config, out)).toBe(2);
    stderr.mockRestore();
  });

  it('parses add flags strictly', () => {
    expect(parseAddArgs(['--role', 'desk', '--person', '张三'])).toEqual({ role: 'desk', person: '张三' });
    expect(parseAddArgs(['--role', 'desk'])).toMatch(/--person is required/);
    expect(parseAddArgs(['--role', 'root', '--person', 'x'])).toMatch(/--role must be/);
    expect(parseAddArgs(['--role', 'desk', '--person'])).toMatch(/needs a value/);
    expect(parseAddArgs(['--role', 'desk', '--person', 'a', '--person', 'b'])).toMatch(/twice/);
  });
});

describe('a unit acts only for itself, and the person is the actor', () => {
  let services: Services;
  let config: Config;
  const file = path.join(dir, 'service.json');
  let water = '';
  let tourism = '';
  let liSi = '';
  let adminZhao = '';
  let deskZhou = '';

  /** The one column `v` of the query's first row. */
  const value = async (query: RawBuilder<{ v: unknown }>) => (await first(services.store.db, query))?.v;
  const inject = (method: 'GET' | 'POST' | 'PUT', url: string, token: string, payload?: unknown) =>
    services.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload === undefined ? {} : { payload: payload as object }) });

  beforeAll(async () => {
    let data = readTokenFile(file);
    const a = addToken(data, { role: 'department', unitId: 'water-supply', person: '李四' });
    const b = addToken(a.data, { role: 'admin', person: '赵管理员' });
    const c = addToken(b.data, { role: 'desk', person: '周六' });
    data = c.data;
    deskZhou = c.token;
    liSi = a.token;
    adminZhao = b.token;
    writeTokenFile(file, data);
    config = loadConfig({ LIANDONG_DB: ':memory:', LOG_LEVEL: 'silent', LIANDONG_TOKENS_FILE: file, LIANDONG_API_TOKENS: 'desk:dev-desk-token,department:dev-department-token,department/tourism:dev-tourism-token,admin:dev-admin-token' }, 'dev');
    services = await createServices(config, { logger: createLogger('silent') });
    await services.app.ready();
    const order = async (externalId: string, departmentId: string) =>
      (await services.repo.createOrder({ externalId, category: 'c', departmentId, summary: 's', address: 'a', reporterPhone: '13800138000', urgency: 'normal', major: false })).row.id;
    water = await order('w-1', 'water-supply');
    tourism = await order('t-1', 'tourism');
  });
  afterAll(async () => {
    await services?.close();
  });

  it('refuses another unit\'s order with 403 (read and feedback) and stores nothing', async () => {
    const read = await inject('GET', `/api/v1/orders/${water}`, 'dev-tourism-token');
    expect(read.statusCode).toBe(403);
    expect(read.json()).toMatchObject({ error: { code: 'other_unit' } });
    const feedback = await inject('POST', `/api/v1/orders/${water}/feedback`, 'dev-tourism-token', { kind: 'completed' });
    expect(feedback.statusCode).toBe(403);
    expect(await value(sql`SELECT count(*) AS v FROM feedback`)).toBe(0);
    expect((await inject('GET', '/api/v1/orders?departmentId=water-supply', 'dev-tourism-token')).statusCode).toBe(403);
  });

  it('lists only the unit\'s own orders for a unit-bound token; the shared department token still sees all', async () => {
    const own = (await inject('GET', '/api/v1/orders', 'dev-tourism-token')).json<{ orders: Array<{ id: string }> }>().orders.map((o) => o.id);
    expect(own).toEqual([tourism]);
    const all = (await inject('GET', '/api/v1/orders', 'dev-department-token')).json<{ orders: Array<{ id: string }> }>().orders.map((o) => o.id);
    expect(all.sort()).toEqual([water, tourism].sort());
  });

  it('accepts the unit\'s own order (201) and records the token file\'s person as the actor of the feedback and the event', async () => {
    const res = await inject('POST', `/api/v1/orders/${water}/feedback`, liSi, { kind: 'arrived', note: 'on site' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ actor: '李四' });
    expect(await value(sql`SELECT actor AS v FROM order_events WHERE order_id = ${water} AND kind = 'feedback_arrived'`)).toBe('李四');
    expect((await inject('GET', `/api/v1/orders/${water}`, liSi)).statusCode).toBe(200);
    expect((await inject('GET', `/api/v1/orders/${tourism}`, liSi)).statusCode).toBe(403);
  });

  it('writes the person into the audit log', async () => {
    const dept = (await inject('GET', '/api/v1/departments', adminZhao)).json<{ departments: Array<{ id: string; name: unknown; categories: string[]; contacts: unknown[] }> }>().departments.find((d) => d.id === 'tourism');
    const put = await inject('PUT', '/api/v1/departments/tourism', adminZhao, { name: dept?.name, categories: dept?.categories, contacts: dept?.contacts });
    expect(put.statusCode).toBe(200);
    expect(await value(sql`SELECT actor AS v FROM audit_log WHERE action = 'department.update' ORDER BY id DESC LIMIT 1`)).toBe('赵管理员');
  });

  it('records the person who cancels an order, and api:<role> for a shared token', async () => {
    const order = async (externalId: string) =>
      (await services.repo.createOrder({ externalId, category: 'c', departmentId: 'tourism', summary: 's', address: 'a', reporterPhone: '13800138000', urgency: 'normal', major: false })).row.id;
    const [mine, shared] = [await order('t-cancel-1'), await order('t-cancel-2')];
    expect((await inject('POST', `/api/v1/orders/${mine}/cancel`, deskZhou, { reason: 'duplicate' })).statusCode).toBe(200);
    expect((await inject('POST', `/api/v1/orders/${shared}/cancel`, 'dev-desk-token', { reason: 'duplicate' })).statusCode).toBe(200);
    const actorOf = (id: string) => value(sql`SELECT actor AS v FROM order_events WHERE order_id = ${id} AND kind = 'cancelled'`);
    expect(await actorOf(mine)).toBe('周六');
    expect(await actorOf(shared)).toBe('api:desk');
  });

  it('writes the person into the audit log for webhook subscriber changes too', async () => {
    const res = await inject('POST', '/api/v1/webhooks/subscribers', adminZhao, { url: 'https://desk.example/hooks', departmentId: 'tourism' });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ actor: '赵管理员' });
    expect(await value(sql`SELECT actor AS v FROM audit_log WHERE action = 'webhook.subscriber_added' ORDER BY id DESC LIMIT 1`)).toBe('赵管理员');
  });

  it('follows the token file: a token added while running is accepted, a revoked one refused, within seconds', async () => {
    const added = addToken(readTokenFile(file), { role: 'viewer', person: '钱五' });
    writeTokenFile(file, added.data);
    await vi.waitFor(async () => expect((await inject('GET', '/api/v1/orders', added.token)).statusCode).toBe(200), { timeout: 5000, interval: 200 });
    writeTokenFile(file, revokeToken(readTokenFile(file), added.id));
    await vi.waitFor(async () => expect((await inject('GET', '/api/v1/orders', added.token)).statusCode).toBe(401), { timeout: 5000, interval: 200 });
    // An invalid file is refused whole: the tokens read before stay in force.
    fs.writeFileSync(file, '{ not json');
    await new Promise((r) => setTimeout(r, 2500));
    expect((await inject('GET', `/api/v1/orders/${water}`, liSi)).statusCode).toBe(200);
  });
});
