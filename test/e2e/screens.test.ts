/**
 * End to end: every screen of the browser console, populated by real peers
 * (a private Dovecot, smtp-server peers, an OAuth identity provider over
 * HTTPS), held to the checks of test/helpers/screen-checks.ts at 1280x800 and
 * 1024x768, in the light and the dark theme: nothing sticks out of its
 * container, no two controls overlap, axe-core finds nothing serious, and Tab
 * reaches every control, region by region in visual order, with a visible
 * focus. Screenshots: test-results/screenshots/<screen>-<size>-<theme>.png.
 *
 * To hold a new screen to the same checks, add a row to SCREENS.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type BrowserHandle } from '../helpers/browser';
import { startTestConsole, type ConsoleHandle } from '../helpers/console';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { seedLog } from '../helpers/log-seed';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';
import { startOutboxSmtp, type OutboxSmtp } from '../helpers/outbox-smtp';
import { ROOT } from '../helpers/paths';
import { SCREEN_SIZES, THEMES, checkScreen, type ScreenCheck } from '../helpers/screen-checks';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';

const DESK = 'desk@example.test';
const SALES = 'sales@example.test';
const PASSWORD = 'Screens-e2e-Pa55';
const M365_REPLY = '5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.';
const WEB_CONFIG_FIXTURE = path.join(ROOT, 'test', 'fixtures', 'webconfig', 'superoffice-no-toggle.config');

let dovecot: Dovecot;
let smtpPeer: SmtpPeer;
let upstream: OutboxSmtp;
let idp: TestIdp;
let consoleHandle: ConsoleHandle;
let browserHandle: BrowserHandle;
let page: Page;
let dataDir: string;
let baseUrl: string;
let webConfig: string;
let bundleFile: string;
const ids = { desk: 0, sales: 0, contoso: 0, deferred: 0, message: 0 };

async function compose(options: ConstructorParameters<typeof MailComposer>[0]): Promise<string> {
  return (await new MailComposer(options).compile().build()).toString('latin1');
}

async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Waits (bounded) until `check` holds; for hooks, where expect.poll is not available. */
async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Signs a mailbox in at the test IdP as a browser would, without a browser. */
async function signIn(mailboxId: number): Promise<void> {
  const engine = consoleHandle.engine;
  const started = await engine.oauth.beginSignIn({ mailboxId });
  const answer = await idp.authorize(started.url);
  const target = new URL(started.redirectUri.replace('localhost', '127.0.0.1'));
  await fetch(target, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ code: answer.code!, state: answer.state! }).toString() });
  const final = await engine.oauth.waitForSignIn(started.signInId);
  if (final.state !== 'succeeded') throw new Error(`sign-in ended ${final.state}`);
}

beforeAll(async () => {
  const longSubject = 'Re: [Ticket #48213] The scanner on floor 3 sends every page twice and the copies land in the wrong folder since the update';
  dovecot = await startDovecot({
    users: { [DESK]: PASSWORD, [SALES]: PASSWORD },
    messages: [
      await compose({ from: 'Ann Lee <ann.lee@customer.example>', to: DESK, subject: 'Printer on floor 3 shows error E-204', text: 'The printer shows E-204.', attachments: [{ filename: 'printer-log.pdf', content: Buffer.from('%PDF-1.4\nlog\n'), contentType: 'application/pdf' }] }),
      await compose({ from: 'A very long display name of a customer with a department <someone.with.a.long.address@subsidiary.customer.example>', to: DESK, subject: longSubject, text: 'Twice.' }),
      await compose({ from: 'Bob <bob@customer.example>', to: DESK, subject: 'Password reset for the CRM', text: 'Please reset my password.' }),
    ].map((raw) => ({ user: DESK, raw })),
  });
  smtpPeer = await startSmtpPeer({ tls: 'none', allowInsecureAuth: true, users: { [SALES]: PASSWORD }, reject: { AUTH: { code: 535, message: M365_REPLY } } });
  upstream = await startOutboxSmtp({ onRcptTo: (a) => (a.startsWith('busy@') ? { code: 451, message: '4.7.500 Server busy. Please try again later' } : undefined) });
  idp = await startTestIdp();

  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-e2e-screens-'));
  const siteDir = path.join(dataDir, 'iis');
  fs.mkdirSync(siteDir);
  webConfig = path.join(siteDir, 'web.config');
  fs.copyFileSync(WEB_CONFIG_FIXTURE, webConfig);
  const offline = await closedPort();
  consoleHandle = await startTestConsole(dataDir, {
    fetch: idp.fetch,
    detector: { dnsServers: [`127.0.0.1:${offline}`], userRealmUrl: `https://127.0.0.1:${offline}/getuserrealm.srf`, autoconfigUrls: [], stepTimeoutMs: 1000 },
  });
  const engine = consoleHandle.engine;
  const imap = { host: '127.0.0.1', port: dovecot.port, security: 'none' as const };
  ids.desk = engine.mailboxes.create({ name: 'Help desk', address: DESK, preset: 'generic', imap, smtp: { host: '127.0.0.1', port: upstream.port, security: 'none', auth: 'none' }, password: PASSWORD }).id;
  ids.sales = engine.mailboxes.create({ name: 'Sales', address: SALES, preset: 'generic', imap, smtp: { host: '127.0.0.1', port: smtpPeer.port, security: 'none' }, password: 'wrong-password' }).id;
  engine.mailboxes.create({ name: 'Archive desk', address: 'archive@example.test', preset: 'generic', enabled: false, imap, smtp: { host: '127.0.0.1', port: upstream.port, security: 'none', auth: 'none' }, password: PASSWORD });
  engine.oauth.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, redirectHost: '127.0.0.1' });
  ids.contoso = engine.mailboxes.create({ name: 'Contoso support', address: 'support@contoso.test', preset: 'microsoft365' }).id;
  await signIn(ids.contoso);

  // Inbox: one mailbox imports, one fails to sign in.
  await engine.inbox.pollNow(ids.desk);
  await engine.inbox.pollNow(ids.sales);
  ids.message = engine.inbox.list({ mailboxId: ids.desk, limit: 10 }).messages.at(-1)!.id;

  // Connection tests: a failing and a passing run, and an ad-hoc one.
  await engine.connectionTests.run({ mailboxId: ids.sales, direction: 'both' });
  await engine.connectionTests.run({ mailboxId: ids.desk, direction: 'incoming' });
  await engine.connectionTests.run({ protocol: 'imap', host: '127.0.0.1', port: dovecot.port, security: 'none', auth: 'password', user: DESK, password: 'not-the-password' });

  // Outbox: sent history, a deferred message, and messages waiting in a disabled mailbox.
  engine.outbox.saveSettings({ mailboxId: ids.desk, timeoutSeconds: 10 });
  engine.outbox.queueRaw(ids.desk, Array.from({ length: 30 }, (_, i) => ({ raw: Buffer.from(`To: customer${i}@example.net\r\nSubject: Re: [Ticket #${4000 + i}] Password reset\r\n\r\nDone.\r\n`) })), 'eml');
  engine.outbox.queueRaw('Archive desk', Array.from({ length: 3 }, (_, i) => ({ raw: Buffer.from(`To: lead${i}@example.net\r\nSubject: Quote ${i + 1}\r\n\r\nPrices.\r\n`) })), 'eml');
  ids.deferred = engine.outbox.queueRaw(ids.desk, [{ raw: Buffer.from(`To: busy@example.net\r\nSubject: Re: [Ticket #4711] Scanner on floor 3\r\n\r\nHello.\r\n`) }], 'eml').messages[0]!.id;
  expect(engine.outbox.startSending('console')).toBeNull();
  await waitUntil(() => engine.outbox.counts(ids.desk).sent === 30 && engine.outbox.get(ids.deferred).status === 'deferred', 'the outbox to send and defer');

  // Logs: thousands of entries besides the real ones.
  seedLog(engine, 3000, [ids.desk, ids.sales, ids.contoso, null]);

  bundleFile = (await engine.diagnostics.createBundle(path.join(dataDir, 'site-diagnostics.zip'), { runtime: 'console' })).path;

  browserHandle = await launchBrowser();
  const context = await browserHandle.browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(consoleHandle.server.url);
  baseUrl = `http://127.0.0.1:${consoleHandle.server.port}`;
}, 180_000);

afterAll(async () => {
  await browserHandle?.close();
  await consoleHandle?.engine.outbox.stopSending(1000);
  await consoleHandle?.close();
  await upstream?.stop();
  await smtpPeer?.stop();
  await dovecot?.stop();
  await idp?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

const PAGE_ORDER = ['skip', 'header', 'navigation', 'toolbar', 'list', 'detail'] as const;

/** Every screen of the console, in the state an admin sees it with real data. */
const SCREENS: ScreenCheck[] = [
  {
    name: 'health',
    route: '#/health',
    open: async (p) => {
      await p.locator('tr[data-health-mailbox="Sales"]').click();
      await p.getByRole('complementary', { name: 'Sales: mail flow' }).waitFor();
    },
    tabOrder: [...PAGE_ORDER, 'main'],
  },
  {
    name: 'mailboxes',
    route: '#/mailboxes',
    open: async (p) => {
      await p.locator('tr[data-mailbox="Help desk"]').click();
      await p.getByRole('complementary', { name: 'Mailbox Help desk' }).waitFor();
    },
    tabOrder: [...PAGE_ORDER],
  },
  {
    name: 'mailbox-form',
    route: '#/mailboxes',
    open: async (p) => {
      await p.getByRole('button', { name: 'New mailbox' }).first().click();
      const dialog = p.getByRole('dialog');
      await dialog.locator('input[name="name"]').fill('Support');
      await dialog.locator('input[name="address"]').fill('support@contoso.onmicrosoft.com');
      await dialog.getByTestId('detect-panel').waitFor({ timeout: 20_000 });
    },
    tabOrder: ['dialog'],
  },
  {
    name: 'connection-tests',
    route: '#/tests',
    open: async (p) => {
      await p.locator('select[name="mailbox"]').selectOption(String(ids.sales));
      const history = p.getByRole('table', { name: 'Recent results' });
      await history.locator('tbody tr').first().waitFor();
      await history.locator('tbody tr').filter({ hasText: 'SMTP_AUTH_DISABLED' }).first().click();
      await p.getByText(/Stored result from/).waitFor();
    },
    tabOrder: [...PAGE_ORDER],
  },
  {
    name: 'connection-tests-adhoc',
    route: '#/tests',
    open: async (p) => {
      await p.getByRole('tab', { name: 'Ad-hoc settings' }).click();
      await p.locator('input[name="host"]').fill('mail.a-rather-long-host-name.subsidiary.example.com');
      await p.locator('input[name="port"]').fill('587');
      await p.locator('input[name="adhocTo"]').fill('someone.with.a.long.address@subsidiary.customer.example');
      const history = p.getByRole('table', { name: 'Recent results' });
      await history.locator('tbody tr').first().click();
      await p.getByText(/Stored result from/).waitFor();
    },
    tabOrder: [...PAGE_ORDER],
  },
  {
    name: 'outbox',
    route: '#/outbox',
    open: async (p) => {
      await p.locator(`[role="row"][data-outbox-id="${ids.deferred}"]`).click();
      await p.locator('[data-error-code="SERVER_TEMPORARY"]').waitFor();
    },
    tabOrder: [...PAGE_ORDER],
  },
  {
    name: 'inbox',
    route: '#/inbox',
    open: async (p) => {
      await p.locator('[data-receive-state="Sales"][data-health="failing"]').waitFor();
      await p.locator('[data-message-id]', { hasText: 'Printer on floor 3' }).click();
      await p.getByRole('complementary').getByText('printer-log.pdf').waitFor();
    },
    // The mailboxes' receive states (a list with their actions) come above the message filters and list.
    tabOrder: ['skip', 'header', 'navigation', 'list', 'toolbar', 'list', 'detail'],
  },
  {
    name: 'logs-detail',
    route: '#/logs',
    open: async (p) => {
      await p.locator('[role="row"][data-log-id]').filter({ hasText: 'SMTP_AUTH_DISABLED' }).first().click();
      await p.getByRole('complementary', { name: 'Log entry' }).waitFor();
    },
    tabOrder: [...PAGE_ORDER],
  },
  {
    name: 'site-setup',
    route: '#/site',
    open: async (p) => {
      await p.getByRole('combobox', { name: 'Version range' }).selectOption('9.2-r10');
      await p.locator('tr[data-item="oauth-microsoft-365"]').waitFor();
      await p.getByRole('textbox', { name: 'Path of web.config' }).fill(webConfig);
      await p.getByRole('button', { name: 'Check', exact: true }).click();
      const diff = p.getByRole('region', { name: 'Diff of web.config' });
      await diff.waitFor();
      await diff.scrollIntoViewIfNeeded();
    },
    tabOrder: ['skip', 'header', 'navigation'],
  },
  {
    name: 'diagnostics-export',
    route: '#/mailboxes',
    open: async (p) => {
      await p.getByRole('button', { name: 'Diagnostics' }).click();
      await p.getByRole('menuitem', { name: /Export diagnostics/ }).click();
      await p.locator('[role="dialog"] a[download]').waitFor({ timeout: 30_000 });
    },
    tabOrder: ['dialog'],
  },
  {
    name: 'diagnostics-bundle',
    route: '#/mailboxes',
    open: async (p) => {
      await p.getByRole('button', { name: 'Diagnostics' }).click();
      const [chooser] = await Promise.all([p.waitForEvent('filechooser'), p.getByRole('menuitem', { name: /Open a diagnostics bundle/ }).click()]);
      await chooser.setFiles(bundleFile);
      await p.getByText(/Viewing diagnostics bundle site-diagnostics\.zip/).waitFor();
      await p.locator('tr[data-mailbox="Sales"]').click();
      await p.getByRole('complementary', { name: 'Mailbox Sales' }).waitFor();
    },
    close: async (p) => {
      await p.getByRole('button', { name: 'Close bundle' }).click();
      await p.getByText(/Viewing diagnostics bundle/).waitFor({ state: 'detached' });
    },
    tabOrder: [...PAGE_ORDER],
  },
  {
    name: 'oauth-panel',
    route: '#/mailboxes',
    open: async (p) => {
      await p.locator('tr[data-mailbox="Contoso support"]').click();
      const panel = p.getByRole('region', { name: 'Microsoft 365 sign-in' });
      await panel.getByTestId('oauth-account').filter({ hasText: 'support@contoso.test' }).waitFor();
      await panel.scrollIntoViewIfNeeded();
    },
    tabOrder: [...PAGE_ORDER],
  },
  {
    name: 'app-registration',
    route: '#/mailboxes',
    open: async (p) => {
      await p.locator('tr[data-mailbox="Contoso support"]').click();
      await p.getByRole('region', { name: 'Microsoft 365 sign-in' }).getByRole('button', { name: 'App registration' }).click();
      const dialog = p.getByRole('dialog');
      await dialog.getByRole('button', { name: 'Check values' }).click();
      await dialog.getByRole('status', { name: 'Checks' }).filter({ hasText: 'answered for the tenant' }).waitFor();
    },
    tabOrder: ['dialog'],
  },
];

describe('mailboxes list at 1024x768 with the detail open', () => {
  it('keeps every status badge word whole (no "Passwo…"): the layout checks allow an ellipsis, this list must not need one', async () => {
    await page.setViewportSize({ width: 1024, height: 768 });
    await page.goto('about:blank');
    await page.goto(`${baseUrl}/#/mailboxes`);
    await page.locator('tr[data-mailbox="Help desk"]').click();
    await page.getByRole('complementary', { name: 'Mailbox Help desk' }).waitFor();
    const list = page.getByRole('table', { name: 'Mailboxes' });
    // The narrow list (address under the name) is the one that squeezed the badges.
    await list.getByText('Name and address').waitFor();
    const labels = await list.locator('tbody [data-status] > span:last-child').evaluateAll((spans) =>
      spans.map((el) => ({ text: el.textContent, clipped: el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1 })),
    );
    expect(labels.map((l) => l.text)).toContain('Password set');
    expect(labels.filter((l) => l.clipped)).toEqual([]);
    for (const row of ['Help desk', 'Sales']) expect(await list.locator(`tr[data-mailbox="${row}"]`).getByText('Password set', { exact: true }).isVisible()).toBe(true);
  }, 120_000);
});

describe('every screen holds its layout, accessibility and keyboard checks', () => {
  for (const screen of SCREENS) {
    for (const size of SCREEN_SIZES) {
      for (const theme of THEMES) {
        it(`${screen.name} at ${size.width}x${size.height}, ${theme}`, async () => {
          try {
            const report = await checkScreen(page, baseUrl, screen, size, theme);
            expect(report.faults, `Tab visited:\n${report.tabWalk.join('\n')}`).toEqual([]);
          } finally {
            await screen.close?.(page);
          }
        }, 180_000);
      }
    }
  }
});
