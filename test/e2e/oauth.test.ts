/**
 * End to end in Debian's chromium against the browser console: the admin
 * enters the app registration, detects a Microsoft 365 address in the new
 * mailbox form, signs the mailbox in with "Sign in with Microsoft" (a new tab
 * goes to the test IdP over HTTPS and comes back to the loopback listener),
 * sees the token health, and the mailbox sends a message through an SMTP
 * server that accepts only XOAUTH2 tokens the IdP issued. Screenshots are
 * saved under test-results/screenshots.
 */
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import nodemailer from 'nodemailer';
import { chromium, type Browser, type Page } from 'playwright-core';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { createMailroomRouter } from '../../src-main/ipc/index';
import { startConsoleServer, type ConsoleServer } from '../../src-main/console-server/server';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { chromiumPath, screenshot } from '../helpers/browser';
import { RENDERER_DIR } from '../helpers/paths';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';
import { tempDir } from '../helpers/temp';

let idp: TestIdp;
let engine: Mailroom;
let server: ConsoleServer;
let browser: Browser;
let page: Page;
let smtp: SMTPServer;
let smtpPort: number;
const received: string[] = [];

async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  idp = await startTestIdp();
  smtp = new SMTPServer({
    authMethods: ['XOAUTH2'],
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      const owner = auth.accessToken ? idp.verifyAccessToken(auth.accessToken) : undefined;
      if (owner && owner === auth.username) return callback(null, { user: owner });
      return callback(null, { data: { status: '401', schemes: 'bearer' } });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push(`${session.user}\n${Buffer.concat(chunks).toString('utf8')}`);
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
  smtpPort = (smtp.server.address() as AddressInfo).port;

  // Offline detection (a closed DNS port): the provider table still recognises *.onmicrosoft.com.
  const port = await closedPort();
  engine = openMailroom({
    dataDir: tempDir('mailroom-e2e-oauth-'),
    keyProvider: staticKeyProvider(crypto.randomBytes(32), 'test key'),
    fetch: idp.fetch,
    detector: { dnsServers: [`127.0.0.1:${port}`], userRealmUrl: `https://127.0.0.1:${port}/getuserrealm.srf`, autoconfigUrls: [], stepTimeoutMs: 1000 },
  });
  server = await startConsoleServer({ router: createMailroomRouter(engine, { runtime: 'console' }), events: engine.events, rendererDir: RENDERER_DIR });
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Trust exactly the IdP's test certificate (by its key), nothing else.
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', `--ignore-certificate-errors-spki-list=${idp.certs.spkiHash}`],
  });
  page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  page.setDefaultTimeout(15_000);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  engine?.close();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
  await idp?.stop();
});

describe('Microsoft 365 sign-in in the browser console', () => {
  it('detects Microsoft 365 from the address in the new mailbox form', async () => {
    await page.goto(server.url);
    await page.getByRole('button', { name: 'New mailbox' }).first().click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('input[name="name"]').fill('Support');
    await dialog.locator('input[name="address"]').fill('support@contoso.onmicrosoft.com');
    const panel = dialog.getByTestId('detect-panel');
    await expect.poll(() => panel.isVisible(), { timeout: 15_000 }).toBe(true);
    await expect.poll(() => panel.textContent()).toContain('Microsoft 365');
    expect(await panel.textContent()).toContain('could not reach DNS or the internet');
    expect(await panel.textContent()).toContain('(UPN) can differ');
    await screenshot(page, 'oauth-detect');
    await panel.getByRole('button', { name: 'Use these settings' }).click();
    expect(await dialog.locator('input[name="imapHost"]').inputValue()).toBe('outlook.office365.com');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  });

  it('signs a mailbox in with Microsoft and sends a message with the token', async () => {
    const mailbox = engine.mailboxes.create({
      name: 'Help desk',
      address: 'support@contoso.test',
      preset: 'microsoft365',
      smtp: { host: '127.0.0.1', port: smtpPort, security: 'none' },
    });
    await page.goto(server.url);
    await page.locator('[data-mailbox="Help desk"]').click();
    const panel = page.getByRole('region', { name: 'Microsoft 365 sign-in' });
    await expect.poll(() => panel.textContent()).toContain('not set up');

    // The app registration, through the guide's form: checked, then saved.
    await panel.getByRole('button', { name: 'Set up Microsoft 365 sign-in' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('input[name="tenant"]').fill(idp.tenantId);
    await dialog.locator('input[name="clientId"]').fill(idp.clientId);
    await dialog.locator('input[name="authorityHost"]').fill(idp.authorityHost);
    await dialog.getByRole('button', { name: 'Check values' }).click();
    await expect.poll(() => dialog.getByRole('status', { name: 'Checks' }).textContent()).toContain('answered for the tenant');
    await screenshot(page, 'oauth-settings');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => dialog.isVisible()).toBe(false);

    // Sign in: a new tab goes to the IdP, which sends it back to the loopback listener (http://localhost:<port>).
    const popup = page.waitForEvent('popup');
    await panel.getByRole('button', { name: 'Sign in with Microsoft' }).click();
    const tab = await popup;
    await expect.poll(() => tab.textContent('body').catch(() => ''), { timeout: 15_000 }).toContain('Signed in to Microsoft 365');
    expect(tab.url()).toMatch(/^http:\/\/localhost:\d+\//);
    await screenshot(tab, 'oauth-browser-tab');
    await tab.close();

    await expect.poll(() => panel.getByTestId('oauth-account').textContent()).toContain('support@contoso.test');
    await expect.poll(() => panel.textContent()).toContain('Signed in');
    expect(await panel.textContent()).toContain('IMAP.AccessAsUser.All');
    expect(await panel.getByRole('button', { name: 'Change OAuth' }).count()).toBe(1);
    await screenshot(page, 'oauth-signed-in');

    // The mailbox sends with the token the provider hands out (XOAUTH2).
    const info = await engine.oauth.withAccessToken(
      mailbox.id,
      async (token) => {
        const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true, auth: { type: 'OAuth2', user: token.user, accessToken: token.accessToken } });
        try {
          return await transport.sendMail({ from: token.user, to: 'customer@example.test', subject: 'Signed in through the console', text: 'It works.' });
        } finally {
          transport.close();
        }
      },
      (e) => (e as { responseCode?: number }).responseCode === 535,
    );
    expect(info.accepted).toEqual(['customer@example.test']);
    expect(received.at(-1)).toContain('Subject: Signed in through the console');
    expect(received.at(-1)!.startsWith('support@contoso.test\n')).toBe(true);
  });
});
