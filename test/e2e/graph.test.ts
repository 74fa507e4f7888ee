/**
 * End to end in Debian's chromium against the browser console: an admin
 * opens a Microsoft 365 mailbox (app-only sign-in against the test IdP),
 * chooses "Send through: Microsoft Graph" and "Receive through: Microsoft
 * Graph" with Sent Items off, saves, then runs "Test Microsoft Graph": the
 * steps appear, the test message reaches the Graph-shaped peer, the
 * transcript shows the HTTP exchanges without the token and "Copy as curl"
 * holds the <TOKEN> placeholder. A Graph failure (an application access
 * policy) shows its code and fix. Screenshots at 1280x800 (and the test
 * screen at 1024x768) are saved under test-results/screenshots and looked
 * at; axe-core finds nothing serious.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { createMailroomRouter } from '../../src-main/ipc/index';
import { startConsoleServer, type ConsoleServer } from '../../src-main/console-server/server';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { chromiumPath, screenshot } from '../helpers/browser';
import { RENDERER_DIR } from '../helpers/paths';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';
import { startGraphPeer, type GraphPeer } from '../helpers/graph-peer';
import { checkScreen, SCREEN_SIZES, THEMES, type ScreenCheck } from '../helpers/screen-checks';

const MAILBOX = 'support@contoso.test';
let idp: TestIdp;
let graph: GraphPeer;
let engine: Mailroom;
let server: ConsoleServer;
let browser: Browser;
let page: Page;
let dataDir: string;
const previousGraphUrl = process.env.MAILROOM_GRAPH_URL;

beforeAll(async () => {
  idp = await startTestIdp();
  graph = await startGraphPeer({ idp });
  graph.addMailbox(MAILBOX, { displayName: 'Support' });
  // The engine's Graph calls go to the peer; its HTTP (fetch) trusts the test CA.
  process.env.MAILROOM_GRAPH_URL = graph.baseUrl;
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-e2e-graph-'));
  // DNS and Microsoft's user realm at a closed port: the readiness report goes by host names alone, at once.
  const offline = 'http://127.0.0.1:9';
  engine = openMailroom({
    dataDir,
    keyProvider: staticKeyProvider(crypto.randomBytes(32), 'test key'),
    fetch: idp.fetch,
    detector: { dnsServers: ['127.0.0.1:9'], userRealmUrl: `${offline}/getuserrealm.srf`, autoconfigUrls: [], stepTimeoutMs: 1000 },
  });
  engine.oauth.appOnly.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, credential: 'secret', clientSecret: idp.app.clientSecret });
  engine.mailboxes.create({ name: 'Support', address: MAILBOX, preset: 'microsoft365', enabled: false, imap: { auth: 'oauth2-app' }, smtp: { auth: 'oauth2-app' } });
  // A second mailbox that signs in with OAuth 2.0, whose tenant has SMTP AUTH off: Exchange refused it with 5.7.139.
  const helpdesk = engine.mailboxes.create({ name: 'Helpdesk', address: 'helpdesk@contoso.test', preset: 'microsoft365', enabled: false, imap: { auth: 'oauth2-app' }, smtp: { auth: 'oauth2-app' } });
  engine.log.write({
    mailboxId: helpdesk.id,
    direction: 'send',
    level: 'error',
    code: 'SMTP_AUTH_DISABLED',
    message: 'Sending failed: 535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.',
  });
  server = await startConsoleServer({ router: createMailroomRouter(engine, { runtime: 'console' }), events: engine.events, rendererDir: RENDERER_DIR });
  browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  page.setDefaultTimeout(20_000);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  engine?.close();
  await graph?.stop();
  await idp?.stop();
  if (previousGraphUrl === undefined) delete process.env.MAILROOM_GRAPH_URL;
  else process.env.MAILROOM_GRAPH_URL = previousGraphUrl;
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

async function expectNoSeriousAxe(selector: string): Promise<void> {
  const { default: AxeBuilder } = await import('@axe-core/playwright');
  // Fluent's tabster focus guards (aria-hidden <i> that take focus on purpose) are left out, as the other screens' checks do.
  const result = await new AxeBuilder({ page } as never).include(selector).exclude('[data-tabster-dummy]').analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad).toEqual([]);
}

/** Every token the IdP issued: none may reach the page. */
const issuedTokens = () => [...idp.issuedAppTokens().keys(), ...idp.issuedAccessTokens()];

describe('Microsoft Graph for a Microsoft 365 mailbox in the browser console', () => {
  it('chooses Microsoft Graph for sending and receiving in the mailbox form', async () => {
    await page.goto(server.url);
    await page.evaluate(() => (location.hash = '#/mailboxes'));
    await page.locator('[data-mailbox="Support"]').click();
    await page.getByRole('complementary').getByRole('button', { name: 'Edit' }).click();
    const dialog = page.getByRole('dialog');
    const transports = dialog.getByRole('region', { name: 'Microsoft Graph' });
    await expect.poll(() => transports.isVisible()).toBe(true);
    expect(await transports.textContent()).toContain('Send through');
    await transports.getByRole('radiogroup', { name: 'Send through' }).getByRole('radio', { name: 'Microsoft Graph' }).check();
    await transports.getByRole('radiogroup', { name: 'Receive through' }).getByRole('radio', { name: 'Microsoft Graph' }).check();
    const saveSent = transports.getByRole('checkbox', { name: 'Save sent mail to Sent Items' });
    expect(await saveSent.isChecked()).toBe(true);
    await saveSent.uncheck();
    await transports.scrollIntoViewIfNeeded();
    const file = await screenshot(page, 'graph-mailbox-form-1280x800-light');
    expect(fs.existsSync(file)).toBe(true);
    await expectNoSeriousAxe('[role="dialog"]');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => dialog.isVisible()).toBe(false);
    expect(engine.mailboxes.resolve('Support')).toMatchObject({ sendVia: 'graph', receiveVia: 'graph', graph: { saveToSentItems: false } });
    // The detail and the list say so.
    await expect.poll(() => page.getByRole('complementary').textContent()).toContain('sends and receives');
    expect(await page.locator('tr[data-mailbox="Support"]').textContent()).toMatch(/Microsoft Graph.*Microsoft Graph/);
  });

  it('a password mailbox cannot choose Graph: the form says why at the field', async () => {
    await page.getByRole('complementary').getByRole('button', { name: 'Edit' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('select[name="smtpAuth"]').selectOption('password');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => dialog.textContent()).toContain('Microsoft Graph needs a Microsoft 365 sign-in');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => dialog.isVisible()).toBe(false);
    expect(engine.mailboxes.resolve('Support')).toMatchObject({ sendVia: 'graph', smtp: { auth: 'oauth2-app' } });
  });

  it('runs the Microsoft Graph test: steps, the test message through sendMail, transcript and Copy as curl without the token', async () => {
    // "Test connection" of a mailbox that sends and receives through Graph tests Graph, not its unused servers.
    await page.getByRole('complementary').getByRole('button', { name: 'Test connection' }).click();
    await expect.poll(() => page.locator('section[data-protocol="graph"]').textContent(), { timeout: 30_000 }).toContain('Passed');
    expect(await page.locator('section[data-protocol="smtp"], section[data-protocol="imap"]').count()).toBe(0);
    await page.evaluate(() => (location.hash = '#/mailboxes'));
    await page.locator('[data-mailbox="Support"]').click();
    const sentBefore = graph.sent.length;
    await page.getByRole('complementary').getByRole('button', { name: 'Test Microsoft Graph' }).click();
    const card = page.locator('section[data-protocol="graph"]');
    await expect.poll(() => card.textContent(), { timeout: 30_000 }).toContain('Passed');
    const text = (await card.textContent()) ?? '';
    for (const step of ['Get a token for Microsoft Graph', 'Find the mailbox (GET /users)', 'Open the folder (GET mailFolders)']) expect(text).toContain(step);
    expect(text).toContain('app-only for https://graph.microsoft.com');
    // Now with a test message, from the form.
    await page.locator('input[name="to"]').fill('customer@example.test');
    await page.getByRole('button', { name: 'Run test' }).click();
    await expect.poll(() => card.textContent(), { timeout: 30_000 }).toContain('Test message accepted (sendMail)');
    await expect.poll(() => card.textContent(), { timeout: 30_000 }).toContain('Passed');
    expect(graph.sent.length).toBe(sentBefore + 1);
    const transcript = page.getByRole('region', { name: 'Microsoft Graph transcript (HTTP, token redacted)' });
    const transcriptText = (await transcript.textContent()) ?? '';
    expect(transcriptText).toContain('Authorization: Bearer [redacted token]');
    expect(transcriptText).toContain('HTTP/1.1 202 Accepted');
    const curl = (await page.getByLabel('curl command').textContent()) ?? '';
    expect(curl).toContain("-H 'Authorization: Bearer <TOKEN>'");
    expect(curl).toContain('/sendMail');
    const html = await page.content();
    for (const token of issuedTokens()) expect(html).not.toContain(token);
    const file = await screenshot(page, 'graph-test-1280x800-light');
    expect(fs.existsSync(file)).toBe(true);
    await expectNoSeriousAxe('main');
    // Kept in the mailbox's history.
    await expect.poll(() => page.getByRole('region', { name: 'Recent results' }).textContent()).toContain('Microsoft Graph');
  });

  it('the readiness card offers "Use Microsoft Graph" where SMTP AUTH is off, and it opens the form with Graph chosen for sending', async () => {
    await page.evaluate(() => (location.hash = '#/mailboxes'));
    const card = page.getByTestId('readiness-card');
    await card.waitFor({ timeout: 30_000 });
    const row = card.locator('[data-readiness="mailbox:Helpdesk:smtp"]');
    await expect.poll(() => row.textContent()).toContain('SMTP AUTH is turned off');
    expect(await card.locator('[data-readiness="mailbox:Support:smtp"]').count()).toBe(0);
    await row.scrollIntoViewIfNeeded();
    const file = await screenshot(page, 'graph-readiness-1280x800-light');
    expect(fs.existsSync(file)).toBe(true);
    await expectNoSeriousAxe('[data-testid="readiness-card"]');
    await row.getByRole('button', { name: 'Use Microsoft Graph' }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.getByTestId('switch-to-graph').isVisible()).toBe(true);
    expect(await dialog.getByRole('radiogroup', { name: 'Send through' }).getByRole('radio', { name: 'Microsoft Graph' }).isChecked()).toBe(true);
    expect(await dialog.getByRole('radiogroup', { name: 'Receive through' }).getByRole('radio', { name: 'IMAP' }).isChecked()).toBe(true);
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => dialog.isVisible()).toBe(false);
    expect(engine.mailboxes.resolve('Helpdesk')).toMatchObject({ sendVia: 'graph', receiveVia: 'imap' });
    await expect.poll(() => page.getByRole('status').first().textContent()).toContain('sends through Microsoft Graph');
    // Its SMTP side no longer counts: it does not use SMTP.
    await expect.poll(async () => card.locator('[data-readiness="mailbox:Helpdesk:smtp"]').count()).toBe(0);
  });

  it('the Graph test screen passes the screen checks (layout, Tab order, axe) at both sizes and in both themes', async () => {
    const id = engine.mailboxes.resolve('Support').id;
    const graphScreen: ScreenCheck = {
      name: 'graph-test',
      route: `#/tests/${id}/graph`,
      open: async (p) => {
        await p.locator('section[data-protocol="graph"]').getByText('Passed').first().waitFor({ timeout: 30_000 });
      },
      tabOrder: ['skip', 'header', 'navigation', 'toolbar', 'detail'],
    };
    for (const size of SCREEN_SIZES) {
      for (const theme of THEMES) {
        const report = await checkScreen(page, `http://127.0.0.1:${server.port}`, graphScreen, size, theme);
        expect(report.faults, `${size.width}x${size.height} ${theme}: ${report.tabWalk.join(' > ')}`).toEqual([]);
      }
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('a Graph failure shows its code, the step and the fix (an application access policy), also at 1024x768', async () => {
    await page.setViewportSize({ width: 1024, height: 768 });
    await page.evaluate(() => (location.hash = '#/mailboxes'));
    await page.locator('[data-mailbox="Support"]').click();
    await page.getByRole('complementary').getByRole('button', { name: 'Test Microsoft Graph' }).click();
    await expect.poll(() => page.locator('section[data-protocol="graph"]').textContent(), { timeout: 30_000 }).toContain('Passed');
    graph.restrictApp(idp.clientId, ['someone-else@contoso.test']);
    try {
      await page.locator('input[name="to"]').fill('');
      await page.getByRole('button', { name: 'Run test' }).click();
      const card = page.locator('section[data-protocol="graph"]');
      await expect.poll(() => card.textContent(), { timeout: 30_000 }).toContain('GRAPH_ACCESS_POLICY_DENIED');
      const text = (await card.textContent()) ?? '';
      expect(text).toContain('Blocked by an application access policy');
      expect(text).toContain('Test-ApplicationAccessPolicy');
      // The four test choices wrap inside the form's card: none runs past it into the results.
      const form = await page.getByRole('form', { name: 'Test settings' }).boundingBox();
      for (const radio of await page.getByRole('form', { name: 'Test settings' }).getByRole('radio').all()) {
        const label = await radio.locator('xpath=..').boundingBox();
        expect(label!.x + label!.width, await radio.getAttribute('value') ?? '').toBeLessThanOrEqual(form!.x + form!.width);
      }
      const file = await screenshot(page, 'graph-test-failed-1024x768-light');
      expect(fs.existsSync(file)).toBe(true);
      await expectNoSeriousAxe('main');
    } finally {
      graph.restrictApp(idp.clientId, null);
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });
});
