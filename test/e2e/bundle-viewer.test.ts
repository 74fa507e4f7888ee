/**
 * End to end: a diagnostics bundle's read-only view shows every value the
 * bundle holds exactly as the live screens showed it when it was made, and
 * offers no action that would be refused (issue 13 item 2). A populated store
 * (a private Dovecot with 23 messages for one mailbox and a wrong password for
 * another, a Microsoft 365 mailbox signed in at oauth2-mock-server, an outbox
 * with sent, deferred, failed and waiting messages, and the log of it all) is
 * read screen by screen in Chromium, exported, opened in the viewer, and read
 * again: the texts must match, apart from what legitimately differs (the
 * read-only banner, and ages that moved on meanwhile).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type BrowserHandle } from '../helpers/browser';
import { startTestConsole, type ConsoleHandle } from '../helpers/console';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';
import { startOutboxSmtp, type OutboxSmtp } from '../helpers/outbox-smtp';

const DESK = 'desk@example.test';
const SALES = 'sales@example.test';
const PASSWORD = 'Viewer-e2e-Pa55';

let dovecot: Dovecot;
let upstream: OutboxSmtp;
let idp: TestIdp;
let consoleHandle: ConsoleHandle;
let browserHandle: BrowserHandle;
let page: Page;
let dataDir: string;
let bundleFile: string;

async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The screens compared, each read as the admin sees it: the visible text of its regions. */
const SCREENS: { name: string; route: string; open(p: Page): Promise<void>; read(p: Page): Promise<string> }[] = [
  {
    name: 'mailboxes',
    route: '#/mailboxes',
    open: async (p) => void (await p.locator('tr[data-mailbox="Contoso support"]').waitFor()),
    read: (p) => p.getByRole('table', { name: 'Mailboxes' }).innerText(),
  },
  {
    name: 'mailbox-detail',
    route: '#/mailboxes',
    open: async (p) => {
      await p.locator('tr[data-mailbox="Help desk"]').click();
      await p.getByRole('complementary', { name: 'Mailbox Help desk' }).waitFor();
    },
    read: (p) => p.getByRole('complementary', { name: 'Mailbox Help desk' }).innerText(),
  },
  {
    name: 'oauth-detail',
    route: '#/mailboxes',
    open: async (p) => {
      await p.locator('tr[data-mailbox="Contoso support"]').click();
      await p.getByRole('region', { name: 'Microsoft 365 sign-in' }).getByTestId('oauth-account').waitFor();
    },
    read: (p) => p.getByRole('complementary', { name: 'Mailbox Contoso support' }).innerText(),
  },
  {
    name: 'inbox',
    route: '#/inbox',
    open: async (p) => void (await p.locator('[data-receive-state="Sales"][data-health="failing"]').waitFor()),
    read: (p) => p.getByRole('table', { name: 'Receive state of each mailbox' }).innerText(),
  },
  {
    name: 'outbox',
    route: '#/outbox',
    open: async (p) => {
      await p.getByRole('switch', { name: 'Show sent emails' }).check();
      await p.locator('[role="row"][data-outbox-id]').first().waitFor();
      await waitUntil(async () => !(await p.getByLabel('Messages by status').innerText()).includes('…'), 'the outbox counters');
    },
    read: async (p) => `${await p.getByLabel('Messages by status').innerText()}\n${await p.getByRole('grid', { name: 'Outbox messages' }).innerText()}`,
  },
  {
    name: 'logs',
    route: '#/logs',
    open: async (p) => void (await p.locator('[role="row"][data-log-id]').first().waitFor()),
    // The list is virtualized: how many rows are rendered depends on layout timing, so the newest 25 are compared.
    read: async (p) => (await p.locator('[role="row"][data-log-id]').allInnerTexts()).slice(0, 25).join('\n'),
  },
];

/** What legitimately differs between two readings a little apart: ages and waits that moved on. */
function normalise(text: string): string {
  return text
    .replace(/\b(just now|\d+ (s|sec|min|h|hours?|days?) ago)\b/g, '<age>')
    .replace(/\bin \d+ (s|sec|min|h|hours?|days?)\b/g, 'in <wait>')
    .replace(/[ \t]+/g, ' ')
    .trim();
}

async function readScreen(screen: (typeof SCREENS)[number]): Promise<string> {
  // A fresh load of the screen, as the admin opens it.
  await page.goto('about:blank');
  await page.goto(`http://127.0.0.1:${consoleHandle.server.port}/${screen.route}`);
  await screen.open(page);
  return normalise(await screen.read(page));
}

beforeAll(async () => {
  const messages = Array.from({ length: 23 }, (_, i) => ({ user: DESK, raw: `From: Customer ${i} <c${i}@customer.example>\r\nTo: ${DESK}\r\nSubject: Ticket ${i + 1}\r\nMessage-ID: <viewer-${i}@customer.example>\r\n\r\nHello ${i}.\r\n` }));
  dovecot = await startDovecot({ users: { [DESK]: PASSWORD, [SALES]: PASSWORD }, messages });
  upstream = await startOutboxSmtp({
    onRcptTo: (a) => (a.startsWith('busy@') ? { code: 451, message: '4.7.500 Server busy. Please try again later' } : a.startsWith('nobody@') ? { code: 550, message: '5.1.1 User unknown' } : undefined),
  });
  idp = await startTestIdp();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-e2e-viewer-'));
  consoleHandle = await startTestConsole(dataDir, { fetch: idp.fetch });
  const engine = consoleHandle.engine;
  const imap = { host: '127.0.0.1', port: dovecot.port, security: 'none' as const };
  const smtp = { host: '127.0.0.1', port: upstream.port, security: 'none' as const, auth: 'none' as const };
  const desk = engine.mailboxes.create({ name: 'Help desk', address: DESK, preset: 'generic', imap, smtp, password: PASSWORD });
  const sales = engine.mailboxes.create({ name: 'Sales', address: SALES, preset: 'generic', imap, smtp, password: 'wrong-password' });
  engine.mailboxes.create({ name: 'Archive desk', address: 'archive@example.test', preset: 'generic', enabled: false, imap, smtp, password: PASSWORD });
  engine.oauth.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, redirectHost: '127.0.0.1' });
  const contoso = engine.mailboxes.create({ name: 'Contoso support', address: 'support@contoso.test', preset: 'microsoft365' });
  const started = await engine.oauth.beginSignIn({ mailboxId: contoso.id });
  const answer = await idp.authorize(started.url);
  await fetch(started.redirectUri.replace('localhost', '127.0.0.1'), { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ code: answer.code!, state: answer.state! }).toString() });
  expect((await engine.oauth.waitForSignIn(started.signInId)).state).toBe('succeeded');

  // Inbox: 23 imported for one mailbox, the other failing.
  await engine.inbox.pollNow(desk.id);
  await engine.inbox.pollNow(sales.id);
  expect(engine.inbox.states().find((s) => s.mailboxId === desk.id)!.counts.imported).toBe(23);
  // An error that a later poll resolved (a wrong password, then fixed).
  const billing = engine.mailboxes.create({ name: 'Billing', address: DESK, preset: 'generic', imap, smtp, password: 'not-yet-right' });
  await engine.inbox.pollNow(billing.id);
  engine.mailboxes.update({ id: billing.id, password: PASSWORD });
  await engine.inbox.pollNow(billing.id);
  // A connection test, for the log.
  await engine.connectionTests.run({ mailboxId: sales.id, direction: 'incoming' });

  // Outbox: sent, deferred, failed, and waiting in a disabled mailbox.
  const raw = (to: string, subject: string) => ({ raw: Buffer.from(`To: ${to}\r\nSubject: ${subject}\r\n\r\nHello.\r\n`) });
  engine.outbox.queueRaw(desk.id, [raw('alice@example.net', 'Re: [Ticket #1] Printer'), raw('bob@example.net', 'Re: [Ticket #2] Scanner')], 'eml');
  engine.outbox.queueRaw(desk.id, [raw('busy@example.net', 'Re: [Ticket #3] Busy'), raw('nobody@example.net', 'Re: [Ticket #4] Nobody')], 'eml');
  engine.outbox.queueRaw('Archive desk', [raw('lead@example.net', 'Quote 1')], 'eml');
  expect(engine.outbox.startSending('console')).toBeNull();
  await waitUntil(() => {
    const c = engine.outbox.counts(desk.id);
    return c.sent === 2 && c.deferred === 1 && c.failed === 1;
  }, 'the outbox to send, defer and fail');
  await engine.outbox.stopSending(5_000);

  browserHandle = await launchBrowser();
  page = await (await browserHandle.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  page.setDefaultTimeout(20_000);
  await page.goto(consoleHandle.server.url);
}, 180_000);

afterAll(async () => {
  await browserHandle?.close();
  await consoleHandle?.engine.outbox.stopSending(1000);
  await consoleHandle?.close();
  await upstream?.stop();
  await dovecot?.stop();
  await idp?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('a diagnostics bundle in the read-only view', () => {
  const live = new Map<string, string>();

  it('reads every screen live, then exports the bundle', async () => {
    for (const screen of SCREENS) live.set(screen.name, await readScreen(screen));
    bundleFile = (await consoleHandle.engine.diagnostics.createBundle(path.join(dataDir, 'site-diagnostics.zip'), { runtime: 'console' })).path;
    expect(live.get('mailboxes')).toContain('Password set');
    expect(live.get('inbox')).toContain('23 stored');
    // A last error a later poll resolved says so, with its age (issue 13 item 5).
    expect(live.get('inbox')).toMatch(/AUTH_FAILED · <age>\s*resolved by the poll at \d\d:\d\d:\d\d/);
    const bytes = fs.readFileSync(bundleFile);
    expect(bytes.includes(Buffer.from(PASSWORD))).toBe(false);
  }, 120_000);

  it('shows each screen exactly as the live screen showed it', async () => {
    await page.getByRole('button', { name: 'Diagnostics' }).click();
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByRole('menuitem', { name: /Open a diagnostics bundle/ }).click()]);
    await chooser.setFiles(bundleFile);
    await page.getByText(/Viewing diagnostics bundle site-diagnostics\.zip/).waitFor();
    for (const screen of SCREENS) {
      const shown = await readScreen(screen);
      await screenshot(page, `bundle-viewer-${screen.name}`);
      expect(shown, screen.name).toBe(live.get(screen.name));
    }
    // The address of a Microsoft 365 mailbox is no secret; its password's presence is a fact.
    const mailboxes = await readScreen(SCREENS[0]!);
    expect(mailboxes).toContain('support@contoso.test');
    expect(mailboxes).not.toContain('REDACTED');
  }, 180_000);

  it('offers no action that would be refused: each is disabled and says why', async () => {
    const reason = /viewing a diagnostics bundle \(read-only\)/;
    await readScreen(SCREENS[1]!);
    for (const name of ['New mailbox', 'Import settings', 'Edit', 'Delete', 'Test connection']) {
      const button = page.getByRole('button', { name, exact: true }).first();
      await expect.poll(() => button.getAttribute('aria-disabled'), { message: name }).toBe('true');
    }
    await page.getByRole('button', { name: 'Delete', exact: true }).first().hover();
    await expect.poll(() => page.getByRole('tooltip').filter({ hasText: reason }).count()).toBeGreaterThan(0);
    // Enter on a row opens no editor.
    await page.locator('tr[data-mailbox="Help desk"]').press('Enter');
    expect(await page.getByRole('dialog').count()).toBe(0);

    await readScreen(SCREENS[3]!);
    for (const name of [/^Poll Help desk now/, /^Import Help desk with debug/, /^Handoff folder of Help desk/]) {
      await expect.poll(() => page.getByRole('button', { name }).getAttribute('aria-disabled'), { message: String(name) }).toBe('true');
    }

    await readScreen(SCREENS[4]!);
    for (const name of ['Compose test message', 'Retry settings', 'Local relay']) {
      const button = page.getByRole('button', { name, exact: true });
      await expect.poll(() => button.getAttribute('aria-disabled'), { message: name }).toBe('true');
    }
    await page.locator('[role="row"][data-outbox-id]').filter({ hasText: 'Busy' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Send now' }).getAttribute('aria-disabled')).toBe('true');
    await screenshot(page, 'bundle-viewer-outbox-detail');
    // Nothing was refused after the fact: no READ_ONLY_VIEW error on any screen.
    expect(await page.getByText('READ_ONLY_VIEW').count()).toBe(0);
  }, 120_000);
});
