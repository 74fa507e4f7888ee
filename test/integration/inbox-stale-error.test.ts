/**
 * A last error that a later poll resolved does not read as current (issue 13
 * item 5): against a private Dovecot, a poll with the wrong password fails,
 * the password is fixed and the next poll works; `mailroom inbox status`
 * (human and --json) and a diagnostics bundle's summary.html give the error's
 * age and the poll that resolved it.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { runCli } from '../helpers/cli';
import { tempDir } from '../helpers/temp';
import { readBundle } from '../../src-main/engine/diagnostics/bundle';
import { openMailroom } from '../../src-main/engine/mailroom';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { ageWords, lastErrorWhen } from '../../src-main/shared/error-age';
import fs from 'node:fs';
import yauzl from 'yauzl';

const USER = 'stale@example.test';
const PASSWORD = 'Stale-Err0r-Pa55';
const KEY = crypto.randomBytes(32);
let dovecot: Dovecot;

beforeAll(async () => {
  dovecot = await startDovecot({ users: { [USER]: PASSWORD }, messages: [{ user: USER, raw: 'From: a@example.test\r\nTo: stale@example.test\r\nSubject: Hello\r\nMessage-ID: <stale-1@example.test>\r\n\r\nHi.\r\n' }] });
});

afterAll(async () => {
  await dovecot?.stop();
});

async function summaryHtml(zip: string): Promise<string> {
  return new Promise((resolve, reject) => {
    yauzl.open(zip, { lazyEntries: true }, (error, file) => {
      if (error || !file) return reject(error);
      file.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName !== 'summary.html') return file.readEntry();
        file.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        });
      });
      file.readEntry();
    });
  });
}

describe('a resolved last error', () => {
  it('reads its age and the poll that resolved it in inbox status and the bundle summary', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const engine = openMailroom({ dataDir, keyProvider: staticKeyProvider(KEY) });
    const imap = { host: '127.0.0.1', port: dovecot.port, security: 'none' as const };
    const m = engine.mailboxes.create({ name: 'Desk', address: USER, preset: 'generic', imap, smtp: { host: '127.0.0.1', port: 25, security: 'none' }, password: 'wrong-password' });
    expect((await engine.inbox.pollNow(m.id)).outcome).toBe('failed');
    const failed = engine.inbox.states().find((s) => s.mailboxId === m.id)!;
    expect(failed.lastError?.code).toBe('AUTH_FAILED');
    engine.mailboxes.update({ id: m.id, password: PASSWORD });
    expect((await engine.inbox.pollNow(m.id)).outcome).toBe('ok');
    const state = engine.inbox.states().find((s) => s.mailboxId === m.id)!;
    expect(state.health).toBe('healthy');
    expect(state.lastSuccessAt!).toBeGreaterThan(state.lastError!.at);

    // Polls that find nothing new are one entry with a count, not a line each (issue 13 item 11).
    for (let i = 0; i < 3; i++) expect((await engine.inbox.pollNow(m.id)).fetched).toBe(0);
    const quiet = engine.log.query({ mailboxId: m.id, direction: 'receive' }, 50).filter((l) => l.message === 'Polled INBOX (manual): nothing new.');
    expect(quiet).toMatchObject([{ repeats: 3, level: 'info' }]);
    expect(quiet[0]!.firstAt).toBeLessThanOrEqual(quiet[0]!.at);
    expect(quiet[0]!.detail).toMatch(/^0 fetched, 0 imported, .* in \d+ ms\.$/);
    const latest = engine.inbox.states().find((s) => s.mailboxId === m.id)!;

    const bundle = (await engine.diagnostics.createBundle(path.join(dataDir, 'b.zip'), { runtime: 'cli' })).path;
    engine.close();
    const html = await summaryHtml(bundle);
    expect(html).toMatch(/Desk: healthy, last poll worked [^;]+; last error AUTH_FAILED at \S+ \(just now, resolved by the poll at \S+\)/);
    expect((await readBundle(fs.readFileSync(bundle))).manifest.sections).toContain('inbox');

    const env = { MAILROOM_SECRET_KEY: KEY.toString('hex') };
    const json = await runCli(['inbox', 'status', '--data-dir', dataDir, '--json'], { env });
    expect(json.code).toBe(0);
    const row = (json.json as { mailboxName: string; health: string; lastError: { code: string; resolved: boolean; resolvedAt: number; age: string } }[]).find((r) => r.mailboxName === 'Desk')!;
    expect(row).toMatchObject({ health: 'healthy', lastError: { code: 'AUTH_FAILED', resolved: true, resolvedAt: latest.lastSuccessAt, age: 'just now' } });

    const human = await runCli(['inbox', 'status', '--data-dir', dataDir], { env });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/Desk\s+healthy\s+.*AUTH_FAILED .*\(just now, resolved by the poll at \d{4}-\d\d-\d\d \d\d:\d\d\)/);
  }, 60_000);

  it('tells an error\'s age in words, and says nothing resolved it while no later success came', () => {
    const at = Date.UTC(2026, 0, 15, 11, 0, 0);
    expect(ageWords(at, at + 30_000)).toBe('just now');
    expect(ageWords(at, at + 5 * 60_000)).toBe('5 min ago');
    expect(ageWords(at, at + 3 * 3600_000 + 59_000)).toBe('3 h ago');
    expect(ageWords(at, at + 2 * 86_400_000)).toBe('2 days ago');
    const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
    expect(lastErrorWhen({ at }, at + 3 * 3600_000, at + 3 * 3600_000 + 60_000, hhmm)).toBe('3 h ago, resolved by the poll at 14:00');
    expect(lastErrorWhen({ at }, at - 60_000, at + 3 * 3600_000, hhmm)).toBe('3 h ago');
    expect(lastErrorWhen({ at }, null, at + 3 * 3600_000, hhmm)).toBe('3 h ago');
  });
});
