/**
 * End to end: Debian chromium on the browser console. The Mail flow overview
 * is the first screen: the summary line, one row per mailbox with its state
 * and reason, a row opens its explanation and probe settings, and the
 * round-trip chart (drawn by @fluentui/react-charts) shows 24 hours and 7
 * days of probe history with the failures marked. Screenshots at 1280x800
 * and 1024x768 (test-results/screenshots/health-*.png), axe-core clean.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, screenshot, type BrowserHandle } from '../helpers/browser';
import { startTestConsole, type ConsoleHandle } from '../helpers/console';

let consoleHandle: ConsoleHandle;
let browserHandle: BrowserHandle;
let page: Page;
let dataDir: string;
const HOUR = 3600_000;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-e2e-health-'));
  consoleHandle = await startTestConsole(dataDir);
  const engine = consoleHandle.engine;
  const smtp = { host: '127.0.0.1', security: 'none' as const };
  const imap = { host: '127.0.0.1', port: 1, security: 'none' as const };
  const support = engine.mailboxes.create({ name: 'Support', address: 'support@example.test', preset: 'generic', imap, smtp, password: 'x-Pa55word' });
  const billing = engine.mailboxes.create({ name: 'Billing', address: 'billing@example.test', preset: 'generic', imap, smtp, password: 'x-Pa55word' });
  engine.mailboxes.create({ name: 'Sales', address: 'sales@contoso.example', preset: 'microsoft365', imap: { ...imap, auth: 'oauth2' }, smtp: { ...smtp, auth: 'oauth2' } });
  engine.mailboxes.create({ name: 'Archive', address: 'archive@example.test', preset: 'generic', enabled: false, imap, smtp, password: 'x-Pa55word' });
  // A week of round trips: Support every 30 minutes (a few failed, one in Junk), Billing every 2 hours.
  const repo = engine.health.repo;
  const now = Date.now();
  let n = 0;
  for (let t = now - 7 * 24 * HOUR + HOUR; t < now - 60_000; t += 30 * 60_000) {
    n++;
    const total = 4_000 + ((n * 7919) % 23_000);
    const failed = n % 47 === 0;
    const junk = n % 101 === 0;
    const id = repo.startProbe({ mailboxId: support.id, token: `t-${n}`, trigger: 'schedule', target: support.address, startedAt: t, pid: 1 });
    repo.finishProbe(id, {
      status: failed || junk ? 'failed' : 'delivered',
      finishedAt: t + total,
      sendMs: failed ? null : 600,
      deliverMs: failed ? null : total - 600,
      totalMs: failed ? null : total,
      folder: failed ? null : junk ? 'Junk' : 'INBOX',
      diagnosis: failed ? { code: 'PROBE_NOT_DELIVERED', message: 'Not delivered within 600 s.', hint: 'Look at the queue.' } : junk ? { code: 'PROBE_IN_JUNK', message: 'In Junk.', hint: 'Allow the sender.' } : null,
    });
    if (n % 4 === 0) {
      const bid = repo.startProbe({ mailboxId: billing.id, token: `b-${n}`, trigger: 'schedule', target: billing.address, startedAt: t + 60_000, pid: 1 });
      repo.finishProbe(bid, { status: 'delivered', finishedAt: t + 70_000, sendMs: 400, deliverMs: 9_600, totalMs: 10_000 + (n % 9) * 1_000, folder: 'INBOX', diagnosis: null });
    }
  }
  // Billing's receive fails three times in a row.
  engine.db.prepare('INSERT INTO inbox_state (mailbox_id, consecutive_failures, last_error_code, last_error_message, last_error_at, last_try_at, last_success_at) VALUES (?, 3, ?, ?, ?, ?, ?)').run(billing.id, 'AUTH_FAILED', 'The server refused the password.', now - 5 * 60_000, now - 5 * 60_000, now - 2 * HOUR);
  engine.db.prepare('INSERT INTO inbox_state (mailbox_id, consecutive_failures, last_success_at, last_try_at) VALUES (?, 0, ?, ?)').run(support.id, now - 90_000, now - 90_000);
  // The running engine records the states (the screen only reads them).
  engine.health.overview();
  browserHandle = await launchBrowser();
  page = await (await browserHandle.browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(consoleHandle.server.url);
}, 120_000);

afterAll(async () => {
  await browserHandle?.close();
  await consoleHandle?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

async function axeViolations(): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  // Tabster's focus sentinels (<i data-tabster-dummy aria-hidden tabindex=0>, around Fluent's tab lists and the
  // chart's legend) hand focus on at once: the same exclusion as screen-checks.ts. Every other node counts.
  return result.violations
    .map((v) => ({ id: v.id, nodes: v.id === 'aria-hidden-focus' ? v.nodes.filter((n) => !n.html.includes('data-tabster-dummy')) : v.nodes }))
    .filter((v) => v.nodes.length)
    .map((v) => `${v.id}: ${v.nodes.map((node) => node.target.join(' ')).join(', ')}`);
}

describe('Mail flow overview in the browser console', () => {
  it('is the first screen: the summary line and one row per mailbox with its state and reason', async () => {
    await page.getByTestId('health-summary').getByText(/of 3 mailboxes healthy/).waitFor();
    const summary = await page.getByTestId('health-summary').innerText();
    expect(summary).toMatch(/^1 of 3 mailboxes healthy \(1 disabled\); Billing: failing since \d\d:\d\d; Sales: sign-in needed since/);
    expect(await page.locator('[aria-current="page"]').innerText()).toBe('Mail flow');
    const row = (name: string) => page.locator(`tr[data-health-mailbox="${name}"]`);
    expect(await row('Support').innerText()).toMatch(/Healthy/);
    expect(await row('Billing').innerText()).toMatch(/Failing[\s\S]*The last 3 receives failed: AUTH_FAILED/);
    expect(await row('Sales').innerText()).toMatch(/Sign-in needed/);
    expect(await row('Archive').innerText()).toMatch(/Disabled/);
    await page.locator('svg path').first().waitFor();
    await screenshot(page, 'health-overview');
    expect(await axeViolations()).toEqual([]);
  }, 60_000);

  it('draws the round-trip chart for 24 hours and 7 days, failures marked', async () => {
    const chart = page.locator('[data-region="main"]');
    const day = await chart.getByTestId('chart-counts').innerText();
    expect(day).toMatch(/^\d+ failed; delivered round trips averaged per 7 min$/);
    // Lines of both mailboxes in the legend, drawn as SVG by the chart library.
    await chart.getByText('Support', { exact: true }).first().waitFor();
    await chart.getByText('Billing', { exact: true }).first().waitFor();
    await chart.getByRole('tab', { name: 'Last 7 days' }).click();
    await chart.getByText(/Failed \(\d+\)/).first().waitFor();
    const week = await chart.getByTestId('chart-counts').innerText();
    expect(week).toMatch(/averaged per 50 min$/);
    expect(Number(week.match(/^\d+/)![0])).toBeGreaterThanOrEqual(5);
    // Averaged on the server: at most about 200 points per mailbox, every failure kept.
    const week7 = await consoleHandle.engine.health.chartProbes(Date.now() - 7 * 24 * HOUR);
    expect(week7.filter((p) => p.status === 'delivered').length).toBeLessThanOrEqual(2 * 205);
    expect(week7.filter((p) => p.status === 'failed').length).toBe(Number(week.match(/^\d+/)![0]));
    // The chart fits its card.
    const box = (await chart.boundingBox())!;
    const svg = (await chart.locator('svg').first().boundingBox())!;
    expect(svg.x + svg.width).toBeLessThanOrEqual(box.x + box.width + 1);
    await chart.scrollIntoViewIfNeeded();
    await screenshot(page, 'health-chart-week');
  });

  it('a row opens what explains it: the reasons, the probe settings, the link', async () => {
    await page.locator('tr[data-health-mailbox="Billing"]').click();
    const detail = page.locator('[data-region="detail"]');
    await detail.getByRole('heading', { name: 'Billing' }).waitFor();
    expect(await detail.innerText()).toMatch(/The last 3 receives failed/);
    expect(await detail.getByRole('switch').isChecked()).toBe(false);
    await page.locator('tr[data-health-mailbox="Support"]').click();
    await detail.getByRole('heading', { name: 'Support' }).waitFor();
    // Probes on: saved and shown.
    await detail.getByRole('switch').click();
    await detail.getByText(/On: every 15 min/).waitFor();
    expect(consoleHandle.engine.health.probeSettings(consoleHandle.engine.mailboxes.resolve('Support').id).enabled).toBe(true);
    await page.setViewportSize({ width: 1024, height: 768 });
    await page.locator('tr[data-health-mailbox="Sales"]').click();
    await detail.getByRole('button', { name: 'Open the sign-in' }).waitFor();
    await screenshot(page, 'health-detail-1024');
    expect(await axeViolations()).toEqual([]);
    await detail.getByRole('button', { name: 'Open the sign-in' }).click();
    await page.waitForFunction(() => location.hash.startsWith('#/mailboxes/'));
  }, 90_000);

  it('the browser console notifies where the admin allowed it: a mailbox turning Failing, once', async () => {
    const context = await browserHandle.browser.newContext({ viewport: { width: 1280, height: 800 }, permissions: ['notifications'] });
    // Records what the page shows through the browser's Notification API (headless Chromium draws none).
    await context.addInitScript(() => {
      const shown: { title: string; body: string }[] = [];
      (window as unknown as { shownNotifications: typeof shown }).shownNotifications = shown;
      const Real = window.Notification;
      class Recording extends Real {
        constructor(title: string, options?: NotificationOptions) {
          super(title, options);
          shown.push({ title, body: options?.body ?? '' });
        }
      }
      Object.defineProperty(window, 'Notification', { value: Recording });
    });
    const second = await context.newPage();
    try {
      await second.goto(consoleHandle.server.url);
      await second.getByTestId('notifications-on').waitFor();
      // Billing is failing and Sales needs a sign-in at the first look: one notification each.
      await expect.poll(() => second.evaluate(() => (window as unknown as { shownNotifications: { title: string }[] }).shownNotifications.map((n) => n.title).sort())).toEqual(['Billing: Failing', 'Sales: Sign-in needed']);
      // A refresh with the same states shows nothing new.
      await Promise.all([second.waitForResponse((r) => r.url().endsWith('/api/invoke') && (r.request().postData() ?? '').includes('"health.overview"')), second.getByRole('button', { name: 'Refresh' }).click()]);
      await second.getByTestId('health-summary').getByText(/of 3 mailboxes healthy/).waitFor();
      expect(await second.evaluate(() => (window as unknown as { shownNotifications: unknown[] }).shownNotifications.length)).toBe(2);
    } finally {
      await context.close();
    }
  }, 60_000);
});
