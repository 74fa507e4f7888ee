/** The activity log: keyset pages, filters, live tail, retention, exports. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import ExcelJS from 'exceljs';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { exportLogs, describeFilter, localTimestamp } from '../../src-main/engine/log-export';
import { tempDir } from '../helpers/temp';
import { seedLog } from '../helpers/log-seed';

let engine: Mailroom;
let dir: string;

beforeEach(() => {
  dir = tempDir();
  engine = openMailroom({ dataDir: dir, keyProvider: staticKeyProvider(crypto.randomBytes(32)) });
});
afterEach(() => engine.close());

describe('writing and reading', () => {
  it('stores an entry with its mailbox name and announces it', () => {
    const m = engine.mailboxes.create({ name: 'Support', address: 'support@gmail.com' });
    const seen: unknown[] = [];
    engine.events.on('logs.appended', (p) => seen.push(p));
    const entry = engine.log.write({ mailboxId: m.id, direction: 'send', level: 'error', code: 'AUTH_FAILED', message: 'Send failed', detail: '535 5.7.8' });
    expect(entry).toMatchObject({ mailboxId: m.id, mailboxName: 'Support', direction: 'send', level: 'error', code: 'AUTH_FAILED' });
    expect(seen).toEqual([entry]);
  });

  it('keeps entries, and their mailbox name, when the mailbox is deleted', () => {
    const m = engine.mailboxes.create({ name: 'Gone', address: 'gone@gmail.com' });
    engine.log.write({ mailboxId: m.id, direction: 'receive', level: 'success', message: 'Poll ok' });
    engine.mailboxes.remove(m.id);
    const [entry] = engine.log.query({});
    expect(entry).toMatchObject({ mailboxId: null, mailboxName: 'Gone' });
  });

  it('refuses an unknown direction or level at the store', () => {
    expect(() => engine.log.write({ direction: 'nowhere' as never, level: 'info', message: 'x' })).toThrow(/CHECK constraint/);
  });
});

describe('repeats of the same event', () => {
  const failure = (mailboxId: number, at: number) => ({ mailboxId, direction: 'receive' as const, level: 'error' as const, code: 'OAUTH_NOT_SIGNED_IN', message: 'Poll of INBOX failed: not signed in', detail: `at ${at}`, refKind: 'poll' as const, refId: at, at });

  it('collapse into one entry with a count and its first and last time, newest by id, announced each time', () => {
    const m = engine.mailboxes.create({ name: 'Contoso', address: 'support@contoso.onmicrosoft.com', preset: 'microsoft365' });
    const seen: { id: number; repeats: number }[] = [];
    engine.events.on('logs.appended', (e) => seen.push(e as { id: number; repeats: number }));
    const t0 = Date.UTC(2026, 0, 15, 9, 0, 0);
    for (let i = 0; i < 60; i++) engine.log.write(failure(m.id, t0 + i * 60_000));
    const entries = engine.log.query({ mailboxId: m.id });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ repeats: 60, firstAt: t0, at: t0 + 59 * 60_000, detail: `at ${t0 + 59 * 60_000}`, refId: t0 + 59 * 60_000 });
    expect(seen.map((e) => e.repeats)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(seen.at(-1)!.id).toBe(entries[0]!.id);
    // Other mailboxes' entries in between do not break a mailbox's run.
    const other = engine.mailboxes.create({ name: 'Desk', address: 'desk@gmail.com' });
    engine.log.write({ mailboxId: other.id, direction: 'send', level: 'success', message: 'Sent "Hello" to a@example.test' });
    engine.log.write(failure(m.id, t0 + 60 * 60_000));
    expect(engine.log.query({ mailboxId: m.id })).toMatchObject([{ repeats: 61, firstAt: t0 }]);
    expect(engine.log.count({})).toBe(2);
  });

  it('start a new entry after anything else of the mailbox, and never merge two different events', () => {
    const m = engine.mailboxes.create({ name: 'Desk', address: 'desk@gmail.com' });
    engine.log.write(failure(m.id, 1));
    engine.log.write(failure(m.id, 2));
    engine.log.write({ mailboxId: m.id, direction: 'receive', level: 'info', message: 'Resumed polling INBOX' });
    engine.log.write(failure(m.id, 3));
    // Same words about two different outbox messages are two events.
    engine.log.write({ mailboxId: m.id, direction: 'send', level: 'success', message: 'Sent "Hello" to a@example.test', refKind: 'outbox', refId: 10 });
    engine.log.write({ mailboxId: m.id, direction: 'send', level: 'success', message: 'Sent "Hello" to a@example.test', refKind: 'outbox', refId: 11 });
    // Another level or code is another event.
    engine.log.write({ mailboxId: m.id, direction: 'send', level: 'warning', message: 'Sent "Hello" to a@example.test', refKind: 'outbox', refId: 11 });
    expect(engine.log.query({ mailboxId: m.id }).map((e) => [e.message.slice(0, 14), e.repeats]).reverse()).toEqual([
      ['Poll of INBOX ', 2],
      ['Resumed pollin', 1],
      ['Poll of INBOX ', 1],
      ['Sent "Hello" t', 1],
      ['Sent "Hello" t', 1],
      ['Sent "Hello" t', 1],
    ]);
  });

  it('are exported with their count and first time', async () => {
    const m = engine.mailboxes.create({ name: 'Desk', address: 'desk@gmail.com' });
    const t0 = Date.UTC(2026, 0, 15, 9, 0, 0);
    for (let i = 0; i < 3; i++) engine.log.write(failure(m.id, t0 + i * 60_000));
    const file = path.join(dir, 'repeats.txt');
    await exportLogs(engine.log, { mailboxId: m.id }, 'txt', file);
    const [header, row] = fs.readFileSync(file, 'utf8').trimEnd().split('\r\n').slice(3);
    const columns = header!.split('\t');
    const cellsOf = row!.split('\t');
    expect(cellsOf[columns.indexOf('Times')]).toBe('3');
    expect(cellsOf[columns.indexOf('First time')]).toBe(localTimestamp(t0));
    expect(cellsOf[columns.indexOf('Time')]).toBe(localTimestamp(t0 + 120_000));
  });
});

describe('pages and filters', () => {
  beforeEach(() => {
    const a = engine.mailboxes.create({ name: 'A', address: 'a@gmail.com' });
    const b = engine.mailboxes.create({ name: 'B', address: 'b@gmail.com' });
    seedLog(engine, 1000, [a.id, b.id]);
  });

  it('pages newest first by keyset without gaps or repeats', () => {
    const seen: number[] = [];
    let beforeId: number | undefined;
    for (let i = 0; i < 20; i++) {
      const page = engine.log.page({}, beforeId, 150);
      seen.push(...page.entries.map((e) => e.id));
      if (page.nextBeforeId === null) break;
      beforeId = page.nextBeforeId;
    }
    expect(seen).toHaveLength(1000);
    expect(seen).toEqual([...seen].sort((x, y) => y - x));
    expect(new Set(seen).size).toBe(1000);
  });

  it('applies every filter in the store', () => {
    const a = engine.mailboxes.resolve('A').id;
    const errors = engine.log.query({ mailboxId: a, level: 'error' }, 10_000);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.mailboxId === a && e.level === 'error')).toBe(true);
    const byCode = engine.log.query({ code: 'SMTP_AUTH_DISABLED' }, 10_000);
    expect(byCode.every((e) => e.code === 'SMTP_AUTH_DISABLED')).toBe(true);
    const byText = engine.log.query({ text: 'SmtpClientAuthentication' }, 10_000);
    expect(byText.length).toBe(byCode.length);
    const now = Date.now();
    const recent = engine.log.query({ since: now - 864e5 }, 10_000);
    expect(recent.every((e) => e.at >= now - 864e5)).toBe(true);
    expect(recent.length).toBeLessThan(1000);
    expect(engine.log.count({ direction: 'send' })).toBe(engine.log.query({ direction: 'send' }, 10_000).length);
  });

  it('treats % and _ in the text filter literally', () => {
    engine.log.write({ direction: 'system', level: 'info', message: '100% done_now' });
    expect(engine.log.query({ text: '100%' }).map((e) => e.message)).toEqual(['100% done_now']);
    expect(engine.log.query({ text: '_now' }).map((e) => e.message)).toEqual(['100% done_now']);
    expect(engine.log.query({ text: '%%%' })).toEqual([]);
  });

  it('tails entries newer than an id, oldest first', () => {
    const newest = engine.log.query({}, 1)[0]!.id;
    engine.log.write({ direction: 'system', level: 'info', message: 'one' });
    engine.log.write({ direction: 'system', level: 'info', message: 'two' });
    expect(engine.log.query({ afterId: newest }).map((e) => e.message)).toEqual(['one', 'two']);
  });

  it('reads pages through the index, not by scanning the table', () => {
    const plan = engine.db
      .prepare("EXPLAIN QUERY PLAN SELECT * FROM log_entries WHERE mailbox_id = 1 AND level = 'error' AND id < 900 ORDER BY id DESC LIMIT 200")
      .all() as { detail: string }[];
    expect(plan.map((p) => p.detail).join(' ')).toMatch(/USING (INDEX|INTEGER PRIMARY KEY)/);
    expect(plan.map((p) => p.detail).join(' ')).not.toMatch(/USE TEMP B-TREE/);
  });
});

describe('retention', () => {
  it('keeps at most maxRows newest entries and nothing older than maxDays', async () => {
    seedLog(engine, 3000, [null], 200 * 864e5);
    engine.log.setRetention({ maxDays: 100, maxRows: 1000 });
    const removed = await engine.log.prune();
    expect(removed).toBe(2000);
    expect(engine.log.count({})).toBe(1000);
    engine.log.setRetention({ maxDays: 10, maxRows: 1000 });
    // The cutoff is taken from the clock when prune runs: never earlier than this.
    const beforePrune = Date.now();
    await engine.log.prune();
    const left = engine.log.query({}, 10_000);
    expect(left.every((e) => e.at >= beforePrune - 10 * 864e5)).toBe(true);
    expect(left[0]!.id).toBe(3000);
  });

  it('rejects retention values out of range and keeps the old ones', () => {
    engine.log.setRetention({ maxDays: 30, maxRows: 5000 });
    expect(() => engine.log.setRetention({ maxDays: 0, maxRows: 5000 })).toThrow();
    expect(engine.log.retention()).toEqual({ maxDays: 30, maxRows: 5000 });
  });
});

describe('exports', () => {
  beforeEach(() => {
    const a = engine.mailboxes.create({ name: 'Support <desk>', address: 'a@gmail.com' });
    seedLog(engine, 300, [a.id, null]);
    engine.log.write({ direction: 'system', level: 'error', message: 'Tricky <script>alert(1)</script> & "quotes"\tand a tab', detail: 'line one\nline two' });
  });

  it('writes Excel with one row per entry, a header, frozen, with level words', async () => {
    const file = path.join(dir, 'out', 'log.xlsx');
    const progress: number[] = [];
    const result = await exportLogs(engine.log, {}, 'xlsx', file, { onProgress: (w) => progress.push(w) });
    expect(result.rows).toBe(301);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(file);
    const sheet = wb.getWorksheet('Log')!;
    expect(sheet.rowCount).toBe(302);
    expect(sheet.getRow(1).values).toEqual([undefined, 'Time', 'Mailbox', 'Direction', 'Level', 'Code', 'Message', 'Description', 'Times', 'First time']);
    expect(String(sheet.getRow(2).getCell(6).value)).toContain('<script>');
    expect(progress[progress.length - 1]).toBe(301);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['log.xlsx']);
  });

  it('writes HTML with every value escaped and no script', async () => {
    const file = path.join(dir, 'log.html');
    await exportLogs(engine.log, { level: 'error' }, 'html', file);
    const html = fs.readFileSync(file, 'utf8');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;');
    expect(html).toContain('Support &lt;desk&gt;');
    expect(html).toContain('level error');
  });

  it('writes text with one line per entry', async () => {
    const file = path.join(dir, 'log.txt');
    const result = await exportLogs(engine.log, { direction: 'system' }, 'txt', file);
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\r\n');
    expect(lines.length).toBe(4 + result.rows);
    expect(lines.find((l) => l.includes('Tricky'))).toContain('line one | line two');
  });

  it('fails clearly and leaves no partial file when the target folder cannot be made', async () => {
    const blocker = path.join(dir, 'blocker');
    fs.writeFileSync(blocker, 'a file, not a folder');
    await expect(exportLogs(engine.log, {}, 'txt', path.join(blocker, 'x', 'log.txt'))).rejects.toMatchObject({ code: 'EXPORT_FAILED' });
  });

  it.each(['xlsx', 'html', 'txt'] as const)('rejects (never hangs) and leaves nothing when the %s file cannot be opened: its name is too long', async (format) => {
    // 5,000 rows: enough that exceljs has flushed to its stream before the error, where its commit() used to never settle.
    seedLog(engine, 5000, [null]);
    const file = path.join(dir, `${'a'.repeat(250)}.${format}`);
    await expect(exportLogs(engine.log, {}, format, file)).rejects.toMatchObject({ code: 'EXPORT_FAILED', message: expect.stringContaining('ENAMETOOLONG') });
    expect(fs.readdirSync(dir).filter((n) => n.startsWith('aaaa'))).toEqual([]);
  });

  it('describes its filter in words', () => {
    expect(describeFilter({})).toBe('all entries');
    expect(describeFilter({ level: 'error', direction: 'send', text: 'x' })).toBe('direction send, level error, text "x"');
  });
});
