/**
 * End to end: the dark theme, chosen with the header button, applies to every
 * screen and is remembered on reload. Screenshots of the busiest screens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser, screenshot, type BrowserHandle } from '../helpers/browser';
import { startTestConsole, type ConsoleHandle } from '../helpers/console';
import { seedLog } from '../helpers/log-seed';

describe('dark theme', () => {
  let browserHandle: BrowserHandle;
  let consoleHandle: ConsoleHandle;
  let page: Page;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-e2e-theme-'));
    consoleHandle = await startTestConsole(dataDir);
    const a = consoleHandle.engine.mailboxes.create({ name: 'Support', address: 'support@contoso.example', preset: 'microsoft365' });
    const b = consoleHandle.engine.mailboxes.create({ name: 'Billing', address: 'billing@gmail.com', password: 'app-password-123' });
    seedLog(consoleHandle.engine, 300, [a.id, b.id]);
    browserHandle = await launchBrowser();
    page = await browserHandle.browser.newPage({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
    page.setDefaultTimeout(10_000);
    await page.goto(consoleHandle.server.url);
    // The Mail flow overview is the first screen; these steps start on Mailboxes.
    await page.evaluate(() => (location.hash = '#/mailboxes'));
  });

  afterAll(async () => {
    await browserHandle?.close();
    await consoleHandle?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const scheme = () => page.evaluate(() => document.documentElement.style.colorScheme);

  it('switches to dark from the header and keeps it after a reload', async () => {
    expect(await scheme()).toBe('light');
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
    await expect.poll(scheme).toBe('dark');
    await page.reload();
    await expect.poll(scheme).toBe('dark');
    await expect.poll(() => page.locator('tr[data-mailbox]').count()).toBe(2);
    await page.locator('tr[data-mailbox="Billing"]').click();
    await screenshot(page, 'mailboxes-dark');
  });

  it('shows the logs colour-coded in dark', async () => {
    await page.getByRole('button', { name: 'Logs' }).click();
    await expect.poll(() => page.locator('[role="row"][data-log-id]').count()).toBeGreaterThan(10);
    // Dark surfaces: the list background is dark, the text light.
    const [bg, fg] = await page.locator('[role="grid"]').first().evaluate((el) => [getComputedStyle(el).backgroundColor, getComputedStyle(el).color]);
    const lum = (c: string) => c.match(/\d+/g)!.slice(0, 3).map(Number).reduce((x, y) => x + y, 0) / 3;
    expect(lum(bg!)).toBeLessThan(80);
    expect(lum(fg!)).toBeGreaterThan(170);
    await screenshot(page, 'logs-dark');
  });
});
