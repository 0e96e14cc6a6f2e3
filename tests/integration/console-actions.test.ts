// The console can act (issue 13), in headless Chromium against the real service and Asterisk:
// the desk finds a category by searching, creates an order (its duty phone rings, never answers)
// and cancels it with a reason; a unit's own user (a token from the token file, bound to the unit)
// sees the unit's orders and records feedback, which stops the calls; the linkage office takes a
// flag, closes it with a resolution note and reads its history. Screenshots in tests/artifacts/:
// console-new-order.png, console-case-cancelled.png, console-unit-feedback.png, console-flags.png.
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/composition.js';
import { addToken, writeTokenFile } from '../../src/tokens/token-file.js';
import { ARTIFACTS, startServices } from './support.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ADMIN = { authorization: 'Bearer dev-admin-token' };
const DESK = { authorization: 'Bearer dev-desk-token' };
const UNIT = 'water-supply';
/** Rings and never answers: the order stays "dispatching" while the test acts on it. */
const POLICY = { attemptsPerContact: 3, retryDelaySeconds: 2, ringTimeoutSeconds: 10, chainLoops: 0, loopDelaySeconds: 1, maxReplays: 1, keyTimeoutSeconds: 3 };

let s: Services;
let browser: Browser;
let base = '';
let unitToken = '';
const tokensFile = path.join(ARTIFACTS, `console-actions-tokens-${process.pid}.json`);

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${base}/console/`);
  await page.fill('#token', token);
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('header.top nav');
}

async function newPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1300, height: 1000 }, locale: 'zh-CN' });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors };
}

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/setup.sh (console-e2e.test.ts installs it too)`);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const issued = addToken({ version: 1, tokens: [] }, { role: 'department', unitId: UNIT, person: '李四' });
  unitToken = issued.token;
  writeTokenFile(tokensFile, issued.data);
  s = await startServices('console-actions', { LIANDONG_TOKENS_FILE: tokensFile });
  base = `http://${s.config.http.host}:${s.config.http.port}`;
  const dept = (await s.app.inject({ method: 'GET', url: '/api/v1/departments', headers: ADMIN })).json<{ departments: Array<{ id: string; name: unknown; categories: string[] }> }>().departments.find((d) => d.id === UNIT);
  const put = await s.app.inject({
    method: 'PUT', url: `/api/v1/departments/${UNIT}`, headers: ADMIN,
    payload: { name: dept?.name, categories: dept?.categories, contacts: [{ id: 'duty-room', name: '值班室', number: '730', priority: 1 }], policy: POLICY },
  });
  expect(put.statusCode, put.body).toBe(200);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await s?.close();
  fs.rmSync(tokensFile, { force: true });
});

describe('the console acts, with the API\'s roles', () => {
  it('desk: finds the category by search, creates an order, then cancels it with a reason', async () => {
    const { page, errors } = await newPage();
    await signIn(page, 'dev-desk-token');
    await page.click('nav a[href="#/new"]');
    await page.fill('#category-search', '供水管道');
    await expect.poll(() => page.locator('#category option').count()).toBe(1);
    expect(await page.inputValue('#category')).toBe('water-main-burst');
    await page.fill('#summary', '控制台测试：主干道水管爆裂');
    await page.fill('#address', '城关镇人民路');
    await page.fill('#reporter-phone', '13800138000');
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-new-order.png') });
    await page.click('#create-order');
    await page.waitForURL(/#\/case\//);
    const id = decodeURIComponent(page.url().split('#/case/')[1] ?? '');
    await expect.poll(() => page.textContent('[data-testid=case-status]')).toBe('呼叫中');
    const stored = s.repo.getOrder(id);
    expect(stored).toMatchObject({ category: 'water-main-burst', department_id: UNIT, summary: '控制台测试：主干道水管爆裂', status: 'dispatching' });

    await page.fill('#cancel-reason', '报警人来电撤销');
    await page.click('#cancel-submit');
    await expect.poll(() => page.textContent('[data-testid=case-status]'), { timeout: 15_000 }).toBe('已撤销');
    expect(s.repo.getOrder(id)?.status).toBe('cancelled');
    const cancelled = s.repo.events(id).find((e) => e.kind === 'cancelled');
    expect(JSON.parse(cancelled?.detail ?? '{}')).toMatchObject({ reason: '报警人来电撤销' });
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-case-cancelled.png') });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("a unit's own user sees the unit's orders and records feedback; the person is recorded", async () => {
    const created = await s.app.inject({
      method: 'POST', url: '/api/v1/orders', headers: DESK,
      payload: { externalId: `console-unit-${Date.now()}`, category: 'water-main-burst', departmentId: UNIT, summary: '水表井冒水', address: '东门街', reporterPhone: '13800138001', urgency: 'normal' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const { id } = created.json<{ id: string }>();
    const { page, errors } = await newPage();
    await signIn(page, unitToken);
    // No board for a unit: its own orders, and no new-order page.
    expect(await page.locator('nav a[href="#/board"]').count()).toBe(0);
    expect(await page.locator('nav a[href="#/new"]').count()).toBe(0);
    await page.click(`tr[data-order-id="${id}"] a`);
    await page.waitForSelector('#record-feedback');
    expect(await page.locator('#cancel-order').count()).toBe(0);
    await page.selectOption('#feedback-kind', 'arrived');
    await page.fill('#feedback-note', '抢修队已到');
    await page.click('#feedback-submit');
    await expect.poll(() => page.textContent('[data-testid=case-status]'), { timeout: 15_000 }).toMatch(/已受理|已到场/);
    await expect.poll(async () => (await page.textContent('section.card:has(h3:text("反馈")) ul')) ?? '').toContain('李四');
    expect(s.repo.feedback(id).map((f) => [f.kind, f.actor, f.note])).toEqual([['arrived', '李四', '抢修队已到']]);
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-unit-feedback.png') });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('linkage office: takes a flag, closes it with a resolution note, and reads its history', async () => {
    // A flag as a "not satisfied" callback leaves it (the survey itself is tested in survey.test.ts).
    const orderId = s.repo.createOrder({ externalId: `flag-${Date.now()}`, category: 'water-main-burst', departmentId: UNIT, summary: 's', address: 'a', reporterPhone: '13800138002', urgency: 'normal', major: false }).row.id;
    const now = new Date().toISOString();
    s.db.prepare("INSERT INTO surveys (id, order_id, kind, status, number, due_at, quality, created_at, updated_at, finished_at) VALUES (?, ?, 'callback', 'completed', '13800138002', ?, 'unsatisfied', ?, ?, ?)").run(`sv-${orderId}`, orderId, now, now, now, now);
    s.db.prepare("INSERT INTO flags (order_id, survey_id, reason, created_at) VALUES (?, ?, 'not satisfied: quality', ?)").run(orderId, `sv-${orderId}`, now);
    const flagId = s.db.prepare('SELECT id FROM flags WHERE order_id = ?').pluck().get(orderId) as number;

    const { page, errors } = await newPage();
    await signIn(page, 'dev-viewer-token');
    await page.click('nav a[href="#/flags"]');
    const row = page.locator(`tr[data-flag-id="${flagId}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-status')).toBe('open');
    // Closing without a note is refused by the API, and the console says so.
    await row.locator('.flag-owner').fill('孙科员');
    await row.locator('.flag-status').selectOption('closed');
    await row.locator('.flag-save').click();
    await expect.poll(() => row.locator('.flag-message').textContent()).toContain('resolution_required');
    await row.locator('.flag-resolution').fill('已回访市民，水质问题已解决');
    await row.locator('.flag-save').click();
    await expect.poll(() => page.locator(`tr[data-flag-id="${flagId}"]`).getAttribute('data-status'), { timeout: 10_000 }).toBe('closed');
    const fresh = page.locator(`tr[data-flag-id="${flagId}"]`);
    await fresh.locator('details summary').click();
    await expect.poll(() => fresh.locator('.flag-history li').count()).toBe(1);
    expect(await fresh.locator('.flag-history li').textContent()).toMatch(/api:viewer.*已关闭/);
    expect(s.db.prepare('SELECT owner, status, resolution FROM flags WHERE id = ?').get(flagId)).toEqual({ owner: '孙科员', status: 'closed', resolution: '已回访市民，水质问题已解决' });
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-flags.png') });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
