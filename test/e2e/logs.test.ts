/**
 * End to end: the Logs screen in Debian chromium over the browser console,
 * with thousands of entries: colours, filters in the store, live tail that
 * does not jump, detail panel, export with a download link; screenshots.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ExcelJS from 'exceljs';
import type { Page } from 'playwright-core';
import { launchBrowser, screenshot, type BrowserHandle } from '../helpers/browser';
import { startTestConsole, type ConsoleHandle } from '../helpers/console';
import { seedLog } from '../helpers/log-seed';

describe('logs screen in the browser console', () => {
  let browserHandle: BrowserHandle;
  let consoleHandle: ConsoleHandle;
  let page: Page;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-e2e-logs-'));
    consoleHandle = await startTestConsole(dataDir);
    const a = consoleHandle.engine.mailboxes.create({ name: 'Support', address: 'support@example.test', preset: 'microsoft365' });
    const b = consoleHandle.engine.mailboxes.create({ name: 'Billing', address: 'billing@gmail.com', preset: 'gmail' });
    seedLog(consoleHandle.engine, 5000, [a.id, b.id, null]);
    browserHandle = await launchBrowser();
    page = await browserHandle.browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(10_000);
    await page.goto(consoleHandle.server.url);
    await page.getByRole('button', { name: 'Logs' }).click();
  });

  afterAll(async () => {
    await browserHandle?.close();
    await consoleHandle?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const rows = () => page.locator('[role="grid"] [role="row"][data-log-id]');

  it('shows the newest entries first, virtualized, each with a level word', async () => {
    await expect.poll(() => rows().count()).toBeGreaterThan(10);
    // Virtualized: far fewer rows in the page than entries in the store.
    expect(await rows().count()).toBeLessThan(100);
    const firstId = Number(await rows().first().getAttribute('data-log-id'));
    expect(firstId).toBe(5000);
    expect(await rows().first().textContent()).toMatch(/Success|Warning|Error|Info/);
  });

  it('filters in the store by level and mailbox', async () => {
    await page.locator('select[name="level"]').selectOption('error');
    await page.locator('select[name="mailbox"]').selectOption({ label: 'Support' });
    await expect.poll(async () => (await rows().evaluateAll((els) => els.map((e) => e.getAttribute('data-level')))).every((l) => l === 'error')).toBe(true);
    expect(await rows().count()).toBeGreaterThan(5);
    const texts = await rows().allTextContents();
    expect(texts.every((t) => t.includes('Support'))).toBe(true);
  });

  it('opens an entry in the detail panel with its full description', async () => {
    await rows().filter({ hasText: 'SMTP_AUTH_DISABLED' }).first().click();
    const panel = page.getByRole('complementary', { name: 'Log entry' });
    await expect.poll(() => panel.textContent()).toContain('SmtpClientAuthentication is disabled');
    await screenshot(page, 'logs-filtered');
  });

  it('adds live entries at the top, and holds them behind a button while the admin scrolls', async () => {
    await page.locator('select[name="level"]').selectOption('');
    await page.locator('select[name="mailbox"]').selectOption('');
    await expect.poll(async () => Number(await rows().first().getAttribute('data-log-id'))).toBe(5000);
    consoleHandle.engine.log.write({ direction: 'system', level: 'info', message: 'Live entry one' });
    await expect.poll(() => rows().first().textContent()).toContain('Live entry one');

    await page.locator('[role="grid"] [role="rowgroup"]').evaluate((el) => el.scrollTo({ top: 3000 }));
    const topBefore = await page.locator('[role="grid"] [role="rowgroup"]').evaluate((el) => el.scrollTop);
    consoleHandle.engine.log.write({ direction: 'system', level: 'warning', message: 'Live entry two' });
    const banner = page.getByRole('button', { name: /1 new entry/ });
    await expect.poll(() => banner.count()).toBe(1);
    expect(await page.locator('[role="grid"] [role="rowgroup"]').evaluate((el) => el.scrollTop)).toBe(topBefore);
    await banner.click();
    await expect.poll(() => rows().first().textContent()).toContain('Live entry two');
  });

  it('shows repeats of one event as one entry with a count and its first and last time, also live', async () => {
    const support = consoleHandle.engine.mailboxes.list().find((m) => m.name === 'Support')!;
    const failure = { mailboxId: support.id, direction: 'receive' as const, level: 'error' as const, code: 'OAUTH_NOT_SIGNED_IN', message: 'Poll of INBOX failed: Support has not signed in with Microsoft yet.' };
    const first = Date.now() - 2 * 60_000;
    consoleHandle.engine.log.write({ ...failure, at: first });
    await expect.poll(() => rows().first().textContent()).toContain('has not signed in');
    consoleHandle.engine.log.write({ ...failure, at: first + 60_000 });
    consoleHandle.engine.log.write({ ...failure, at: first + 120_000 });
    // One row, counted: the rows the repeats replaced are gone from the list as well.
    await expect.poll(() => rows().first().locator('[data-repeats]').textContent()).toBe('3×');
    expect(await rows().filter({ hasText: 'has not signed in' }).count()).toBe(1);
    await rows().first().click();
    const panel = page.getByRole('complementary', { name: 'Log entry' });
    await expect.poll(() => panel.getByTestId('log-repeats').textContent()).toContain('3 times in a row');
    expect(await panel.textContent()).toMatch(/First time.*Times/);
    await screenshot(page, 'logs-repeats');
  });

  it('exports the current filter to Excel and offers the download', async () => {
    // The list shows every column again once the entry is closed.
    await page.getByRole('complementary', { name: 'Log entry' }).getByRole('button', { name: 'Close the entry' }).click();
    await expect.poll(() => page.getByRole('complementary', { name: 'Log entry' }).count()).toBe(0);
    await page.locator('select[name="direction"]').selectOption('send');
    await expect.poll(async () => (await rows().allTextContents()).every((t) => t.includes('Send'))).toBe(true);
    await page.getByRole('button', { name: 'Export' }).click();
    await page.getByRole('menuitem', { name: /Excel/ }).click();
    const link = page.getByRole('link', { name: /Download mailroom-log-.*\.xlsx/ });
    await expect.poll(() => link.count(), { timeout: 20_000 }).toBe(1);
    await screenshot(page, 'logs');
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const file = path.join(dataDir, 'downloaded.xlsx');
    await download.saveAs(file);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(file);
    const sheet = workbook.getWorksheet('Log')!;
    const expected = consoleHandle.engine.log.count({ direction: 'send' });
    expect(sheet.rowCount - 1).toBe(expected);
    expect(sheet.getRow(1).values).toContain('Message');
    const directions = new Set<string>();
    sheet.eachRow((row, n) => n > 1 && directions.add(String(row.getCell(3).value)));
    expect([...directions]).toEqual(['send']);
  });
});
