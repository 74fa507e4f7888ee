/**
 * End to end, a POP3 mailbox in Debian chromium over the browser console,
 * against a private Dovecot POP3: the new-mailbox form with Incoming: POP3,
 * the list and detail that name the POP3 server, the connection test's POP3
 * variant (steps through STAT, the transcript without the password, the curl
 * command), and the Inbox after a poll over POP3. Screenshots at 1280x800,
 * looked at; axe-core on each screen.
 */
import AxeBuilder from '@axe-core/playwright';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type BrowserHandle } from '../helpers/browser';
import { startTestConsole, type ConsoleHandle } from '../helpers/console';
import { startDovecot, type Dovecot } from '../helpers/dovecot';

const USER = 'desk@example.test';
const SALES = 'sales@example.test';
const PASSWORD = 'Pop3-E2e-Secret!7';
const message = (n: number) => `From: customer${n}@example.org\r\nTo: ${USER}\r\nSubject: POP3 ticket ${n}\r\nMessage-ID: <pop3-e2e-${n}@example.org>\r\nDate: Thu, 03 Dec 2026 08:0${n}:00 +0000\r\n\r\nPlease help, ticket ${n}.\r\n`;

async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function expectAxeClean(page: Page, scope: string): Promise<void> {
  // A dialog fading in has half-transparent text: wait for the animations to end, or contrast is measured mid-fade.
  await expect.poll(() => page.evaluate(() => document.getAnimations().filter((a) => a.playState === 'running').length)).toBe(0);
  const axe = await new AxeBuilder({ page }).include(scope).exclude('[data-tabster-dummy]').analyze();
  expect(axe.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)).toEqual([]);
}

describe('a POP3 mailbox in the browser console', () => {
  let browserHandle: BrowserHandle;
  let consoleHandle: ConsoleHandle;
  let dovecot: Dovecot;
  let page: Page;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-e2e-pop3-'));
    dovecot = await startDovecot({
      users: { [USER]: PASSWORD, [SALES]: PASSWORD },
      pop3: true,
      messages: [...[1, 2, 3].map((n) => ({ user: USER, raw: message(n) })), ...[4, 5].map((n) => ({ user: SALES, raw: message(n) }))],
    });
    const offline = await closedPort();
    consoleHandle = await startTestConsole(dataDir, {
      detector: { dnsServers: [`127.0.0.1:${offline}`], userRealmUrl: `https://127.0.0.1:${offline}/getuserrealm.srf`, autoconfigUrls: [], stepTimeoutMs: 1000 },
    });
    browserHandle = await launchBrowser();
    // A page of its own context: axe-core needs one.
    page = await (await browserHandle.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(consoleHandle.server.url);
    await page.evaluate(() => (location.hash = '#/mailboxes'));
  }, 90_000);

  afterAll(async () => {
    await browserHandle?.close();
    await consoleHandle?.close();
    await dovecot?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates it through the form: Incoming POP3, its server, security, port and after-import', async () => {
    await page.getByRole('button', { name: 'New mailbox' }).first().click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    await dialog.getByRole('combobox', { name: 'Provider' }).selectOption('generic');
    await dialog.getByRole('textbox', { name: 'Name', exact: true }).fill('Desk');
    await dialog.getByRole('textbox', { name: 'Email address', exact: true }).fill(USER);
    await dialog.getByRole('radio', { name: 'POP3' }).check();
    // The IMAP fields give way to the POP3 ones.
    expect(await dialog.getByRole('textbox', { name: 'IMAP server', exact: true }).count()).toBe(0);
    await dialog.getByRole('textbox', { name: 'POP3 server', exact: true }).fill('127.0.0.1');
    expect(await dialog.getByRole('textbox', { name: 'POP3 port', exact: true }).inputValue()).toBe('995');
    await dialog.locator('select[name="pop3Security"]').selectOption('none');
    // A port left at the default follows the security mode.
    expect(await dialog.getByRole('textbox', { name: 'POP3 port', exact: true }).inputValue()).toBe('110');
    await dialog.getByRole('textbox', { name: 'POP3 port', exact: true }).fill(String(dovecot.pop3Port));
    expect(await dialog.getByRole('combobox', { name: 'After import' }).inputValue()).toBe('leave');
    await dialog.getByRole('textbox', { name: 'SMTP server', exact: true }).fill('127.0.0.1');
    await dialog.getByLabel('Password or app password').fill(PASSWORD);
    await dialog.getByRole('switch').uncheck();
    await expectAxeClean(page, '[role="dialog"]');
    await dialog.getByRole('textbox', { name: 'POP3 server', exact: true }).scrollIntoViewIfNeeded();
    await screenshot(page, 'pop3-mailbox-form');
    const serverBox = await dialog.getByRole('textbox', { name: 'POP3 server', exact: true }).boundingBox();
    expect(serverBox && serverBox.x >= 0 && serverBox.x + serverBox.width <= 1280 && serverBox.y + serverBox.height <= 800).toBe(true);

    // At 1024x768 the POP3 row keeps server, security and port side by side, none cut off.
    await page.setViewportSize({ width: 1024, height: 768 });
    await dialog.getByRole('textbox', { name: 'POP3 server', exact: true }).scrollIntoViewIfNeeded();
    await screenshot(page, 'pop3-mailbox-form-1024');
    const boxes = await Promise.all(['POP3 server', 'POP3 port'].map((name) => dialog.getByRole('textbox', { name, exact: true }).boundingBox()));
    const security = await dialog.locator('select[name="pop3Security"]').boundingBox();
    for (const box of [...boxes, security]) expect(box && box.x >= 0 && box.x + box.width <= 1024 && box.width > 60).toBe(true);
    expect(boxes[0]!.y).toBe(boxes[1]!.y);
    await page.setViewportSize({ width: 1280, height: 800 });

    await dialog.getByRole('button', { name: 'Create mailbox' }).click();
    await expect.poll(() => dialog.isVisible()).toBe(false);
    const stored = consoleHandle.engine.mailboxes.resolve('Desk');
    expect(stored).toMatchObject({ receiveVia: 'pop3', pop3: { host: '127.0.0.1', port: dovecot.pop3Port, security: 'none', username: USER, auth: 'password', afterImport: 'leave' }, passwordSet: true });
    expect(JSON.stringify(consoleHandle.engine.mailboxes.list())).not.toContain(PASSWORD);

    const row = page.locator('tr[data-mailbox="Desk"]');
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain(`POP3 · port ${dovecot.pop3Port}`);
    await row.click();
    const detail = page.getByRole('complementary', { name: 'Mailbox Desk' });
    expect(await detail.textContent()).toContain(`POP3127.0.0.1:${dovecot.pop3Port}`);
    expect(await detail.textContent()).toContain('Leave on the server');
  });

  it('tests its incoming side over POP3: each step through STAT, no password in the transcript, a pop3:// curl command', async () => {
    const desk = consoleHandle.engine.mailboxes.resolve('Desk');
    await page.evaluate((id) => (location.hash = `#/tests/${id}`), desk.id);
    await page.getByRole('radio', { name: 'Incoming (POP3)' }).check();
    await page.getByRole('button', { name: 'Run test' }).click();
    const card = page.locator('section[data-protocol="pop3"]');
    await expect.poll(() => card.textContent(), { timeout: 30_000 }).toContain('Passed with warnings');
    for (const step of ['greeting', 'capability', 'stat']) expect(await card.locator(`li[data-step="${step}"]`).getAttribute('data-status'), step).toBe('ok');
    // Signed in, but over plaintext: the step is amber, not green.
    expect(await card.locator('li[data-step="auth"]').getAttribute('data-status')).toBe('warning');
    expect(await card.textContent()).toContain('Count the messages (STAT)');
    expect(await card.textContent()).toContain('3 messages');
    // The password crossed the network unencrypted (security none): said, amber.
    expect(await card.textContent()).toContain('PLAINTEXT_SIGN_IN');
    const transcript = (await page.getByRole('log').allTextContents()).join('\n');
    expect(transcript).toContain('STAT');
    expect(transcript).not.toContain(PASSWORD);
    expect(await page.getByLabel('curl command').first().textContent()).toContain(`pop3://127.0.0.1:${dovecot.pop3Port}`);
    await expectAxeClean(page, 'main');
    await screenshot(page, 'pop3-connection-test');
    // Kept in the history like IMAP and SMTP tests.
    expect(consoleHandle.engine.connectionTests.history(desk.id, 50).map((h) => h.protocol)).toEqual(['pop3']);
  });

  it('tests POP3 settings ad hoc: a wrong password is AUTH_FAILED with Dovecot\'s POP3 reply, the folder field is not offered', async () => {
    await page.getByRole('tab', { name: 'Ad-hoc settings' }).click();
    await page.locator('select[name="protocol"]').selectOption('pop3');
    expect(await page.locator('input[name="folder"]').count()).toBe(0);
    expect(await page.locator('input[name="adhocTo"]').count()).toBe(0);
    await page.locator('select[name="security"]').selectOption('none');
    expect(await page.locator('input[name="port"]').getAttribute('placeholder')).toBe('110');
    await page.locator('input[name="host"]').fill('127.0.0.1');
    await page.locator('input[name="port"]').fill(String(dovecot.pop3Port));
    await page.locator('input[name="user"]').fill(USER);
    await page.locator('input[name="secret"]').fill('wrong-password');
    await page.getByRole('button', { name: 'Run test' }).click();
    const card = page.locator('section[data-protocol="pop3"]');
    await expect.poll(() => card.locator('[data-diagnosis]').getAttribute('data-diagnosis').catch(() => null), { timeout: 30_000 }).toBe('AUTH_FAILED');
    expect(await card.textContent()).toContain('-ERR [AUTH] Authentication failed.');
    await expectAxeClean(page, 'main');
    await screenshot(page, 'pop3-connection-test-adhoc');
  });

  it('shows the mail a POP3 poll imported on the Inbox screen, from the POP3 maildrop', async () => {
    const desk = consoleHandle.engine.mailboxes.resolve('Desk');
    await page.evaluate(() => (location.hash = '#/inbox'));
    await expect.poll(() => page.getByRole('heading', { name: 'Inbox' }).count()).toBe(1);
    const state = page.locator('[data-receive-state="Desk"]');
    await expect.poll(() => state.count()).toBe(1);
    expect(await state.textContent()).toContain('POP3 · Leave on the server');
    await page.getByRole('button', { name: 'Poll Desk now' }).click();
    const result = page.locator('[data-poll-result]');
    await expect.poll(() => result.count(), { timeout: 30_000 }).toBe(1);
    expect(await result.getAttribute('data-poll-result')).toBe('ok');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('[data-message-id]').count()).toBe(3);
    expect(dovecot.inboxCount(USER)).toBe(3);
    await page.locator('[data-message-id]').filter({ hasText: 'POP3 ticket 2' }).click();
    const detail = page.getByRole('complementary');
    await expect.poll(() => detail.textContent()).toContain('SourceDesk / POP3 maildrop');
    expect(await detail.textContent()).not.toContain('UIDVALIDITY');
    await expectAxeClean(page, 'main');
    await screenshot(page, 'pop3-inbox');
    expect(desk.receiveVia).toBe('pop3');
  });

  it('asks before the first import of a POP3 mailbox, counting its maildrop, and starts from now on', async () => {
    const sales = consoleHandle.engine.mailboxes.create({
      name: 'Sales',
      address: SALES,
      enabled: false,
      imap: { host: '127.0.0.1' },
      smtp: { host: '127.0.0.1' },
      receiveVia: 'pop3',
      pop3: { host: '127.0.0.1', port: dovecot.pop3Port, security: 'none' },
      password: PASSWORD,
    });
    await page.evaluate(() => (location.hash = '#/mailboxes'));
    await page.locator('tr[data-mailbox="Sales"]').click();
    await page.getByRole('complementary').getByRole('button', { name: 'Edit' }).click();
    await page.getByRole('dialog').getByRole('switch').check();
    await page.getByRole('dialog').getByRole('button', { name: 'Save changes' }).click();
    const ask = page.getByRole('alertdialog', { name: 'Enable Sales: the mail already in the POP3 maildrop' });
    await expect.poll(() => ask.isVisible()).toBe(true);
    await expect.poll(() => ask.textContent(), { timeout: 30_000 }).toContain('The POP3 maildrop holds 2 messages.');
    expect(await ask.textContent()).toContain('Imported messages are left on the server.');
    await expectAxeClean(page, '[role="alertdialog"]');
    await screenshot(page, 'pop3-first-enable');
    await ask.getByRole('button', { name: 'Enable' }).click();
    await expect.poll(() => ask.count()).toBe(0);
    await expect.poll(() => page.getByText(/only mail that arrives from now on is imported; the 2 messages already in the POP3 maildrop stay as they are/).count()).toBe(1);
    expect(consoleHandle.engine.mailboxes.get(sales.id).enabled).toBe(true);
    expect(await consoleHandle.engine.inbox.pollNow(sales.id)).toMatchObject({ imported: 0 });
    expect(dovecot.inboxCount(SALES)).toBe(2);
  }, 60_000);
});
