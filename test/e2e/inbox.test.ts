/**
 * End to end: Debian chromium on the browser console, backed by the real
 * engine and a private Dovecot. The Inbox screen shows each mailbox's
 * receive state; Poll now imports and shows the poll's results; a message's
 * detail shows its headers, text and attachments, and its HTML only as
 * source text (nothing in it runs); the raw message opens; Import with
 * debug shows the transcript without the password; a refused password shows
 * the mailbox as failing with the code and the hint. Saves
 * test-results/screenshots/inbox.png at 1280x800.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type BrowserHandle } from '../helpers/browser';
import { startTestConsole, type ConsoleHandle } from '../helpers/console';
import { startDovecot, type Dovecot } from '../helpers/dovecot';

const USER = 'desk@example.test';
const PASSWORD = 'E2e-dovecot-Pa55';

async function compose(options: ConstructorParameters<typeof MailComposer>[0]): Promise<string> {
  return (await new MailComposer(options).compile().build()).toString('latin1');
}

let dovecot: Dovecot;
let consoleHandle: ConsoleHandle;
let browserHandle: BrowserHandle;
let page: Page;
let dataDir: string;

beforeAll(async () => {
  const messages = [
    await compose({
      from: 'Ann Lee <ann.lee@customer.example>',
      to: USER,
      subject: 'Printer on floor 3 shows error E-204',
      date: new Date(Date.UTC(2025, 10, 25, 8, 12)),
      messageId: '<printer-204@customer.example>',
      text: 'Hello support,\n\nthe printer on floor 3 shows error E-204 since this morning. The log is attached.\n\nThanks,\nAnn',
      attachments: [{ filename: 'printer-log.pdf', content: Buffer.from('%PDF-1.4\n' + 'log line\n'.repeat(300)), contentType: 'application/pdf' }],
    }),
    await compose({
      from: 'Newsletter <news@vendor.example>',
      to: USER,
      subject: 'Your monthly report',
      date: new Date(Date.UTC(2025, 10, 25, 8, 30)),
      messageId: '<report-11@vendor.example>',
      html: '<h1>Monthly report</h1><p>All systems green.</p><script>window.__inboxScript = 1</script><img src="x" onerror="window.__inboxScript = 2">',
    }),
    await compose({ from: 'Bob <bob@customer.example>', to: USER, subject: 'Password reset for the CRM', date: new Date(Date.UTC(2025, 10, 25, 9, 1)), messageId: '<reset-7@customer.example>', text: 'Please reset my password.' }),
    await compose({ from: 'Carla <carla@customer.example>', to: USER, subject: 'VPN drops every hour', date: new Date(Date.UTC(2025, 10, 25, 9, 40)), messageId: '<vpn-3@customer.example>', text: 'The VPN disconnects every hour.' }),
  ];
  dovecot = await startDovecot({ users: { [USER]: PASSWORD, 'other@example.test': PASSWORD }, messages: messages.map((raw) => ({ user: USER, raw })) });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-e2e-inbox-'));
  consoleHandle = await startTestConsole(dataDir);
  const imap = { host: '127.0.0.1', port: dovecot.port, security: 'none' as const };
  consoleHandle.engine.mailboxes.create({ name: 'Help desk', address: USER, preset: 'generic', imap: { ...imap, afterImport: 'mark-seen' }, smtp: { host: '127.0.0.1', security: 'none' }, password: PASSWORD });
  consoleHandle.engine.mailboxes.create({ name: 'Sales', address: 'other@example.test', preset: 'generic', imap: { ...imap, afterImport: 'mark-seen' }, smtp: { host: '127.0.0.1', security: 'none' }, password: 'wrong-password' });
  consoleHandle.engine.mailboxes.create({ name: 'Archive desk', address: 'archive@example.test', preset: 'generic', enabled: false, imap: { ...imap }, smtp: { host: '127.0.0.1', security: 'none' }, password: PASSWORD });
  browserHandle = await launchBrowser();
  // A context of its own (not browser.newPage()), which axe-core's runner needs.
  page = await (await browserHandle.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(consoleHandle.server.url);
  await page.goto(`http://127.0.0.1:${consoleHandle.server.port}/#/inbox`);
}, 120_000);

afterAll(async () => {
  await browserHandle?.close();
  await consoleHandle?.close();
  await dovecot?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('Inbox screen in the browser console', () => {
  it('shows each mailbox\'s receive state before any poll', async () => {
    await expect.poll(() => page.getByRole('heading', { name: 'Inbox' }).count()).toBe(1);
    const desk = page.locator('[data-receive-state="Help desk"]');
    await expect.poll(() => desk.count()).toBe(1);
    expect(await desk.textContent()).toContain('Not polled yet');
    expect(await page.locator('[data-receive-state="Archive desk"]').getAttribute('data-health')).toBe('disabled');
  });

  it('polls a mailbox and shows the poll\'s results and the imported messages', async () => {
    await page.getByRole('button', { name: 'Poll Help desk now' }).click();
    const result = page.locator('[data-poll-result]');
    await expect.poll(() => result.count(), { timeout: 30_000 }).toBe(1);
    expect(await result.getAttribute('data-poll-result')).toBe('ok');
    expect(await result.textContent()).toContain('4 fetched, 4 imported, 0 duplicates skipped, 0 failed');
    await expect.poll(() => page.locator('[data-message-id]').count()).toBe(4);
    expect(await page.locator('[data-receive-state="Help desk"]').getAttribute('data-health')).toBe('healthy');
    expect(await page.locator('[data-receive-state="Help desk"]').textContent()).toContain('Healthy');
    expect(await page.locator('[data-status="imported"]').count()).toBe(4);
  });

  it('shows a failing mailbox with the code, and the reason on hover', async () => {
    await page.getByRole('button', { name: 'Poll Sales now' }).click();
    await expect.poll(() => page.locator('[data-receive-state="Sales"]').getAttribute('data-health'), { timeout: 30_000 }).toBe('failing');
    const row = page.locator('[data-receive-state="Sales"]');
    expect(await row.textContent()).toContain('AUTH_FAILED');
    expect(await row.textContent()).toContain('Failing');
    const bar = page.locator('[data-poll-result="failed"]');
    await expect.poll(() => bar.count()).toBe(1);
    expect(await bar.textContent()).toContain('Code: AUTH_FAILED');
    expect(await page.content()).not.toContain('wrong-password');
  });

  it('shows a message\'s headers, text and attachments, and its HTML only as text', async () => {
    await page.getByRole('button', { name: 'Dismiss', exact: true }).click();
    await page.locator('[data-message-id]', { hasText: 'Printer on floor 3' }).click();
    const panel = page.getByRole('complementary');
    await expect.poll(() => panel.getByText('printer-log.pdf').count()).toBe(1);
    expect(await panel.textContent()).toContain('Ann Lee <ann.lee@customer.example>');
    expect(await panel.getByLabel('Message text').textContent()).toContain('shows error E-204');
    expect(await panel.textContent()).toContain('application/pdf');
    await panel.getByRole('tab', { name: /Headers/ }).click();
    expect(await panel.getByRole('table', { name: 'Message headers' }).textContent()).toContain('printer-204@customer.example');
    await panel.getByRole('tab', { name: 'Text' }).click();

    await page.locator('[data-message-id]', { hasText: 'Your monthly report' }).click();
    await expect.poll(() => panel.getByLabel('Message text').textContent()).toContain('All systems green.');
    await panel.getByRole('tab', { name: 'HTML source' }).click();
    expect(await panel.getByLabel('HTML source').textContent()).toContain('<script>window.__inboxScript = 1</script>');
    expect(await page.evaluate(() => (window as unknown as { __inboxScript?: number }).__inboxScript)).toBeUndefined();
    expect(await page.locator('aside img, aside script').count()).toBe(0);

    await panel.getByRole('button', { name: 'Open raw message' }).click();
    const raw = page.getByRole('dialog');
    await expect.poll(() => raw.getByLabel('Raw message').count()).toBe(1);
    expect(await raw.getByLabel('Raw message').textContent()).toContain('Message-ID: <report-11@vendor.example>');
    await raw.getByRole('button', { name: 'Close' }).click();
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
  });

  it('runs Import with debug and shows the transcript without the password', async () => {
    await page.getByRole('button', { name: 'Import Help desk with debug' }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.count(), { timeout: 30_000 }).toBe(1);
    const log = dialog.getByRole('log');
    await expect.poll(() => log.count()).toBe(1);
    const text = (await log.textContent()) ?? '';
    expect(text).toContain('[sign-in data hidden]');
    expect(text).toContain('UID SEARCH');
    expect(text).not.toContain(PASSWORD);
    expect(await dialog.textContent()).toContain('0 fetched, 0 imported');
    await dialog.getByRole('button', { name: 'Close' }).last().click();
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
  });

  it('sets the handoff folder, refusing one that does not exist, and writes .eml files there', async () => {
    const handoffDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-e2e-handoff-'));
    try {
      await page.getByRole('button', { name: 'Handoff folder of Help desk' }).click();
      const dialog = page.getByRole('dialog');
      const folder = dialog.getByRole('textbox', { name: 'Folder' });
      await folder.fill(path.join(handoffDir, 'missing'));
      await dialog.getByRole('button', { name: 'Save' }).click();
      await expect.poll(() => dialog.getByText(/does not exist; create it first/).count()).toBe(1);
      await folder.fill(handoffDir);
      await dialog.getByRole('button', { name: 'Save' }).click();
      await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
      await expect.poll(() => page.getByText(`imported messages are also written to ${handoffDir}`).count()).toBe(1);
      await dovecot.append(USER, 'INBOX', await compose({ from: 'Eve <eve@customer.example>', to: USER, subject: 'Handoff check', messageId: '<handoff-1@customer.example>', text: 'For the next system.' }));
      await page.getByRole('button', { name: 'Poll Help desk now' }).click();
      await expect.poll(() => fs.readdirSync(handoffDir).filter((f) => f.endsWith('.eml')).length, { timeout: 30_000 }).toBe(1);
      expect(fs.readFileSync(path.join(handoffDir, fs.readdirSync(handoffDir)[0]!), 'latin1')).toContain('Message-ID: <handoff-1@customer.example>');
      // Off again, so the rest of the run does not depend on the folder.
      await page.getByRole('button', { name: 'Handoff folder of Help desk' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Turn off' }).click();
      await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
      await page.getByRole('button', { name: 'Dismiss the notice' }).click();
      await page.getByRole('button', { name: 'Dismiss', exact: true }).click();
    } finally {
      fs.rmSync(handoffDir, { recursive: true, force: true });
    }
  });

  it('updates live when mail is imported by the engine, without a reload', async () => {
    await dovecot.append(USER, 'INBOX', await compose({ from: 'Dana <dana@customer.example>', to: USER, subject: 'New laptop request', messageId: '<laptop-1@customer.example>', text: 'I need a new laptop.' }));
    const before = await page.locator('[data-message-id]').count();
    // As the background importer would: a poll in the engine, not from the page.
    await consoleHandle.engine.inbox.pollNow('Help desk', 'idle');
    await expect.poll(() => page.locator('[data-message-id]').count()).toBe(before + 1);
    expect(await page.locator('[data-message-id]').first().textContent()).toContain('New laptop request');
  });

  it('keeps a different message that reuses a Message-ID, and says so in both messages\' detail', async () => {
    // Another message with the Message-ID of "Password reset for the CRM": a sender that reuses ids.
    await dovecot.append(USER, 'INBOX', await compose({ from: 'Bob <bob@customer.example>', to: USER, subject: 'Toner order for floor 2', date: new Date(Date.UTC(2025, 10, 25, 10, 5)), messageId: '<reset-7@customer.example>', text: 'Please order toner for floor 2.' }));
    await page.getByRole('button', { name: 'Poll Help desk now' }).click();
    const result = page.locator('[data-poll-result]');
    await expect.poll(() => result.textContent(), { timeout: 30_000 }).toContain('1 fetched, 1 imported, 0 duplicates skipped');
    await page.getByRole('button', { name: 'Dismiss', exact: true }).click();
    const first = page.locator('[data-message-id]', { hasText: 'Password reset for the CRM' });
    const firstId = Number(await first.getAttribute('data-message-id'));
    const second = page.locator('[data-message-id]', { hasText: 'Toner order for floor 2' });
    await expect.poll(() => second.count()).toBe(1);
    const secondId = Number(await second.getAttribute('data-message-id'));
    expect(await second.getAttribute('data-status')).toBe('imported');

    await second.click();
    const panel = page.getByRole('complementary');
    const note = panel.locator('[data-same-message-id]');
    await expect.poll(() => note.count()).toBe(1);
    expect(await note.textContent()).toContain(`Shares its Message-ID with message #${firstId}: a different message (other content), so both are kept.`);
    expect(await panel.getByLabel('Message text').textContent()).toContain('Please order toner');
    // (Fluent's focus-guard elements around the tab list are aria-hidden by design: tabster's dummies, not content.)
    const axe = await new AxeBuilder({ page }).include('aside').exclude('[data-tabster-dummy]').analyze();
    expect(axe.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
    const file = await screenshot(page, 'inbox-message-id-reused');
    expect(fs.existsSync(file)).toBe(true);
    const box = await note.boundingBox();
    expect(box && box.x + box.width <= 1280 && box.y + box.height <= 800).toBe(true);

    // The link opens the other message, which points back.
    await note.getByRole('link', { name: `message #${firstId}` }).click();
    await expect.poll(() => panel.getByLabel('Message text').textContent()).toContain('Please reset my password.');
    expect(await panel.locator('[data-same-message-id]').getAttribute('data-same-message-id')).toBe(String(secondId));
    await panel.getByRole('button', { name: 'Open raw message' }).click();
    const raw = page.getByRole('dialog');
    await expect.poll(() => raw.getByLabel('Raw message').count()).toBe(1);
    expect(await raw.getByLabel('Raw message').textContent()).toContain('Please reset my password.');
    expect(await raw.getByLabel('Raw message').textContent()).not.toContain('toner');
    await raw.getByRole('button', { name: 'Close' }).click();
    await expect.poll(() => page.getByRole('dialog').count()).toBe(0);
  });

  it('takes a screenshot of the screen with a message open', async () => {
    await page.locator('[data-message-id]', { hasText: 'Printer on floor 3' }).click();
    await expect.poll(() => page.getByRole('complementary').getByText('printer-log.pdf').count()).toBe(1);
    const file = await screenshot(page, 'inbox');
    expect(fs.statSync(file).size).toBeGreaterThan(20_000);
  });
});
