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
import path from 'node:path';
import { SCREENSHOT_DIR, chromiumPath, screenshot } from '../helpers/browser';
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
  // A context of its own: axe-core runs in it (it refuses pages made by browser.newPage()).
  page = await (await browser.newContext({ viewport: { width: 1360, height: 900 } })).newPage();
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
    // The Mail flow overview is the first screen; these steps start on Mailboxes.
    await page.evaluate(() => (location.hash = '#/mailboxes'));
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
    // The Mail flow overview is the first screen; these steps start on Mailboxes.
    await page.evaluate(() => (location.hash = '#/mailboxes'));
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
    // One name for the action in every state: "Sign in again".
    expect(await panel.getByRole('button', { name: 'Sign in again' }).count()).toBe(1);
    expect(await panel.getByRole('button', { name: 'Change OAuth' }).count()).toBe(0);
    expect(await panel.getByTestId('oauth-token-expires').textContent()).toContain('(refreshed automatically)');
    await page.setViewportSize({ width: 1280, height: 800 });
    await panelShots(page, panel, 'oauth-signed-in');
    await expectInside(page, panel);

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

  it('"Sign in again": the state, what waits for it, the outbox, an unreachable sign-in server, and the sign-in that releases the mail', async () => {
    const mailbox = engine.mailboxes.resolve('Help desk');
    // Revoked at Microsoft: the next refresh fails with AADSTS50173 and the mailbox needs a sign-in.
    idp.revokeAll();
    await engine.oauth.checkToken(mailbox.id, { forceRefresh: true });
    expect(engine.oauth.health(mailbox.id).state).toBe('sign-in-required');
    const queued = await engine.outbox.compose({ mailboxId: mailbox.id, to: ['customer@example.test'], subject: 'Waits for the sign-in', text: 'x' });
    const id = queued.messages[0]!.id;
    expect(queued.messages[0]!.status).toBe('waiting-sign-in');

    for (const size of [{ width: 1280, height: 800 }, { width: 1024, height: 768 }]) {
      await page.setViewportSize(size);
      await page.goto(server.url);
      // The Mail flow overview is the first screen; these steps start on Mailboxes.
      await page.evaluate(() => (location.hash = '#/mailboxes'));
    // The Mail flow overview is the first screen; these steps start on Mailboxes.
    await page.evaluate(() => (location.hash = '#/mailboxes'));
      const row = page.locator('[data-mailbox="Help desk"]');
      await expect.poll(() => row.textContent()).toContain('Sign-in needed');
      await row.click();
      const panel = page.getByRole('region', { name: 'Microsoft 365 sign-in' });
      await expect.poll(() => panel.textContent()).toContain('Sign-in needed');
      expect(await panel.getByRole('button', { name: 'Sign in again' }).count()).toBe(1);
      // No claim about refreshing that is no longer true.
      expect(await panel.getByTestId('oauth-token-expires').textContent()).toContain('(not refreshed until someone signs in again)');
      expect(await panel.textContent()).not.toContain('refreshed automatically');
      expect(await panel.textContent()).toContain('AADSTS50173');
      expect(await panel.textContent()).toContain('"Sign in again" in Mailroom');
      await expect.poll(() => panel.getByTestId('oauth-waiting-mail').textContent()).toContain('1 outgoing message waits for this sign-in');
      await panelShots(page, panel, `oauth-sign-in-again-${size.width}`);
      await expectInside(page, panel);
      await expectNoSeriousAxe(page, '[aria-label="Microsoft 365 sign-in"]');
    }

    // The Outbox says it in its own words: the status, the filter, the detail, and Send now says why.
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${server.url.replace(/\/\?token=.*$/, '')}/#/outbox/${id}`);
    const outboxRow = page.locator(`[data-outbox-id="${id}"]`);
    await expect.poll(() => outboxRow.getAttribute('data-status')).toBe('waiting-sign-in');
    expect(await outboxRow.textContent()).toContain('Waiting for sign-in');
    expect(await page.locator('select[name="status"] option[value="waiting-sign-in"]').textContent()).toBe('Waiting for sign-in');
    const detail = page.locator(`[data-outbox-detail="${id}"]`);
    await expect.poll(() => detail.getByTestId('outbox-waiting-sign-in').textContent()).toContain('no tries are spent');
    await detail.getByRole('button', { name: 'Send now' }).click();
    await expect.poll(() => detail.getByRole('alert').first().textContent()).toContain('OUTBOX_WAITING_FOR_SIGN_IN');
    await screenshot(page, 'outbox-waiting-sign-in');

    // The sign-in server cannot be reached: OAUTH_NETWORK naming the host, the long box wraps inside the panel.
    const closed = await closedPort();
    const good = engine.oauth.getSettings();
    engine.oauth.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: `https://127.0.0.1:${closed}`, redirectHost: 'localhost' });
    await page.goto(server.url);
    // The Mail flow overview is the first screen; these steps start on Mailboxes.
    await page.evaluate(() => (location.hash = '#/mailboxes'));
    await page.locator('[data-mailbox="Help desk"]').click();
    const panel = page.getByRole('region', { name: 'Microsoft 365 sign-in' });
    await panel.getByRole('button', { name: 'Sign in again' }).click();
    const failure = panel.getByRole('alert').filter({ hasText: 'OAUTH_NETWORK' });
    await expect.poll(() => failure.textContent()).toContain(`at 127.0.0.1:${closed} could not be reached`);
    expect(await failure.textContent()).toContain('firewall');
    expect(await failure.textContent()).toContain('Detail: msal-node: endpoints_resolution_error');
    await panelShots(page, panel, 'oauth-network-error');
    await expectInside(page, panel);

    // Back to the right server: "Sign in again" works, and the waiting message is due at once.
    engine.oauth.saveSettings({ tenant: good.tenant, clientId: good.clientId, authorityHost: good.authorityHost, redirectHost: good.redirectHost });
    await page.reload();
    await page.locator('[data-mailbox="Help desk"]').click();
    const popup = page.waitForEvent('popup');
    await page.getByRole('region', { name: 'Microsoft 365 sign-in' }).getByRole('button', { name: 'Sign in again' }).click();
    const tab = await popup;
    await expect.poll(() => tab.textContent('body').catch(() => ''), { timeout: 15_000 }).toContain('Signed in to Microsoft 365');
    await tab.close();
    const again = page.getByRole('region', { name: 'Microsoft 365 sign-in' });
    await expect.poll(() => again.textContent()).toContain('Signed in as support@contoso.test');
    await expect.poll(() => engine.outbox.get(id).status).toBe('queued');
    expect(engine.outbox.get(id).attempts).toBe(0);
    expect(await again.getByTestId('oauth-waiting-mail').count()).toBe(0);
    await panelShots(page, again, 'oauth-signed-in-again');
  });
});

/** The sign-in panel scrolled into view: the page as shown, and the panel whole. */
async function panelShots(page: Page, panel: ReturnType<Page['locator']>, name: string): Promise<void> {
  await panel.getByRole('button').first().scrollIntoViewIfNeeded();
  await screenshot(page, name);
  await panel.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}-panel.png`) });
}

/** Every visible element of `container` stays inside it (text wraps; nothing runs off the panel). */
async function expectInside(page: Page, container: ReturnType<Page['locator']>): Promise<void> {
  const outside = await container.evaluate((root) => {
    const box = root.getBoundingClientRect();
    const out: string[] = [];
    for (const el of Array.from(root.querySelectorAll('*'))) {
      const r = el.getBoundingClientRect();
      if (!r.width || !r.height) continue;
      if (r.right > box.right + 1 || r.left < box.left - 1) out.push(`${el.tagName}.${(el as HTMLElement).className}: ${Math.round(r.left)}..${Math.round(r.right)} outside ${Math.round(box.left)}..${Math.round(box.right)} "${(el.textContent ?? '').slice(0, 60)}"`);
    }
    return out;
  });
  expect(outside, `${page.url()}`).toEqual([]);
}

/** axe-core finds no serious or critical violation in `selector`. */
async function expectNoSeriousAxe(page: Page, selector: string): Promise<void> {
  const { default: AxeBuilder } = await import('@axe-core/playwright');
  const result = await new AxeBuilder({ page } as never).include(selector).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad).toEqual([]);
}
