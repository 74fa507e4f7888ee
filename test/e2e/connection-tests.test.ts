/**
 * End to end: "Test connection" on a saved mailbox in Debian chromium over
 * the browser console, against a real smtp-server that answers as Microsoft
 * 365 does when SMTP AUTH is off, and a private Dovecot that signs in: the
 * steps appear live, the diagnosis names the fix, the transcript holds no
 * secret; then an ad-hoc test. Screenshots.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser, screenshot, type BrowserHandle } from '../helpers/browser';
import { startTestConsole, type ConsoleHandle } from '../helpers/console';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { startDovecot, type Dovecot } from '../helpers/dovecot';

const PASSWORD = 'Corr3ct-Horse-Battery';
const M365_REPLY = '5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.';

describe('connection tests screen in the browser console', () => {
  let browserHandle: BrowserHandle;
  let consoleHandle: ConsoleHandle;
  let smtp: SmtpPeer;
  let dovecot: Dovecot;
  let page: Page;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-e2e-tests-'));
    smtp = await startSmtpPeer({ tls: 'none', allowInsecureAuth: true, users: { 'support@example.test': PASSWORD }, reject: { AUTH: { code: 535, message: M365_REPLY } } });
    dovecot = await startDovecot({ users: { 'support@example.test': PASSWORD } });
    consoleHandle = await startTestConsole(dataDir);
    consoleHandle.engine.mailboxes.create({
      name: 'Support',
      address: 'support@example.test',
      imap: { host: '127.0.0.1', port: dovecot.port, security: 'none' },
      smtp: { host: '127.0.0.1', port: smtp.port, security: 'none' },
      password: PASSWORD,
    });
    consoleHandle.engine.mailboxes.create({
      name: 'Billing',
      address: 'billing@example.test',
      imap: { host: '127.0.0.1', port: dovecot.port, security: 'none' },
      smtp: { host: '127.0.0.1', port: smtp.port, security: 'starttls' },
      password: PASSWORD,
    });
    browserHandle = await launchBrowser();
    page = await browserHandle.browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(15_000);
    await page.goto(consoleHandle.server.url);
  }, 90_000);

  afterAll(async () => {
    await browserHandle?.close();
    await consoleHandle?.close();
    await smtp?.stop();
    await dovecot?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs both tests from the mailbox and shows each step, the diagnosis and the fix', async () => {
    await page.locator('tr[data-mailbox="Support"]').click();
    await page.getByRole('complementary').getByRole('button', { name: 'Test connection' }).click();
    const smtpCard = page.locator('section[data-protocol="smtp"]');
    const imapCard = page.locator('section[data-protocol="imap"]');
    await expect.poll(() => smtpCard.locator('[data-diagnosis]').count(), { timeout: 30_000 }).toBe(1);
    expect(await smtpCard.locator('[data-diagnosis]').getAttribute('data-diagnosis')).toBe('SMTP_AUTH_DISABLED');
    expect(await smtpCard.textContent()).toContain('What to change');
    expect(await smtpCard.textContent()).toContain('SmtpClientAuthentication is disabled');
    expect(await smtpCard.locator('li[data-step="auth"]').getAttribute('data-status')).toBe('failed');
    expect(await smtpCard.locator('li[data-step="greeting"]').getAttribute('data-status')).toBe('ok');

    await expect.poll(() => imapCard.textContent(), { timeout: 30_000 }).toContain('Passed');
    expect(await imapCard.locator('li[data-step="select"]').getAttribute('data-status')).toBe('ok');

    const transcripts = await page.getByRole('log').allTextContents();
    expect(transcripts.join('\n')).toContain('EHLO');
    expect(transcripts.join('\n')).not.toContain(PASSWORD);
    expect(transcripts.join('\n')).not.toContain(Buffer.from(`\0support@example.test\0${PASSWORD}`).toString('base64'));
    expect(await page.getByLabel('curl command').first().textContent()).toContain('curl -v');
    await screenshot(page, 'connection-test');
  });

  it('keeps the results and shows a stored one again', async () => {
    const history = page.getByRole('table', { name: 'Recent results' });
    await expect.poll(() => history.locator('tbody tr').count()).toBe(2);
    await history.locator('tbody tr').filter({ hasText: 'SMTP_AUTH_DISABLED' }).click();
    await expect.poll(() => page.getByText(/Stored result from/).count()).toBe(1);
  });

  it('lists results newest first, with date, port and security, after a run and after choosing the mailbox again', async () => {
    const engine = consoleHandle.engine;
    const support = engine.mailboxes.resolve('Support');
    const history = page.getByRole('table', { name: 'Recent results' });
    const shownIds = async () => (await history.locator('tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-test-id')))));
    // A result kept after later ones (as a CLI --keep or a bundle import does) still sorts by when it ran.
    const [latest] = engine.connectionTests.history(support.id, 1);
    const older = engine.connectionTests.keepResult({ ...engine.connectionTests.get(latest!.id), startedAt: latest!.startedAt - 86_400_000 });
    await page.getByRole('button', { name: 'Run test' }).click();
    await expect.poll(() => history.locator('tbody tr').count(), { timeout: 30_000 }).toBe(5);
    const newestFirst = () => engine.connectionTests.history(support.id, 50).sort((a, b) => b.startedAt - a.startedAt || b.id - a.id).map((h) => h.id);
    expect(await shownIds()).toEqual(newestFirst());
    expect((await shownIds()).at(-1)).toBe(older.id);
    await page.locator('select[name="mailbox"]').selectOption({ label: 'Billing (billing@example.test)' });
    await expect.poll(() => history.locator('tbody tr').count()).toBe(0);
    await page.locator('select[name="mailbox"]').selectOption({ label: 'Support (support@example.test)' });
    await expect.poll(() => history.locator('tbody tr').count()).toBe(5);
    expect(await shownIds()).toEqual(newestFirst());
    // Each line has the date, the port and the security as the form names it.
    const first = (await history.locator('tbody tr').first().textContent()) ?? '';
    expect(first).toContain(String(new Date().getFullYear()));
    expect(first).toMatch(new RegExp(`port (${smtp.port}|${dovecot.port}) · None \\(plain text\\)`));
  });

  it('runs an ad-hoc test with the password typed for this run only', async () => {
    await page.getByRole('tab', { name: 'Ad-hoc settings' }).click();
    await page.locator('select[name="protocol"]').selectOption('imap');
    await page.locator('select[name="security"]').selectOption('none');
    await page.locator('input[name="host"]').fill('127.0.0.1');
    await page.locator('input[name="port"]').fill(String(dovecot.port));
    await page.locator('input[name="user"]').fill('support@example.test');
    await page.locator('input[name="secret"]').fill('wrong-password');
    await page.getByRole('button', { name: 'Run test' }).click();
    const card = page.locator('section[data-protocol="imap"]');
    await expect.poll(() => card.locator('[data-diagnosis]').getAttribute('data-diagnosis').catch(() => null), { timeout: 30_000 }).toBe('AUTH_FAILED');
    await screenshot(page, 'connection-test-adhoc');
  });
});
