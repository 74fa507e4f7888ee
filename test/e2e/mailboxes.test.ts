/**
 * End to end: Debian chromium opens the browser console, creates a mailbox
 * through the form, sees it in the list, and saves a screenshot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchBrowser, screenshot, type BrowserHandle } from '../helpers/browser';
import { startTestConsole, type ConsoleHandle } from '../helpers/console';
import { tempDir } from '../helpers/temp';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

describe('mailboxes screen in the browser console', () => {
  let browserHandle: BrowserHandle;
  let consoleHandle: ConsoleHandle;
  let page: Page;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-e2e-'));
    consoleHandle = await startTestConsole(dataDir);
    browserHandle = await launchBrowser();
    page = await browserHandle.browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(10_000);
  });

  afterAll(async () => {
    await browserHandle?.close();
    await consoleHandle?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses a visit without the token', async () => {
    const response = await page.goto(`http://127.0.0.1:${consoleHandle.server.port}/`);
    expect(response?.status()).toBe(401);
    expect(await page.textContent('body')).toContain('token');
  });

  it('opens through a one-time launch link that cannot be used twice', async () => {
    const launch = consoleHandle.server.launchUrl();
    expect(launch).not.toContain(consoleHandle.server.token);
    const context = await browserHandle.browser.newContext();
    const fresh = await context.newPage();
    await fresh.goto(launch);
    await expect.poll(() => fresh.getByRole('heading', { name: 'Mailboxes' }).count()).toBe(1);
    const again = await (await browserHandle.browser.newContext()).newPage();
    const response = await again.goto(launch);
    expect(response?.status()).toBe(401);
    await context.close();
    await again.context().close();
  });

  it('creates a mailbox through the form and lists it without its password', async () => {
    await page.goto(consoleHandle.server.url);
    expect(page.url()).not.toContain('token=');
    await page.getByRole('button', { name: 'New mailbox' }).first().click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.isVisible()).toBe(true);

    // Inline validation names the field before anything is sent.
    await dialog.getByRole('button', { name: 'Create mailbox' }).click();
    await expect.poll(() => dialog.getByText(/give the mailbox a short name/i).count()).toBeGreaterThan(0);

    await dialog.getByRole('combobox', { name: 'Provider' }).selectOption('generic');
    await dialog.getByRole('textbox', { name: 'Name', exact: true }).fill('Support');
    await dialog.getByRole('textbox', { name: 'Email address', exact: true }).fill('support@example.test');
    await dialog.getByRole('textbox', { name: 'IMAP server', exact: true }).fill('imap.example.test');
    await dialog.getByRole('textbox', { name: 'SMTP server', exact: true }).fill('smtp.example.test');
    await dialog.locator('select[name="smtpSecurity"]').selectOption('starttls');
    expect(await dialog.getByRole('textbox', { name: 'SMTP port', exact: true }).inputValue()).toBe('587');
    await dialog.getByLabel('Password or app password').fill('pa55-Secret!');
    await dialog.getByRole('button', { name: 'Create mailbox' }).click();
    await expect.poll(() => dialog.isVisible()).toBe(false);

    const row = page.locator('tr[data-mailbox="Support"]');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain('support@example.test');
    expect(await row.textContent()).toContain('smtp.example.test');
    expect(await row.textContent()).toContain('port 587 · STARTTLS');
    expect(await row.textContent()).toContain('Password set');

    const stored = consoleHandle.engine.mailboxes.list();
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain('pa55-Secret!');
    expect(await page.content()).not.toContain('pa55-Secret!');
  });

  it('shows a server-side conflict on the field', async () => {
    await page.getByRole('button', { name: 'New mailbox' }).first().click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('combobox', { name: 'Provider' }).selectOption('gmail');
    await dialog.getByRole('textbox', { name: 'Name', exact: true }).fill('support');
    await dialog.getByRole('textbox', { name: 'Email address', exact: true }).fill('desk@gmail.com');
    await dialog.getByRole('button', { name: 'Create mailbox' }).click();
    await expect.poll(() => dialog.getByText(/already/i).count()).toBeGreaterThan(0);
    await dialog.getByRole('textbox', { name: 'Name', exact: true }).fill('Gmail desk');
    await dialog.getByRole('button', { name: 'Create mailbox' }).click();
    await expect.poll(() => page.locator('tr[data-mailbox]').count()).toBe(2);
  });

  it('takes a screenshot of the list with the detail panel', async () => {
    await page.locator('tr[data-mailbox="Support"]').click();
    await expect.poll(() => page.getByRole('complementary').count()).toBe(1);
    const file = await screenshot(page, 'mailboxes');
    expect(fs.statSync(file).size).toBeGreaterThan(10_000);
  });

  it('deletes a mailbox after confirmation', async () => {
    await page.locator('tr[data-mailbox="Gmail desk"]').click();
    await page.getByRole('complementary').getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog');
    expect(await confirm.textContent()).toContain('cannot be undone');
    await confirm.getByRole('button', { name: 'Delete mailbox' }).click();
    await expect.poll(() => page.locator('tr[data-mailbox]').count()).toBe(1);
    expect(consoleHandle.engine.mailboxes.list().map((m) => m.name)).toEqual(['Support']);
  });
});
