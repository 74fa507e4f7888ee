/**
 * End to end: Debian chromium opens the browser console's Site setup screen,
 * picks a version and reads the checklist, checks a real web.config on disk,
 * reviews the diff, saves with a backup, copies the registry SQL, and saves
 * screenshots in both themes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type BrowserHandle } from '../helpers/browser';
import { startTestConsole, type ConsoleHandle } from '../helpers/console';
import { ROOT } from '../helpers/paths';

const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'webconfig', 'superoffice-no-toggle.config');

describe('site setup screen in the browser console', () => {
  let browserHandle: BrowserHandle;
  let consoleHandle: ConsoleHandle;
  let page: Page;
  let dataDir: string;
  let siteDir: string;
  let webConfig: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-e2e-site-'));
    siteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-e2e-iis-'));
    webConfig = path.join(siteDir, 'web.config');
    fs.copyFileSync(FIXTURE, webConfig);
    consoleHandle = await startTestConsole(dataDir);
    browserHandle = await launchBrowser();
    page = await browserHandle.browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(10_000);
  });

  afterAll(async () => {
    await browserHandle?.close();
    await consoleHandle?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(siteDir, { recursive: true, force: true });
  });

  it('shows the checklist for the picked version', async () => {
    await page.goto(consoleHandle.server.url);
    await page.getByRole('button', { name: 'Site setup' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Site setup' }).count()).toBe(1);
    await expect.poll(() => page.getByText('Choose or type the installed version').count()).toBe(1);

    await page.getByRole('combobox', { name: 'Version range' }).selectOption('9.2-r10');
    const oauth = page.locator('tr[data-item="oauth-microsoft-365"]');
    await expect.poll(() => oauth.count()).toBe(1);
    expect(await oauth.getAttribute('data-status')).toBe('action');
    expect(await oauth.textContent()).toContain('Needs the feature toggle');
    expect(await oauth.textContent()).toContain('Action needed');
    expect(await page.locator('tr[data-item="address-recognition"]').textContent()).toContain('Applies');
    expect(await page.locator('tr[data-item="serial-number"]').textContent()).toContain('app passwords');
  });

  it('names the same versions for the toggle in the picker, the checklist and the web.config panel', async () => {
    // One version table (the source document: a pilot behind the toggle from G9 9.2 R10, generally available with 10.0.3).
    expect(await page.getByRole('combobox', { name: 'Version range' }).locator('option:checked').textContent()).toBe('G9 9.2 R10 to 10.0.2');
    const oauth = (await page.locator('tr[data-item="oauth-microsoft-365"]').textContent()) ?? '';
    expect(oauth).toContain('From G9 9.2 R10 to 10.0.2, OAuth 2.0 for Microsoft 365 is a pilot feature');
    expect(oauth).not.toContain('up to 10.0.3');
    const panel = (await page.locator('section[aria-labelledby="site-webconfig-title"]').textContent()) ?? '';
    expect(panel).toContain('G9 9.2 R10 to 10.0.2 needs this toggle for OAuth 2.0 with Microsoft 365; from 10.0.3 it is not needed.');
  });

  it('understands a typed version and explains an ambiguous one', async () => {
    const typed = page.getByRole('textbox', { name: 'Or type it' });
    await typed.fill('10.1');
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await expect.poll(() => page.getByRole('alert').filter({ hasText: 'SITE_VERSION_AMBIGUOUS' }).count()).toBe(1);
    expect(await page.getByRole('alert').filter({ hasText: 'SITE_VERSION_AMBIGUOUS' }).textContent()).toContain('10.1.4 or 10.1.5');
    await typed.fill('10.1.5');
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await expect.poll(() => page.locator('tr[data-item="address-recognition"]').getAttribute('data-status')).toBe('not-needed');
    // Back to the version that needs the toggle, for the rest of the walk-through.
    await page.getByRole('combobox', { name: 'Version range' }).selectOption('9.2-r10');
    await expect.poll(() => page.locator('tr[data-item="oauth-microsoft-365"]').getAttribute('data-status')).toBe('action');
  });

  it('checks a web.config, shows the diff, and saves it after a confirmation naming the backup', async () => {
    const before = fs.readFileSync(webConfig);
    await page.locator('tr[data-item="oauth-microsoft-365"]').getByRole('button', { name: 'Check web.config' }).click();
    await page.getByRole('textbox', { name: 'Path of web.config' }).fill(webConfig);
    await page.getByRole('button', { name: 'Check', exact: true }).click();

    const newAuth = page.locator('tr[data-part="new-authentication"]');
    await expect.poll(() => newAuth.getAttribute('data-state')).toBe('missing');
    expect(await page.locator('tr[data-part="section-group"]').getAttribute('data-state')).toBe('present');
    const diff = page.getByRole('region', { name: 'Diff of web.config' });
    await expect.poll(() => diff.locator('tr[data-kind="add"]').count()).toBe(8);
    expect(await diff.textContent()).toContain('<add key="NewAuthentication" value="True" />');
    // Checking wrote nothing.
    expect(fs.readFileSync(webConfig).equals(before)).toBe(true);

    await diff.scrollIntoViewIfNeeded();
    await screenshot(page, 'site-setup-diff');
    await page.getByRole('button', { name: 'Save changes…' }).click();
    const dialog = page.getByRole('dialog');
    await expect.poll(() => dialog.isVisible()).toBe(true);
    // Before the write the dialog names the backup by its pattern only: a name computed here from
    // another reading of the clock named a file other than the one written (issue 13).
    expect(await dialog.textContent()).toContain('web.config.mailroom-YYYYMMDD-HHMMSS.bak');
    expect(await dialog.textContent()).not.toMatch(/mailroom-\d{8}-\d{6}\.bak/);
    expect(await dialog.textContent()).toContain(siteDir);
    await dialog.getByRole('button', { name: 'Back up and save' }).click();

    const saved = page.getByRole('status').filter({ hasText: 'Saved' });
    await expect.poll(() => saved.count()).toBe(1);
    await expect.poll(() => newAuth.getAttribute('data-state')).toBe('present');
    expect(await page.getByText('Toggle is on').count()).toBe(1);

    const backups = fs.readdirSync(siteDir).filter((f) => f.endsWith('.bak'));
    expect(backups).toHaveLength(1);
    expect(await saved.textContent()).toContain(backups[0]);
    expect(fs.readFileSync(path.join(siteDir, backups[0]!)).equals(before)).toBe(true);
    expect(fs.readFileSync(webConfig, 'utf8')).toContain('<add key="NewAuthentication" value="True" />');
    // The change is in the activity log.
    expect(consoleHandle.engine.log.query({}, 10).some((e) => e.message.includes('web.config changed'))).toBe(true);
  });

  it('offers the registry SQL with the schema found in web.config', async () => {
    const card = page.locator('section[aria-labelledby="site-registry-title"]');
    const set = card.locator('[data-statement="set"] pre');
    const table = card.getByRole('textbox', { name: 'Table (schema.table)' });
    await table.fill('dbo.registry');
    await expect.poll(() => set.textContent()).toContain('UPDATE dbo.registry');
    // The TablePrefix read from the checked web.config is offered as the schema.
    await card.getByRole('button', { name: 'Use crm7.registry from web.config' }).click();
    expect(await table.inputValue()).toBe('crm7.registry');
    await expect.poll(() => set.textContent()).toContain('UPDATE crm7.registry');
    expect(await set.textContent()).toContain("SET [value] = '0'");
    await table.fill('crm7.registry; DROP TABLE x');
    await expect.poll(() => card.getByRole('alert').textContent()).toContain('VALIDATION_FAILED');
    await table.fill('crm7.registry');
    await card.getByRole('radio', { name: "'2': do not use cURL" }).check();
    await expect.poll(() => set.textContent()).toContain("SET [value] = '2'");
    await card.getByRole('radio', { name: "'0': use cURL mail" }).check();
    await expect.poll(() => set.textContent()).toContain("SET [value] = '0'");
  });

  it('saves screenshots at 1280x800 in light and dark themes', async () => {
    await page.evaluate(() => document.querySelector('main')?.scrollTo(0, 0));
    const file = await screenshot(page, 'site-setup');
    expect(fs.statSync(file).size).toBeGreaterThan(10_000);
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
    await page.locator('section[aria-labelledby="site-webconfig-title"]').scrollIntoViewIfNeeded();
    const dark = await screenshot(page, 'site-setup-dark');
    expect(fs.statSync(dark).size).toBeGreaterThan(10_000);
    await page.getByRole('button', { name: 'Switch to light theme' }).click();
  });
});
