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
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** A loopback port nothing listens on: detection runs offline, at once and the same every time. */
async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('mailboxes screen in the browser console', () => {
  let browserHandle: BrowserHandle;
  let consoleHandle: ConsoleHandle;
  let page: Page;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-e2e-'));
    const offline = await closedPort();
    consoleHandle = await startTestConsole(dataDir, {
      detector: { dnsServers: [`127.0.0.1:${offline}`], userRealmUrl: `https://127.0.0.1:${offline}/getuserrealm.srf`, autoconfigUrls: [], stepTimeoutMs: 1000 },
    });
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
    // The first screen is the Mail flow overview.
    await expect.poll(() => fresh.getByTestId('health-summary').count()).toBe(1);
    const again = await (await browserHandle.browser.newContext()).newPage();
    const response = await again.goto(launch);
    expect(response?.status()).toBe(401);
    await context.close();
    await again.context().close();
  });

  it('creates a mailbox through the form and lists it without its password', async () => {
    await page.goto(consoleHandle.server.url);
    // The Mail flow overview is the first screen; these steps start on Mailboxes.
    await page.evaluate(() => (location.hash = '#/mailboxes'));
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
    // Saved disabled: an enabled one would first look into its folder on the (unreachable) server
    // (the first-enable dialog is tested against a private Dovecot in smtp-first-enable.test.ts).
    await dialog.getByRole('switch').uncheck();
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
    await dialog.getByRole('switch').uncheck();
    await dialog.getByRole('button', { name: 'Create mailbox' }).click();
    await expect.poll(() => dialog.getByText(/already/i).count()).toBeGreaterThan(0);
    await dialog.getByRole('textbox', { name: 'Name', exact: true }).fill('Gmail desk');
    await dialog.getByRole('button', { name: 'Create mailbox' }).click();
    await expect.poll(() => page.locator('tr[data-mailbox]').count()).toBe(2);
  });

  it('opens the editor on Enter without saving, with focus in the editor; only Save saves', async () => {
    const support = consoleHandle.engine.mailboxes.resolve('Support');
    const calls: string[] = [];
    const onRequest = (request: { url(): string; postData(): string | null }) => {
      if (request.url().endsWith('/api/invoke')) calls.push(JSON.parse(request.postData() ?? '{}').channel);
    };
    page.on('request', onRequest);
    try {
      await page.locator('tr[data-mailbox="Support"]').focus();
      await page.keyboard.press('Enter');
      const dialog = page.getByRole('dialog', { name: 'Edit mailbox Support' });
      await expect.poll(() => dialog.isVisible()).toBe(true);
      await expect.poll(() => page.evaluate(() => Boolean(document.activeElement?.closest('[role="dialog"]')))).toBe(true);
      // Escape closes it: had the Enter saved, the update call would have been sent before this.
      await page.keyboard.press('Escape');
      await expect.poll(() => dialog.count()).toBe(0);
      expect(calls).not.toContain('mailboxes.update');
      expect(consoleHandle.engine.mailboxes.get(support.id).updatedAt).toBe(support.updatedAt);
      expect(await page.getByText('Saved mailbox Support.').count()).toBe(0);

      await page.locator('tr[data-mailbox="Support"]').focus();
      await page.keyboard.press('Enter');
      await dialog.getByRole('textbox', { name: 'Folder' }).fill('INBOX/Help desk');
      await dialog.getByRole('button', { name: 'Save changes' }).click();
      await expect.poll(() => page.getByText('Saved mailbox Support.').count()).toBe(1);
      expect(calls.filter((c) => c === 'mailboxes.update')).toHaveLength(1);
      expect(consoleHandle.engine.mailboxes.get(support.id).imap.folder).toBe('INBOX/Help desk');
    } finally {
      page.off('request', onRequest);
    }
  });

  it('has a skip link first, every section and toolbar button in the Tab order, and arrow keys in the list', async () => {
    await page.goto(`http://127.0.0.1:${consoleHandle.server.port}/#/mailboxes`);
    await page.reload();
    await expect.poll(() => page.locator('tr[data-mailbox]').count()).toBe(2);
    const focused = () => page.evaluate(() => document.activeElement?.getAttribute('aria-label') || document.activeElement?.textContent?.trim() || document.activeElement?.tagName);
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Skip to main content');
    const order: string[] = [];
    for (let i = 0; i < 13; i++) {
      await page.keyboard.press('Tab');
      order.push((await focused()) ?? '');
    }
    expect(order.slice(0, 12)).toEqual(['Diagnostics', 'Switch to dark theme', 'Mail flow', 'Mailboxes', 'Connection tests', 'Outbox', 'Inbox', 'Logs', 'Site setup', 'New mailbox', 'Import settings', 'Export settings']);
    // The skip link takes focus to the main content, past the header and the navigation.
    await page.keyboard.press('Shift+Tab');
    for (let i = 0; i < 12; i++) await page.keyboard.press('Shift+Tab');
    expect(await focused()).toBe('Skip to main content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main-content');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('New mailbox');
    // The list is one Tab stop; the arrow keys go from row to row and the detail follows.
    const first = page.locator('tr[data-mailbox]').first();
    await first.focus();
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-mailbox'))).toBe(await page.locator('tr[data-mailbox]').nth(1).getAttribute('data-mailbox'));
    await expect.poll(() => page.getByRole('complementary').getAttribute('aria-label')).toBe(`Mailbox ${await page.locator('tr[data-mailbox]').nth(1).getAttribute('data-mailbox')}`);
  });

  it('lets the provider follow detection, and a preset switch replaces only what a preset filled in', async () => {
    await page.getByRole('button', { name: 'New mailbox' }).first().click();
    const dialog = page.getByRole('dialog');
    const provider = dialog.getByRole('combobox', { name: 'Provider' });
    const value = (name: string) => dialog.locator(`[name="${name}"]`).inputValue();
    // It starts as Other, with no servers, until the address says more.
    expect(await provider.inputValue()).toBe('generic');
    expect(await value('imapHost')).toBe('');
    await dialog.locator('input[name="name"]').fill('Desk');
    await dialog.locator('input[name="address"]').fill('desk@contoso.onmicrosoft.com');
    await expect.poll(() => provider.inputValue(), { timeout: 15_000 }).toBe('microsoft365');
    expect(await value('imapHost')).toBe('outlook.office365.com');
    expect(await value('smtpHost')).toBe('smtp.office365.com');
    // What the admin types is theirs.
    await dialog.locator('input[name="smtpUsername"]').fill('relay-upn@contoso.test');
    await dialog.locator('input[name="address"]').fill('desk@unknown-provider.test');
    await expect.poll(() => dialog.getByTestId('detect-panel').textContent(), { timeout: 15_000 }).toContain('No provider was recognised');
    await expect.poll(() => provider.inputValue()).toBe('generic');
    expect(await value('imapHost')).toBe('');
    expect(await value('smtpHost')).toBe('');
    expect(await value('smtpUsername')).toBe('relay-upn@contoso.test');
    // Chosen by hand: Microsoft 365 fills the servers; a typed server survives the switch back to Other.
    await provider.selectOption('microsoft365');
    expect(await value('smtpHost')).toBe('smtp.office365.com');
    await dialog.locator('input[name="imapHost"]').fill('imap.internal.test');
    await provider.selectOption('generic');
    expect(await value('imapHost')).toBe('imap.internal.test');
    expect(await value('smtpHost')).toBe('');
    expect(await value('imapPort')).toBe('993');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
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
