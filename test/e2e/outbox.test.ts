/**
 * End to end: Debian chromium on the browser console, the real engine
 * sending to a real smtp-server on loopback. Compose a test message, watch
 * it go Queued -> Sending -> Sent live; a refused recipient lands Deferred
 * with its diagnosis and fix in the detail panel; Cancel and Delete (with
 * confirmation) work; a screenshot of the screen at 1280x800.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser, SCREENSHOT_DIR, type BrowserHandle } from '../helpers/browser';
import { startTestConsole, type ConsoleHandle } from '../helpers/console';
import { startOutboxSmtp, type OutboxSmtp } from '../helpers/outbox-smtp';

let browserHandle: BrowserHandle;
let consoleHandle: ConsoleHandle;
let upstream: OutboxSmtp;
let page: Page;
let dataDir: string;
let mailboxId: number;

/** Waits (bounded) until `check` holds; for hooks, where expect.poll is not available. */
async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const row = (id: number) => page.locator(`[role="row"][data-outbox-id="${id}"]`);

beforeAll(async () => {
  upstream = await startOutboxSmtp({
    onRcptTo: (a) => (a.startsWith('busy@') ? { code: 451, message: '4.7.500 Server busy. Please try again later' } : undefined),
    onData: (raw) => (raw.toString('utf8').includes('Subject: Hold on the wire') ? 'hang' : undefined),
  });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-e2e-outbox-'));
  consoleHandle = await startTestConsole(dataDir);
  const engine = consoleHandle.engine;
  mailboxId = engine.mailboxes.create({
    name: 'Support',
    address: 'support@example.test',
    preset: 'generic',
    imap: { host: '127.0.0.1', port: 1, security: 'none' },
    smtp: { host: '127.0.0.1', port: upstream.port, security: 'none', auth: 'none' },
  }).id;
  engine.mailboxes.create({
    name: 'Sales',
    address: 'sales@example.test',
    preset: 'generic',
    enabled: false,
    imap: { host: '127.0.0.1', port: 1, security: 'none' },
    smtp: { host: '127.0.0.1', port: upstream.port, security: 'none', auth: 'none' },
  });
  engine.outbox.saveSettings({ mailboxId, timeoutSeconds: 10, debug: true });
  // History for a realistic list: sent messages and some waiting in a disabled mailbox.
  const sales = engine.mailboxes.resolve('Sales').id;
  engine.outbox.queueRaw(mailboxId, Array.from({ length: 120 }, (_, i) => ({ raw: Buffer.from(`To: customer${i}@example.net\r\nSubject: Re: [Ticket #${4000 + i}] Password reset\r\n\r\nDone.\r\n`) })), 'eml');
  engine.outbox.queueRaw(sales, Array.from({ length: 3 }, (_, i) => ({ raw: Buffer.from(`To: lead${i}@example.net\r\nSubject: Quote ${i + 1}\r\n\r\nPrices.\r\n`) })), 'eml');
  expect(engine.outbox.startSending('console')).toBeNull();
  await waitUntil(() => engine.outbox.counts(mailboxId).sent === 120, 20_000, 'the history to be sent');

  browserHandle = await launchBrowser();
  page = await browserHandle.browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(15_000);
  await page.goto(consoleHandle.server.url);
  await page.goto(`http://127.0.0.1:${consoleHandle.server.port}/#/outbox`);
  await waitUntil(async () => (await page.getByRole('heading', { name: 'Outbox' }).count()) === 1, 15_000, 'the Outbox screen');
});

afterAll(async () => {
  await browserHandle?.close();
  upstream?.releaseHanging();
  await consoleHandle?.engine.outbox.stopSending(1000);
  await consoleHandle?.close();
  await upstream?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function compose(to: string, subject: string): Promise<number> {
  await page.getByRole('button', { name: 'Compose test message' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByRole('textbox', { name: 'To' }).fill(to);
  await dialog.getByRole('textbox', { name: 'Subject' }).fill(subject);
  await dialog.getByRole('button', { name: 'Queue message' }).click();
  await expect.poll(() => dialog.count()).toBe(0);
  const id = await page.locator('aside[data-outbox-detail]').getAttribute('data-outbox-detail');
  return Number(id);
}

describe('outbox screen in the browser console', () => {
  it('shows pending messages by default, and sent ones with the switch', async () => {
    // Only the disabled mailbox's messages are pending.
    await expect.poll(() => page.locator('[role="row"][data-outbox-id]').count()).toBe(3);
    expect(await page.getByText('Not sending').count()).toBe(0);
    await page.getByRole('switch', { name: 'Show sent emails' }).check();
    await expect.poll(() => page.locator('[role="row"][data-status="sent"]').count()).toBeGreaterThan(10);
  });

  it('refuses an invalid recipient in the compose form before anything is queued', async () => {
    await page.getByRole('button', { name: 'Compose test message' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('textbox', { name: 'To' }).fill('not an address');
    await dialog.getByRole('button', { name: 'Queue message' }).click();
    await expect.poll(() => dialog.getByText(/is not an email address/).count()).toBeGreaterThan(0);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  });

  it('queues a test message and shows Sending, then Sent, live', async () => {
    const id = await compose('alice@example.net', 'Hold on the wire');
    await expect.poll(() => row(id).getAttribute('data-status'), { timeout: 15_000 }).toBe('sending');
    upstream.releaseHanging();
    await expect.poll(() => row(id).getAttribute('data-status'), { timeout: 15_000 }).toBe('sent');
    const panel = page.locator(`aside[data-outbox-detail="${id}"]`);
    await expect.poll(() => panel.getByText(/250 OK: queued as Q\d+/).count()).toBeGreaterThan(0);
    await expect.poll(() => panel.getByRole('log').count()).toBe(1);
    expect(await panel.getByRole('log').textContent()).toContain('MAIL FROM:<support@example.test>');
  });

  it('shows a deferred message with its diagnosis and what to change, then cancels and deletes it', async () => {
    const id = await compose('busy@example.net', 'Invoice 2026-0042');
    await expect.poll(() => row(id).getAttribute('data-status'), { timeout: 15_000 }).toBe('deferred');
    const panel = page.locator(`aside[data-outbox-detail="${id}"]`);
    const card = panel.locator('[data-error-code="SERVER_TEMPORARY"]');
    await expect.poll(() => card.count()).toBe(1);
    expect(await card.textContent()).toContain('What to change');
    expect(await card.textContent()).toContain('451 4.7.500 Server busy');
    expect(await row(id).textContent()).toContain('SERVER_TEMPORARY');
    expect(await panel.getByRole('region', { name: 'Status history' }).textContent()).toMatch(/Queued.*Sending.*Deferred/s);
    await panel.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => row(id).getAttribute('data-status')).toBe('cancelled');
    await panel.getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog');
    expect(await confirm.textContent()).toContain('cannot be undone');
    await confirm.getByRole('button', { name: 'Delete message' }).click();
    await expect.poll(() => row(id).count()).toBe(0);
    expect(() => consoleHandle.engine.outbox.get(id)).toThrow(/No outbox message/);
  });

  it('moves through the list with the keyboard', async () => {
    const first = page.locator('[role="row"][data-outbox-id]').first();
    await first.click();
    const firstId = Number(await first.getAttribute('data-outbox-id'));
    await page.keyboard.press('ArrowDown');
    await expect.poll(async () => Number(await page.locator('[role="row"][aria-selected="true"]').getAttribute('data-outbox-id'))).not.toBe(firstId);
  });

  it('sets up the local relay: an account, then the relay listening on 127.0.0.1', async () => {
    consoleHandle.engine.relay.setManaged(true);
    await page.getByRole('button', { name: 'Local relay' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('spinbutton', { name: 'Port' }).fill('0');
    await dialog.getByRole('textbox', { name: 'User name' }).click();
    await expect.poll(() => dialog.getByText(/from 1 to 65535/).count()).toBeGreaterThan(0);
    const port = String(20000 + (process.pid % 20000));
    await dialog.getByRole('spinbutton', { name: 'Port' }).fill(port);
    await dialog.getByRole('textbox', { name: 'User name' }).fill('scanner');
    await dialog.getByLabel('Password').fill('Scanner-Pa55-3rd');
    await dialog.getByRole('button', { name: 'Add account' }).click();
    await expect.poll(() => dialog.getByRole('cell', { name: 'scanner', exact: true }).count()).toBe(1);
    // The switch follows the saved setting, so it turns on once the engine has it.
    await dialog.getByRole('switch', { name: /Run the relay/ }).click();
    await expect.poll(() => dialog.getByText(`Listening on 127.0.0.1:${port}`).count(), { timeout: 10_000 }).toBe(1);
    expect(consoleHandle.engine.relay.settings()).toMatchObject({ enabled: true, port: Number(port), running: true });
    expect(await page.content()).not.toContain('Scanner-Pa55-3rd');
    await dialog.getByRole('switch', { name: /Run the relay/ }).click();
    await expect.poll(() => consoleHandle.engine.relay.running).toBe(false);
    await dialog.getByRole('button', { name: 'Close' }).click();
  });

  it('chooses each relay account\'s From address, and shows what would keep relay mail from going out', async () => {
    // A Microsoft 365 mailbox nobody signed in yet, with an account that keeps the application's From.
    const office = consoleHandle.engine.mailboxes.create({ name: 'Office', address: 'office@contoso.test', preset: 'microsoft365', smtp: { host: '127.0.0.1', port: 1, security: 'none' }, imap: { host: '127.0.0.1', port: 1, security: 'none' } });
    await consoleHandle.engine.relay.saveSettings({ addAccounts: [{ username: 'erp', mailboxId: office.id, password: 'Erp-Relay-Pa55' }] });
    await page.getByRole('button', { name: 'Local relay' }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.getByText(/keeps the application's From, but Office is a Microsoft 365 mailbox/).count()).toBe(1);
    await expect.poll(() => dialog.getByText(/Office needs a Microsoft sign-in before it can send/).count()).toBe(1);
    // A new account sends as its mailbox from the start.
    await dialog.getByRole('textbox', { name: 'User name' }).fill('copier');
    await dialog.getByLabel('Password').fill('Copier-Pa55-2nd');
    await dialog.getByRole('combobox', { name: 'From address', exact: true }).selectOption('mailbox');
    await dialog.getByRole('button', { name: 'Add account' }).click();
    await expect.poll(() => consoleHandle.engine.relay.settings().accounts.find((a) => a.username === 'copier')?.fromMode).toBe('mailbox');
    fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
    await dialog.screenshot({ path: path.join(SCREENSHOT_DIR, 'relay-dialog.png'), animations: 'disabled' });
    await page.setViewportSize({ width: 1024, height: 768 });
    await dialog.screenshot({ path: path.join(SCREENSHOT_DIR, 'relay-dialog-1024.png'), animations: 'disabled' });
    await page.setViewportSize({ width: 1280, height: 800 });
    // Switching erp to the mailbox's address clears the From warning; the sign-in one stays.
    await dialog.getByRole('combobox', { name: 'From address of erp' }).selectOption('mailbox');
    await expect.poll(() => dialog.getByText(/keeps the application's From/).count()).toBe(0);
    expect(consoleHandle.engine.relay.settings().accounts.find((a) => a.username === 'erp')?.fromMode).toBe('mailbox');
    expect(await dialog.getByText(/Office needs a Microsoft sign-in/).count()).toBe(1);
    // Every warning's text stays inside its bar.
    for (const bar of await dialog.locator('.fui-MessageBar').all()) {
      const outer = (await bar.boundingBox())!;
      const inner = (await bar.locator('.fui-MessageBarBody').boundingBox())!;
      expect(inner.y + inner.height).toBeLessThanOrEqual(outer.y + outer.height + 1);
    }
    await dialog.getByRole('button', { name: 'Close' }).click();
    await consoleHandle.engine.relay.saveSettings({ removeAccounts: ['erp', 'copier'] });
    consoleHandle.engine.mailboxes.remove(office.id);
  });

  it('takes a screenshot with a deferred message open', async () => {
    const id = await compose('busy@example.net', 'Re: [Ticket #4711] Scanner on floor 3');
    await expect.poll(() => row(id).getAttribute('data-status'), { timeout: 15_000 }).toBe('deferred');
    const showSent = page.getByRole('switch', { name: 'Show sent emails' });
    await showSent.uncheck();
    expect(await showSent.isChecked()).toBe(false);
    await page.mouse.move(600, 600);
    await expect.poll(() => page.locator('[data-error-code="SERVER_TEMPORARY"]').count()).toBe(1);
    // Transitions (the switch just turned off) are finished before the picture is taken.
    fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const file = path.join(SCREENSHOT_DIR, 'outbox.png');
    await page.screenshot({ path: file, animations: 'disabled' });
    expect(fs.statSync(file).size).toBeGreaterThan(20_000);
  });
});
