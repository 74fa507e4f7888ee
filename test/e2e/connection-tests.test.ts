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
import { startScriptedServer, type ScriptedServer } from '../helpers/scripted-server';
import { makeTestCerts, type TestCerts } from '../helpers/certs';
import { createRequire } from 'node:module';

const PASSWORD = 'Corr3ct-Horse-Battery';
const M365_REPLY = '5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information.';

describe('connection tests screen in the browser console', () => {
  let browserHandle: BrowserHandle;
  let consoleHandle: ConsoleHandle;
  let smtp: SmtpPeer;
  let dovecot: Dovecot;
  let page: Page;
  let dataDir: string;
  let certs: TestCerts;
  let oldTls: ScriptedServer;
  let modernTls: ScriptedServer;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-e2e-tests-'));
    smtp = await startSmtpPeer({ tls: 'none', allowInsecureAuth: true, users: { 'support@example.test': PASSWORD }, reject: { AUTH: { code: 535, message: M365_REPLY } } });
    dovecot = await startDovecot({ users: { 'support@example.test': PASSWORD } });
    certs = makeTestCerts();
    // An old appliance that speaks only TLS 1.0, and a current server whose certificate this console does not trust.
    oldTls = await startScriptedServer({ script: [{ send: '220 scanner.example.test ESMTP' }, { expect: true }], implicitTls: certs.leaf, onlyTls: 'TLSv1' });
    modernTls = await startScriptedServer({ script: [{ send: '* OK IMAP4rev1 ready' }, { expect: true }], implicitTls: certs.selfSigned });
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
    // The Mail flow overview is the first screen; these steps start on Mailboxes.
    await page.evaluate(() => (location.hash = '#/mailboxes'));
  }, 90_000);

  afterAll(async () => {
    await browserHandle?.close();
    await consoleHandle?.close();
    await smtp?.stop();
    await dovecot?.stop();
    await oldTls?.stop();
    await modernTls?.stop();
    certs?.remove();
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

  it('shows the negotiated TLS version and cipher on the encryption step, and names a server that speaks only TLS 1.0', async () => {
    const run = async (protocol: string, port: number) => {
      await page.locator('select[name="protocol"]').selectOption(protocol);
      await page.locator('select[name="security"]').selectOption('tls');
      await page.locator('input[name="host"]').fill('127.0.0.1');
      await page.locator('input[name="port"]').fill(String(port));
      await page.locator('input[name="user"]').fill('support@example.test');
      await page.locator('input[name="secret"]').fill(PASSWORD);
      await page.getByRole('button', { name: 'Run test' }).click();
    };

    // A current server: TLS 1.3 and its cipher in green on the tls step (the certificate is what fails here).
    await run('imap', modernTls.port);
    const imapCard = page.locator('section[data-protocol="imap"]');
    await expect.poll(() => imapCard.locator('[data-diagnosis]').getAttribute('data-diagnosis').catch(() => null), { timeout: 30_000 }).toBe('TLS_CERT_UNTRUSTED');
    const good = imapCard.locator('li[data-step="tls"] [data-tls="supported"]');
    expect(await good.textContent()).toMatch(/^TLS 1\.3TLS_AES_(128|256)_GCM_SHA(256|384)$/);
    expect(await good.locator('[data-status="success"]').count()).toBe(1);
    await screenshot(page, 'connection-test-tls-version');

    // The old server: refused in red, with the version and cipher it offered.
    await run('smtp', oldTls.port);
    const smtpCard = page.locator('section[data-protocol="smtp"]');
    await expect.poll(() => smtpCard.locator('[data-diagnosis]').getAttribute('data-diagnosis').catch(() => null), { timeout: 30_000 }).toBe('TLS_VERSION_UNSUPPORTED');
    const tlsStep = smtpCard.locator('li[data-step="tls"]');
    expect(await tlsStep.getAttribute('data-status')).toBe('failed');
    const refused = tlsStep.locator('[data-tls="refused"]');
    expect(await refused.locator('[data-status="error"]').textContent()).toBe('TLS 1.0 refused');
    expect(await refused.textContent()).toContain('TLS_ECDHE_');
    expect(await tlsStep.textContent()).toContain('Mailroom requires TLS 1.2 or later');
    expect(await smtpCard.textContent()).toContain('upgraded or reconfigured');
    expect(await smtpCard.locator('li[data-step="greeting"]').getAttribute('data-status')).toBe('skipped');

    // Layout: the badge sits inside the step row, under the step's name, and inside the card.
    const row = await tlsStep.boundingBox();
    const badge = await refused.boundingBox();
    const card = await smtpCard.boundingBox();
    expect(row && badge && card).toBeTruthy();
    expect(badge!.y).toBeGreaterThanOrEqual(row!.y);
    expect(badge!.y + badge!.height).toBeLessThanOrEqual(row!.y + row!.height);
    expect(badge!.x + badge!.width).toBeLessThanOrEqual(card!.x + card!.width);
    // axe-core (what @axe-core/playwright runs), on the result card with the new badges.
    // Evaluated through the DevTools protocol: the console's CSP (rightly) refuses injected script tags.
    await page.evaluate(fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8'));
    const violations = await page.evaluate(async () => {
      const result = await (window as unknown as { axe: { run(context: unknown): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe.run({ include: [['section[data-protocol="smtp"]']] });
      return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    });
    expect(violations).toEqual([]);
    await screenshot(page, 'connection-test-old-tls');

    // At 1024x768 too: every input stays inside the form, every result badge inside its card, nothing covers the step icons.
    for (const viewport of [{ width: 1280, height: 800 }, { width: 1024, height: 768 }]) {
      await page.setViewportSize(viewport);
      const form = (await page.locator('form').first().boundingBox())!;
      for (const name of ['host', 'port', 'user', 'from', 'adhocTo']) {
        const input = (await page.locator(`input[name="${name}"]:visible`).boundingBox())!;
        expect(input.x + input.width, `${name} at ${viewport.width}`).toBeLessThanOrEqual(form.x + form.width);
      }
      const historyCard = (await page.getByRole('region', { name: 'Recent results' }).boundingBox())!;
      for (const badge of await page.getByRole('table', { name: 'Recent results' }).locator('[data-status]').all()) {
        const box = (await badge.boundingBox())!;
        expect(box.x + box.width).toBeLessThanOrEqual(historyCard.x + historyCard.width);
      }
      const icon = (await tlsStep.locator('svg').first().boundingBox())!;
      expect(icon.x).toBeGreaterThan(form.x + form.width);
      // The result card, its status and the step timings stay inside the window.
      const resultCard = (await smtpCard.boundingBox())!;
      expect(resultCard.x + resultCard.width).toBeLessThanOrEqual(viewport.width);
      const timing = (await tlsStep.locator('span').last().boundingBox())!;
      expect(timing.x + timing.width).toBeLessThanOrEqual(viewport.width);
    }
    await screenshot(page, 'connection-test-old-tls-1024');
    await page.setViewportSize({ width: 1280, height: 800 });
  });
});
