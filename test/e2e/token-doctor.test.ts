/**
 * End to end in Debian's chromium against the browser console, with real
 * peers: the token doctor of a signed-in Microsoft 365 mailbox (the test IdP
 * issues a Graph-audience token; Dovecot and an smtp-server that accepts only
 * Exchange tokens are the servers; a relay account keeps a foreign From), and
 * the "Basic auth retirement" card of the Mailboxes screen with its one-click
 * ways out. Each state is held to the screen checks (layout, axe-core, Tab
 * order) at 1280x800, and its screenshot is saved under test-results/screenshots.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type BrowserHandle } from '../helpers/browser';
import { startTestConsole, type ConsoleHandle } from '../helpers/console';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { checkScreen, type ScreenCheck } from '../helpers/screen-checks';

const SUPPORT = 'support@contoso.test';
const EXCHANGE_DELEGATED = { aud: 'https://outlook.office.com', scp: 'IMAP.AccessAsUser.All SMTP.Send', ver: '1.0' };
let idp: TestIdp;
let dovecot: Dovecot;
let smtp: SmtpPeer;
let handle: ConsoleHandle;
let browser: BrowserHandle;
let page: Page;
let baseUrl: string;
let dataDir: string;
const ids: Record<string, number> = {};

async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  idp = await startTestIdp();
  idp.accessTokenClaims = EXCHANGE_DELEGATED;
  [dovecot, smtp] = await Promise.all([
    startDovecot({ users: { [SUPPORT]: crypto.randomBytes(8).toString('hex') }, oauth2IntrospectionUrl: idp.introspectionUrl }),
    startSmtpPeer({
      tls: 'none',
      allowInsecureAuth: true,
      checkToken: (user, token) => {
        const owner = idp.verifyAccessToken(token);
        const claims = owner ? (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>) : {};
        return owner === user && claims.aud === 'https://outlook.office.com' ? true : { status: '401', schemes: 'bearer', scope: 'https://outlook.office.com/SMTP.Send' };
      },
    }),
  ]);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-e2e-doctor-'));
  const offline = await closedPort();
  handle = await startTestConsole(dataDir, {
    fetch: idp.fetch,
    detector: { dnsServers: [`127.0.0.1:${offline}`], userRealmUrl: `http://127.0.0.1:${offline}/getuserrealm.srf`, autoconfigUrls: [], stepTimeoutMs: 1000 },
  });
  const engine = handle.engine;
  engine.oauth.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, redirectHost: '127.0.0.1' });
  ids.support = engine.mailboxes.create({
    name: 'Support',
    address: SUPPORT,
    preset: 'microsoft365',
    imap: { host: '127.0.0.1', port: dovecot.port, security: 'none' },
    smtp: { host: '127.0.0.1', port: smtp.port, security: 'none' },
  }).id;
  const started = await engine.oauth.beginSignIn({ mailboxId: ids.support });
  const answer = await idp.authorize(started.url);
  await fetch(started.redirectUri, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ code: answer.code!, state: answer.state! }).toString() });
  expect((await engine.oauth.waitForSignIn(started.signInId)).state).toBe('succeeded');
  // A scanner mailbox that still signs in to Exchange Online with a password, and a copier relaying through it.
  ids.scanner = engine.mailboxes.create({
    name: 'Scanner',
    address: 'scanner@contoso.test',
    preset: 'microsoft365',
    // Disabled: a save of an enabled mailbox that was never polled asks the first-import question (and would look at Exchange Online's folder).
    enabled: false,
    imap: { auth: 'password' },
    smtp: { auth: 'password' },
    password: 'scanner-password-1',
  }).id;
  // The organisation's app-only registration is set up: the card offers "Use app-only" beside "Switch to OAuth".
  engine.oauth.appOnly.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, credential: 'secret', clientSecret: crypto.randomBytes(16).toString('hex') });
  await engine.relay.saveSettings({
    addAccounts: [
      { username: 'copier', mailboxId: ids.scanner, password: 'copier-password-1', fromMode: 'mailbox' },
      { username: 'erp', mailboxId: ids.support, password: 'erp-password-1', fromMode: 'keep' },
    ],
  });

  browser = await launchBrowser();
  page = await (await browser.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  page.setDefaultTimeout(20_000);
  await page.goto(handle.server.url);
  baseUrl = `http://127.0.0.1:${handle.server.port}`;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await handle?.close();
  await Promise.all([dovecot?.stop(), smtp?.stop(), idp?.stop()]);
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('token doctor panel', () => {
  it('shows the claims, the sign-ins tried and each finding with its code, summary and hint; the token never', async () => {
    idp.accessTokenClaims = { ...EXCHANGE_DELEGATED, aud: 'https://graph.microsoft.com' };
    const doctorScreen: ScreenCheck = {
      name: 'token-doctor',
      route: '#/mailboxes',
      open: async (p) => {
        await p.locator('tr[data-mailbox="Support"]').click();
        await p.getByRole('button', { name: 'Token doctor' }).click();
        await p.getByTestId('doctor-verdict').waitFor({ timeout: 30_000 });
      },
      tabOrder: ['dialog'],
    };
    const narrow = await checkScreen(page, baseUrl, doctorScreen, { width: 1024, height: 768 }, 'light');
    expect(narrow.faults.join('\n')).toBe('');
    expect((await checkScreen(page, baseUrl, doctorScreen, { width: 1280, height: 800 }, 'dark')).faults.join('\n')).toBe('');
    const report = await checkScreen(page, baseUrl, doctorScreen, { width: 1280, height: 800 }, 'light');
    expect(report.faults.join('\n')).toBe('');
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.getByTestId('doctor-verdict').textContent()).toContain('2 findings');
    const graph = dialog.locator('[data-finding="TOKEN_AUDIENCE_GRAPH"]');
    expect(await graph.textContent()).toContain('Microsoft Graph (https://graph.microsoft.com)');
    expect(await graph.textContent()).toContain('What to change: This happens when the scopes are asked for without their resource');
    const relay = dialog.locator('[data-finding="RELAY_FROM_NOT_ALLOWED"]');
    expect(await relay.textContent()).toContain('mailroom relay account update erp --from mailbox');
    const claims = dialog.getByTestId('doctor-claims');
    expect(await claims.textContent()).toContain('https://graph.microsoft.com');
    expect(await claims.textContent()).toContain(SUPPORT);
    const signIns = dialog.getByRole('table', { name: 'Sign-ins tried' });
    expect(await signIns.locator('tbody tr').count()).toBe(2);
    expect(await signIns.textContent()).toContain('Failed at auth');
    const html = await page.content();
    for (const token of idp.issuedAccessTokens()) expect(html).not.toContain(token);
    await dialog.getByRole('button', { name: 'Close' }).click();
    idp.accessTokenClaims = EXCHANGE_DELEGATED;
  }, 90_000);
});

describe('basic auth retirement card', () => {
  it('lists what still signs in to Microsoft 365 with a password, with one-click ways out', async () => {
    const readinessScreen: ScreenCheck = {
      name: 'readiness',
      route: '#/mailboxes',
      open: async (p) => {
        await p.getByTestId('readiness-card').waitFor({ timeout: 30_000 });
      },
      tabOrder: ['skip', 'header', 'navigation', 'toolbar', 'list'],
    };
    const narrow = await checkScreen(page, baseUrl, readinessScreen, { width: 1024, height: 768 }, 'light');
    expect(narrow.faults.join('\n')).toBe('');
    expect((await checkScreen(page, baseUrl, readinessScreen, { width: 1280, height: 800 }, 'dark')).faults.join('\n')).toBe('');
    const report = await checkScreen(page, baseUrl, readinessScreen, { width: 1280, height: 800 }, 'light');
    expect(report.faults.join('\n')).toBe('');
    const card = page.getByTestId('readiness-card');
    expect(await card.getByRole('heading', { name: 'Basic auth retirement' }).isVisible()).toBe(true);
    const scannerSmtp = card.locator('[data-readiness="mailbox:Scanner:smtp"]');
    expect(await scannerSmtp.textContent()).toContain('Soon');
    expect(await scannerSmtp.textContent()).toContain('MC786329');
    expect(await card.locator('[data-readiness="mailbox:Scanner:imap"]').textContent()).toContain('Broken');
    expect(await card.locator('[data-readiness="mailbox:Support:smtp"]').count()).toBe(0);

    // A relay account: send through the mailbox that signs in with OAuth.
    const copier = card.locator('[data-readiness="relay:copier:smtp"]');
    await copier.getByRole('button', { name: 'Send through Support' }).click();
    await expect.poll(() => copier.count()).toBe(0);
    expect(handle.engine.relay.settings().accounts.find((a) => a.username === 'copier')!.mailboxName).toBe('Support');

    // With the app-only registration set up, the second way out: the form opens with app-only chosen on both sides.
    await scannerSmtp.getByRole('button', { name: 'Use app-only' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByTestId('switch-to-app-only').waitFor();
    expect(await dialog.getByTestId('switch-to-app-only').textContent()).toContain('app-only access is chosen instead of the password');
    expect(await dialog.locator('select[name="imapAuth"]').inputValue()).toBe('oauth2-app');
    expect(await dialog.locator('select[name="smtpAuth"]').inputValue()).toBe('oauth2-app');
    expect(await dialog.locator('select[name="smtpAuth"] option:checked').textContent()).toBe('Microsoft 365 app-only (shared mailbox)');
    await page.screenshot({ path: path.join(path.dirname(report.screenshot), 'readiness-use-app-only-1280x800-light.png') });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => dialog.count()).toBe(0);
    expect(handle.engine.mailboxes.get(ids.scanner!).smtp.auth).toBe('password');

    // A mailbox: the form opens with Microsoft 365 OAuth 2.0 chosen; saving takes it off the card.
    await scannerSmtp.getByRole('button', { name: 'Switch to OAuth' }).click();
    await dialog.getByTestId('switch-to-oauth').waitFor();
    expect(await dialog.locator('select[name="imapAuth"]').inputValue()).toBe('oauth2');
    expect(await dialog.locator('select[name="smtpAuth"]').inputValue()).toBe('oauth2');
    await page.screenshot({ path: path.join(path.dirname(report.screenshot), 'readiness-switch-to-oauth-1280x800-light.png') });
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => card.count()).toBe(0);
    const scanner = handle.engine.mailboxes.get(ids.scanner!);
    expect([scanner.imap.auth, scanner.smtp.auth]).toEqual(['oauth2', 'oauth2']);
    expect(await page.getByText('Saved mailbox Scanner with Microsoft 365 OAuth 2.0').isVisible()).toBe(true);
  }, 90_000);
});
