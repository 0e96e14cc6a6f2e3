// The linkage office's console end to end in headless Chromium (Debian's chromium, driven by
// playwright-core) against the real service and the real Asterisk: an order created through the
// API appears on the live board, turns accepted when the simulated duty phone presses 1 (no page
// reload); the department reports arrival and completion, the citizen's simulated phone answers
// the callback survey (satisfied, satisfied, not satisfied); the case page shows the whole
// timeline, the register and the flags show the callback, and the quarterly assessment shows it
// all with charts. Screenshots in tests/artifacts/: console-board-dispatching.png,
// console-board.png, console-case.png, console-assessment.png.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/composition.js';
import { ARTIFACTS, startServices } from './support.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const DESK = { authorization: 'Bearer dev-desk-token' };
const DEPT = { authorization: 'Bearer dev-department-token' };
const ADMIN = { authorization: 'Bearer dev-admin-token' };
const VIEWER_TOKEN = 'dev-viewer-token';
/** The duty phone answers, waits 4 s (the order is "dispatching" on the board meanwhile), presses 1. */
const DUTY_PHONE = '70411';
const DEPARTMENT = 'tourism';
/** The citizen's phone answers the callback after 1 s and keys 1, 1, 2: attitude and speed satisfied, quality not. */
const CITIZEN_PHONE = '7011112';

let s: Services;
let browser: Browser;
let base: string;
/** The department's Chinese name, as the catalog has it. */
let departmentName = '';

/** The suite installs Debian's chromium (and a CJK font) through scripts/setup.sh when missing. */
function ensureChromium(): void {
  if (fs.existsSync(CHROMIUM)) return;
  const setup = spawnSync('bash', ['scripts/setup.sh'], { stdio: 'inherit' });
  if (setup.status !== 0 || !fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing and scripts/setup.sh could not install it (apt package chromium; needs root)`);
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.goto(`${base}/console/`);
  await page.fill('#token', token);
  await page.click('#signin button[type=submit]');
  await page.waitForSelector('header.top nav');
}

beforeAll(async () => {
  ensureChromium();
  // Callbacks at once and at any hour, so the survey is answered within the test.
  s = await startServices('console-e2e', { LIANDONG_SURVEY_DELAY_SECONDS: '0', LIANDONG_SURVEY_WINDOW: '00:00-00:00', LIANDONG_SURVEY_RING_SECONDS: '5', LIANDONG_SURVEY_KEY_TIMEOUT_SECONDS: '4' });
  base = `http://${s.config.http.host}:${s.config.http.port}`;
  const list = (await s.app.inject({ method: 'GET', url: '/api/v1/departments', headers: DESK })).json<{ departments: Array<{ id: string; name: { 'zh-CN': string }; categories: string[] }> }>();
  const dept = list.departments.find((d) => d.id === DEPARTMENT);
  if (!dept) throw new Error(`no department ${DEPARTMENT}`);
  departmentName = dept.name['zh-CN'];
  const res = await s.app.inject({
    method: 'PUT', url: `/api/v1/departments/${DEPARTMENT}`, headers: ADMIN,
    payload: { name: dept.name, categories: dept.categories, contacts: [{ id: 'duty-room', name: '旅游局值班室', number: DUTY_PHONE, priority: 1 }], policy: { ringTimeoutSeconds: 10, keyTimeoutSeconds: 6 } },
  });
  expect(res.statusCode, res.body).toBe(200);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await s?.close();
});

describe('linkage office console in headless Chromium', () => {
  it('board shows a new order live, turns it accepted when the duty phone presses 1; case page and assessment follow', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, locale: 'zh-CN' });
    const consoleErrors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await signIn(page, VIEWER_TOKEN);
    await page.waitForSelector('#feed-state[data-state=live]');
    expect(await page.textContent('h2')).toBe('指令实时看板');
    // Marks this document: if the board reloaded the page, the mark would be gone.
    await page.evaluate(() => { (globalThis as unknown as { stillTheSamePage: boolean }).stillTheSamePage = true; });

    const created = await s.app.inject({
      method: 'POST', url: '/api/v1/orders', headers: DESK,
      payload: { externalId: `e2e-${Date.now()}`, category: 'water-main-burst', departmentId: DEPARTMENT, summary: '景区步道水管爆裂，游客滞留', address: '楠溪江景区入口', reporterPhone: CITIZEN_PHONE, urgency: 'urgent' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const { id, code } = created.json<{ id: string; code: string }>();
    const row = page.locator(`tr[data-order-id="${id}"]`);

    // It appears while the phone is still being called, with the live call on it …
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 10_000 }).toBe('dispatching');
    expect(await row.locator('td.code').textContent()).toBe(code);
    await expect.poll(() => row.locator('.chip[data-result=live]').count(), { timeout: 10_000 }).toBe(1);
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-board-dispatching.png') });
    // … and turns accepted when the simulated phone presses 1, without a reload.
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 30_000, interval: 200 }).toBe('accepted');
    expect(await row.locator('[data-testid=status]').textContent()).toBe('已受理');
    expect(await row.locator('td.ack').textContent()).toMatch(/^旅游局值班室 \d+\.\d 秒$/);
    expect(await page.evaluate(() => (globalThis as unknown as { stillTheSamePage?: boolean }).stillTheSamePage)).toBe(true);
    await expect.poll(() => row.locator('.chip[data-result=accepted]').count(), { timeout: 30_000 }).toBe(1);
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-board.png') });

    // The department reports arrival and completion; the callback survey calls the citizen.
    for (const kind of ['arrived', 'completed']) {
      const fb = await s.app.inject({ method: 'POST', url: `/api/v1/orders/${id}/feedback`, headers: DEPT, payload: { kind, note: kind === 'arrived' ? '抢修人员已到场' : '已修复' } });
      expect(fb.statusCode, fb.body).toBe(201);
    }
    // The board follows the case live to "surveyed" once the callback is over.
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 60_000, interval: 250 }).toBe('surveyed');

    // The case page: the order, the acceptance, the call, the timeline.
    await row.locator('td.code a').click();
    await page.waitForSelector('#timeline li[data-kind=acceptance_committed]');
    await page.waitForSelector('#timeline li[data-kind=flagged_unsatisfied]');
    expect(await page.textContent('[data-testid=case-status]')).toBe('已回访');
    const kinds = await Promise.all((await page.locator('#timeline li').all()).map((li) => li.getAttribute('data-kind')));
    expect(kinds).toEqual(expect.arrayContaining(['order_created', 'attempt_started', 'keypad', 'acceptance_committed', 'feedback_arrived', 'feedback_completed', 'survey_answer', 'survey_finished']));
    expect(kinds.indexOf('order_created')).toBeLessThan(kinds.indexOf('acceptance_committed'));
    expect(kinds.indexOf('acceptance_committed')).toBeLessThan(kinds.indexOf('feedback_completed'));
    expect(await page.locator('table.attempts tbody tr').first().getAttribute('data-result')).toBe('accepted');
    expect(await page.textContent('dl.facts')).toContain('701****1112');
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-case.png'), fullPage: true });

    // The callback register and the flag raised by the "not satisfied" answer.
    await page.click('nav a[href="#/register"]');
    await page.waitForSelector('table.register');
    const registered = page.locator('table.register tbody tr', { hasText: code });
    expect((await registered.locator('td').allTextContents()).slice(7, 10)).toEqual(['满意', '满意', '不满意']);
    await page.click('nav a[href="#/flags"]');
    await page.waitForSelector('table.flags');
    expect(await page.textContent('table.flags tbody')).toContain('不满意：处置水平');

    // The quarterly assessment of the current quarter, with its charts.
    await page.setViewportSize({ width: 1680, height: 1000 });
    await page.click('nav a[href="#/assessment"]');
    await page.waitForSelector('#assessment-table');
    await page.waitForSelector('#chart-acceptance svg');
    await page.waitForSelector('#chart-satisfaction svg');
    const tourism = page.locator(`#assessment-table tr[data-department="${DEPARTMENT}"]`);
    expect(await tourism.locator('td').first().textContent()).toBe('1');
    expect(await tourism.locator('td[data-key=received]').textContent()).toBe('1');
    expect(await tourism.locator('td[data-key=accepted]').textContent()).toBe('1');
    expect(await tourism.locator('td[data-key=acceptanceRate]').textContent()).toBe('100.0%');
    expect(await tourism.locator('td[data-key=completionRate]').textContent()).toBe('100.0%');
    expect(await tourism.locator('td[data-key="satisfaction.quality.rate"]').textContent()).toBe('0.0%');
    expect(await tourism.locator('td[data-key="satisfaction.attitude.rate"]').textContent()).toBe('100.0%');
    expect(await tourism.locator('td[data-key=flagged]').textContent()).toBe('1');
    expect(await page.textContent('[data-testid=total-received]')).toContain('1');
    expect(await page.textContent('#chart-satisfaction svg')).toContain('处置水平 0.0% (0/1)');
    expect(await page.textContent('#chart-acceptance svg')).toContain(`1. ${departmentName}`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-assessment.png'), fullPage: true });

    // English at the press of a button.
    await page.click('#lang');
    await page.waitForSelector('#assessment-table');
    expect(await page.textContent('nav a[href="#/assessment"]')).toBe('Quarterly assessment');
    await expect.poll(() => page.textContent('#chart-acceptance svg'), { timeout: 10_000 }).toContain('Acceptance rate (by rank)');

    expect(consoleErrors).toEqual([]);
    await page.close();
    // The stream took the token in its URL; the service log must not have it.
    expect(fs.readFileSync(path.join(ARTIFACTS, 'console-e2e.log'), 'utf8')).not.toContain(VIEWER_TOKEN);
  }, 120_000);

  it('roles decide what is shown: the desk sees the board, the new-order page and the disputes (the API lets it read them), not the assessment; a shared department token is turned away', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    await signIn(page, 'dev-desk-token');
    expect(await Promise.all((await page.locator('nav a').all()).map((a) => a.getAttribute('href')))).toEqual(['#/board', '#/new', '#/disputes']);
    await page.goto(`${base}/console/#/assessment`);
    await page.waitForSelector('main#view p.error');
    expect(await page.textContent('main#view p.error')).toBe('您的角色无权查看此页。');
    await page.click('#signout');
    await page.fill('#token', 'dev-department-token');
    await page.click('#signin button[type=submit]');
    await page.waitForSelector('#signin p.error:not(:empty)');
    expect(await page.textContent('#signin p.error')).toContain('此工作台供110接警台');
    await page.fill('#token', 'not-a-token-at-all');
    await page.click('#signin button[type=submit]');
    await expect.poll(() => page.textContent('#signin p.error')).toBe('令牌无效或已停用。');
    await page.close();
  }, 60_000);

  it('an order for two units: the case page lists both units, the lead marked, each with its status and who accepted', async () => {
    const list = (await s.app.inject({ method: 'GET', url: '/api/v1/departments', headers: DESK })).json<{ departments: Array<{ id: string; name: { 'zh-CN': string }; categories: string[] }> }>();
    const education = list.departments.find((d) => d.id === 'education');
    const put = await s.app.inject({
      method: 'PUT', url: '/api/v1/departments/education', headers: ADMIN,
      payload: { name: education?.name, categories: education?.categories, contacts: [{ id: 'duty-room', name: '教育局值班室', number: '70211', priority: 1 }], policy: { ringTimeoutSeconds: 10, keyTimeoutSeconds: 6 } },
    });
    expect(put.statusCode, put.body).toBe(200);
    const created = await s.app.inject({
      method: 'POST', url: '/api/v1/orders', headers: DESK,
      payload: { externalId: `e2e-co-${Date.now()}`, category: 'water-main-burst', departmentIds: [DEPARTMENT, 'education'], summary: '学校门口水管爆裂', address: '城关镇学府路', reporterPhone: CITIZEN_PHONE, urgency: 'urgent', callback: false },
    });
    expect(created.statusCode, created.body).toBe(201);
    const { id } = created.json<{ id: string }>();
    await expect.poll(async () => (await s.app.inject({ method: 'GET', url: `/api/v1/orders/${id}`, headers: DESK })).json<{ units: Array<{ status: string }> }>().units.map((u) => u.status), { timeout: 40_000, interval: 250 })
      .toEqual(['accepted', 'accepted']);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, locale: 'zh-CN' });
    const consoleErrors: string[] = [];
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await signIn(page, VIEWER_TOKEN);
    await page.goto(`${base}/console/#/case/${encodeURIComponent(id)}`);
    await page.waitForSelector('[data-testid=case-units] li[data-unit=education]');
    const lines = await page.locator('[data-testid=case-units] li').allTextContents();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(new RegExp(`^${departmentName} \\(牵头\\) · 已受理 · 旅游局值班室 `));
    expect(lines[1]).toMatch(/· 已受理 · 教育局值班室 /);
    // The co-unit's acceptance is not shown as a unit that "helped first" (that is a reassigned order's).
    expect(await page.locator('h4', { hasText: '先行处置单位' }).count()).toBe(0);
    expect(await page.textContent('table.attempts')).toContain('教育局值班室');
    expect(consoleErrors).toEqual([]);
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-case-two-units.png'), fullPage: true });
    await page.close();
  }, 90_000);
});
