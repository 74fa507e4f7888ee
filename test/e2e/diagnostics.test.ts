/**
 * End to end: Diagnostics in chromium over the browser console: export a
 * bundle and download it, then open another site's bundle read-only: the
 * banner names it, its mailboxes and log show, changes are refused, and
 * closing it brings back the admin's own data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser, screenshot, type BrowserHandle } from '../helpers/browser';
import { startTestConsole, type ConsoleHandle } from '../helpers/console';
import { seedLog } from '../helpers/log-seed';
import { openMailroom } from '../../src-main/engine/mailroom';
import { staticKeyProvider } from '../../src-main/store/secret-box';

describe('diagnostics in the browser console', () => {
  let browserHandle: BrowserHandle;
  let consoleHandle: ConsoleHandle;
  let page: Page;
  let dataDir: string;
  let theirBundle: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-e2e-diag-'));
    consoleHandle = await startTestConsole(dataDir);
    consoleHandle.engine.mailboxes.create({ name: 'Mine', address: 'mine@gmail.com', password: 'my-app-password-1234' });

    const other = openMailroom({ dataDir: path.join(dataDir, 'other-site'), keyProvider: staticKeyProvider(crypto.randomBytes(32)) });
    const a = other.mailboxes.create({ name: 'Helpdesk', address: 'helpdesk@contoso.example', preset: 'microsoft365' });
    const b = other.mailboxes.create({ name: 'Invoices', address: 'invoices@gmail.com', password: 'their-secret-pw-99' });
    seedLog(other, 400, [a.id, b.id]);
    theirBundle = (await other.diagnostics.createBundle(path.join(dataDir, 'contoso-diagnostics.zip'), { runtime: 'electron' })).path;
    other.close();

    browserHandle = await launchBrowser();
    page = await browserHandle.browser.newPage({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    page.setDefaultTimeout(15_000);
    await page.goto(consoleHandle.server.url);
    // The Mail flow overview is the first screen; these steps start on Mailboxes.
    await page.evaluate(() => (location.hash = '#/mailboxes'));
  }, 60_000);

  afterAll(async () => {
    await browserHandle?.close();
    await consoleHandle?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('exports a bundle without secrets and offers the download', async () => {
    await page.getByRole('button', { name: 'Diagnostics' }).click();
    await page.getByRole('menuitem', { name: /Export diagnostics/ }).click();
    const link = page.getByRole('link', { name: /Download mailroom-diagnostics-.*\.zip/ });
    await expect.poll(() => link.count(), { timeout: 20_000 }).toBe(1);
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const file = path.join(dataDir, 'downloaded.zip');
    await download.saveAs(file);
    const bytes = fs.readFileSync(file);
    expect(bytes.subarray(0, 2).toString()).toBe('PK');
    expect(bytes.includes(Buffer.from('my-app-password-1234'))).toBe(false);
    await page.getByRole('button', { name: 'Close' }).click();
  });

  it('opens another site\'s bundle read-only in the same screens', async () => {
    await page.getByRole('button', { name: 'Diagnostics' }).click();
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('menuitem', { name: /Open a diagnostics bundle/ }).click()]);
    await chooser.setFiles(theirBundle);
    await expect.poll(() => page.getByText(/Viewing diagnostics bundle contoso-diagnostics\.zip/).count()).toBe(1);
    await expect.poll(() => page.locator('tr[data-mailbox]').count()).toBe(2);
    expect(await page.locator('tr[data-mailbox="Helpdesk"]').count()).toBe(1);
    expect(await page.locator('tr[data-mailbox="Mine"]').count()).toBe(0);
    await screenshot(page, 'diagnostics-bundle');

    // Changes are not offered: Delete is disabled and says why (nothing is refused after a form was filled).
    await page.locator('tr[data-mailbox="Invoices"]').click();
    const remove = page.getByRole('complementary').getByRole('button', { name: 'Delete' });
    await expect.poll(() => remove.getAttribute('aria-disabled')).toBe('true');
    await remove.click({ force: true });
    expect(await page.getByRole('dialog').count()).toBe(0);
    // The session still refuses a change asked for directly, with the same code the CLI would show.
    const refused = await page.evaluate(async () => {
      const token = document.querySelector<HTMLMetaElement>('meta[name="mailroom-token"]')?.content ?? '';
      const response = await fetch('/api/invoke', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Mailroom-Token': token }, body: JSON.stringify({ channel: 'mailboxes.remove', payload: { id: 1 } }) });
      return (await response.json()) as { ok: boolean; error?: { code: string } };
    });
    expect(refused).toMatchObject({ ok: false, error: { code: 'READ_ONLY_VIEW' } });

    await page.getByRole('button', { name: 'Logs' }).click();
    await expect.poll(() => page.locator('[role="row"][data-log-id]').count()).toBeGreaterThan(10);
    await screenshot(page, 'diagnostics-bundle-logs');
  });

  it('closes the bundle and shows the admin\'s own data again, untouched', async () => {
    await page.getByRole('button', { name: 'Close bundle' }).click();
    await expect.poll(() => page.getByText(/Viewing diagnostics bundle/).count()).toBe(0);
    await page.getByRole('button', { name: 'Mailboxes' }).click();
    await expect.poll(() => page.locator('tr[data-mailbox]').count()).toBe(1);
    expect(await page.locator('tr[data-mailbox="Mine"]').count()).toBe(1);
    expect(consoleHandle.engine.mailboxes.list().map((m) => m.name)).toEqual(['Mine']);
  });
});
