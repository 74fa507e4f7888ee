/**
 * End to end in Debian's chromium against the browser console: a shared
 * mailbox is created with the sign-in "Microsoft 365 app-only (shared
 * mailbox)", the admin opens "App-only set-up", enters the tenant, the
 * client id, the enterprise application's object id and the client secret
 * (with its expiry date), sees the guided steps with the Exchange Online
 * commands filled in with those values (each with a Copy button), saves,
 * and the mailbox gets an app-only token from the test IdP. The secret never
 * comes back to the page. Screenshots at 1280x800 are saved under
 * test-results/screenshots and looked at.
 */
import crypto from 'node:crypto';
import { chromium, type Browser, type Page } from 'playwright-core';
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
const OBJECT_ID = '9f6a5b4c-1111-4222-8333-444455556666';

beforeAll(async () => {
  idp = await startTestIdp();
  engine = openMailroom({ dataDir: tempDir('mailroom-e2e-app-only-'), keyProvider: staticKeyProvider(crypto.randomBytes(32), 'test key'), fetch: idp.fetch });
  server = await startConsoleServer({ router: createMailroomRouter(engine, { runtime: 'console' }), events: engine.events, rendererDir: RENDERER_DIR });
  browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  // A context of its own: axe-core runs in it.
  page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  page.setDefaultTimeout(15_000);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  engine?.close();
  await idp?.stop();
});

async function expectNoSeriousAxe(selector: string): Promise<void> {
  const { default: AxeBuilder } = await import('@axe-core/playwright');
  const result = await new AxeBuilder({ page } as never).include(selector).analyze();
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(bad).toEqual([]);
}

describe('Microsoft 365 app-only set-up in the browser console', () => {
  it('creates a shared mailbox with the app-only sign-in from the form', async () => {
    await page.goto(server.url);
    // The Mail flow overview is the first screen; these steps start on Mailboxes.
    await page.evaluate(() => (location.hash = '#/mailboxes'));
    await page.getByRole('button', { name: 'New mailbox' }).first().click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('input[name="name"]').fill('Support');
    await dialog.locator('input[name="address"]').fill('support@contoso.test');
    await dialog.locator('select[name="preset"]').selectOption('microsoft365');
    await dialog.locator('select[name="imapAuth"]').selectOption({ label: 'Microsoft 365 app-only (shared mailbox)' });
    await dialog.locator('select[name="smtpAuth"]').selectOption({ label: 'Microsoft 365 app-only (shared mailbox)' });
    expect(await dialog.textContent()).toContain('signs in as your organisation\'s app registration');
    // Saved disabled: an enabled one would first look into its folder on Exchange Online (the first-enable question).
    await dialog.getByRole('switch').uncheck();
    await dialog.getByRole('button', { name: 'Create mailbox' }).click();
    await expect.poll(() => dialog.isVisible()).toBe(false);
    expect(engine.mailboxes.list()[0]).toMatchObject({ imap: { auth: 'oauth2-app' }, smtp: { auth: 'oauth2-app' } });
  });

  it('guides the set-up with the tenant\'s own commands, saves the secret write-only, and the mailbox gets an app token', async () => {
    await page.locator('[data-mailbox="Support"]').click();
    const panel = page.getByRole('region', { name: 'Microsoft 365 app-only access' });
    await expect.poll(() => panel.textContent()).toContain('Not set up');
    await panel.getByRole('button', { name: 'App-only set-up' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('input[name="tenant"]').fill(idp.tenantId);
    await dialog.locator('input[name="clientId"]').fill(idp.clientId);
    await dialog.locator('input[name="objectId"]').fill(OBJECT_ID);
    await dialog.locator('input[name="authorityHost"]').fill(idp.authorityHost);
    await dialog.locator('input[name="clientSecret"]').fill(idp.app.clientSecret);
    const soon = new Date(Date.now() + 20 * 86_400_000).toISOString().slice(0, 10);
    await dialog.locator('input[name="secretExpires"]').fill(soon);

    const steps = dialog.getByRole('region', { name: 'Guided steps' });
    const text = (await steps.textContent()) ?? '';
    expect(text).toMatch(/IMAP\.AccessAsApp.*POP\.AccessAsApp.*SMTP\.SendAsApp/s);
    expect(text).toContain('Grant admin consent');
    expect(await dialog.locator('pre[data-step="connect"]').textContent()).toBe(`Connect-ExchangeOnline -Organization "${idp.tenantId}"`);
    expect(await dialog.locator('pre[data-step="service-principal"]').textContent()).toBe(`New-ServicePrincipal -AppId "${idp.clientId}" -ObjectId "${OBJECT_ID}" -DisplayName "Mailroom Support"`);
    expect(await dialog.locator('pre[data-step="full-access"]').textContent()).toBe(`Add-MailboxPermission -Identity "support@contoso.test" -User "${OBJECT_ID}" -AccessRights FullAccess`);
    expect(await dialog.locator('pre[data-step="send-as"]').textContent()).toContain(`Add-RecipientPermission -Identity "support@contoso.test" -Trustee "${OBJECT_ID}" -AccessRights SendAs`);
    expect(text).toContain('NOT the Object ID of the App registration');
    // One Copy button per command.
    expect(await steps.getByRole('button', { name: /^Copy: / }).count()).toBe(await steps.locator('pre').count());
    await expectNoSeriousAxe('[role="dialog"]');
    await screenshot(page, 'app-only-setup');

    // The dialog's layout at 1280x800: the form and the steps side by side, nothing outside the window.
    const form = await dialog.getByRole('region', { name: 'App-only registration' }).boundingBox();
    const guide = await steps.boundingBox();
    expect(form!.x + form!.width).toBeLessThanOrEqual(guide!.x);
    const surface = await dialog.boundingBox();
    expect(surface!.x).toBeGreaterThanOrEqual(0);
    expect(surface!.x + surface!.width).toBeLessThanOrEqual(1280);
    expect(surface!.y + surface!.height).toBeLessThanOrEqual(800);

    // At 1024x768 the two columns still fit, and the dialog stays inside the window.
    await page.setViewportSize({ width: 1024, height: 768 });
    const small = await dialog.boundingBox();
    expect(small!.x).toBeGreaterThanOrEqual(0);
    expect(small!.x + small!.width).toBeLessThanOrEqual(1024);
    expect(small!.y + small!.height).toBeLessThanOrEqual(768);
    const smallForm = await dialog.getByRole('region', { name: 'App-only registration' }).boundingBox();
    expect(smallForm!.x + smallForm!.width).toBeLessThanOrEqual((await steps.boundingBox())!.x);
    await screenshot(page, 'app-only-setup-1024');
    await page.setViewportSize({ width: 1280, height: 800 });

    await dialog.getByRole('button', { name: 'Save registration' }).click();
    await expect.poll(() => dialog.textContent()).toContain('Saved.');
    expect(await dialog.locator('input[name="clientSecret"]').inputValue()).toBe('');
    await dialog.getByRole('button', { name: 'Close' }).click();

    // The panel warns that the secret expires within 30 days; the secret never comes back to the page.
    await expect.poll(() => panel.textContent()).toContain('Client secret expires in');
    await expect.poll(() => page.locator('[data-mailbox="Support"]').textContent()).toContain('Secret expires soon');
    expect(await page.content()).not.toContain(idp.app.clientSecret);
    await screenshot(page, 'app-only-panel');
    const token = await engine.oauth.getAccessTokenForMailbox(engine.mailboxes.list()[0]!.id);
    expect(token).toMatchObject({ kind: 'app', user: 'support@contoso.test' });
    expect(idp.issuedAppTokens().get(token.accessToken)?.via).toBe('secret');
  }, 60_000);
});
