/**
 * 1,200 generated malformed messages (broken MIME boundaries, bad
 * encodings, huge headers, 8-bit garbage, empty bodies, odd structure) in
 * a private Dovecot: one poll imports them all without a crash, every one
 * is recorded and logged, the unreadable ones are kept raw as failed (not
 * retried), and each stored copy still carries its marker. The same corpus
 * goes through the POP3 import too (Dovecot's POP3 service, another user).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInboxEngine, type InboxEngine } from '../../src-main/engine/inbox/open-inbox';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { generateMalformedCorpus, type MalformedMessage } from '../fixtures/malformed/generate';

const USER = 'corpus@example.test';
const POP3_USER = 'corpus-pop3@example.test';
const PASSWORD = 'corpus-pass';
const COUNT = 1200;

let dovecot: Dovecot;
let engine: InboxEngine;
let dataDir: string;
let corpus: MalformedMessage[];

/** Delivers raw bytes the Maildir way (tmp, then rename into new), as a mail server's delivery agent does. */
function deliver(user: string, raws: Buffer[]): void {
  const mailDir = path.join(dovecot.baseDir, 'mail', user);
  raws.forEach((raw, i) => {
    const name = `${Date.now()}.M${i}P${process.pid}R${crypto.randomBytes(3).toString('hex')}.corpus`;
    const tmp = path.join(mailDir, 'tmp', name);
    fs.writeFileSync(tmp, raw);
    if (process.getuid?.() === 0) fs.chownSync(tmp, 65534, 65534);
    fs.renameSync(tmp, path.join(mailDir, 'new', name));
  });
}

beforeAll(async () => {
  corpus = generateMalformedCorpus(COUNT);
  dovecot = await startDovecot({ users: { [USER]: PASSWORD, [POP3_USER]: PASSWORD }, pop3: true });
  deliver(USER, corpus.map((m) => m.raw));
  deliver(POP3_USER, corpus.map((m) => m.raw));
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-corpus-'));
  engine = openInboxEngine({ dataDir, keyProvider: staticKeyProvider(crypto.randomBytes(32)) });
});

afterAll(async () => {
  await engine?.close();
  await dovecot?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('malformed corpus', () => {
  it('imports 1,200 malformed messages without a crash, recording and logging each one', async () => {
    const m = engine.mailboxes.create({ name: 'Corpus', address: USER, preset: 'generic', imap: { host: '127.0.0.1', port: dovecot.port, security: 'none', afterImport: 'mark-seen' }, smtp: { host: '127.0.0.1', security: 'none' }, password: PASSWORD });
    await importsTheCorpus(m.id);
  }, 240_000);

  it('imports the same 1,200 messages over POP3, recording and logging each one', async () => {
    const m = engine.mailboxes.create({
      name: 'Corpus POP3',
      address: POP3_USER,
      preset: 'generic',
      receiveVia: 'pop3',
      imap: { host: '127.0.0.1', security: 'none' },
      pop3: { host: '127.0.0.1', port: dovecot.pop3Port, security: 'none' },
      smtp: { host: '127.0.0.1', security: 'none' },
      password: PASSWORD,
    });
    await importsTheCorpus(m.id);
  }, 240_000);
});

async function importsTheCorpus(mailboxId: number): Promise<void> {
  const poll = await engine.inbox.pollNow(mailboxId);
  expect(poll).toMatchObject({ outcome: 'ok', code: null, fetched: COUNT });
  expect(poll.imported + poll.duplicates + poll.failed).toBe(COUNT);
  expect(poll.failed).toBeGreaterThan(0);

  const rows = [];
  for (let page = engine.inbox.list({ mailboxId, limit: 500 }), guard = 0; guard < 10; guard++) {
    rows.push(...page.messages);
    if (page.nextBeforeId === null) break;
    page = engine.inbox.list({ mailboxId, limit: 500, beforeId: page.nextBeforeId });
  }
  expect(rows).toHaveLength(COUNT);
  expect(new Set(rows.map((r) => r.uid)).size).toBe(COUNT);

  // One activity log entry per message, pointing at its row.
  const logged = engine.db.prepare("SELECT ref_id, level, code FROM log_entries WHERE ref_kind = 'inbox' AND mailbox_id = ?").all(mailboxId) as { ref_id: number; level: string; code: string | null }[];
  expect(new Set(logged.map((l) => l.ref_id))).toEqual(new Set(rows.map((r) => r.id)));
  for (const l of logged.filter((x) => x.level === 'error')) expect(l.code).toMatch(/^MESSAGE_(PARSE_FAILED|PARSE_TIMEOUT|EMPTY|NO_HEADERS)$/);

  // Failed ones are kept raw, say why, and are not tried again.
  const failed = rows.filter((r) => r.status === 'failed');
  expect(failed.length).toBe(poll.failed);
  for (const f of failed) {
    expect(f.error).toBeTruthy();
    expect(engine.inbox.rawBytes(f.id).length).toBe(f.size);
  }

  // Every stored copy still holds its marker (the server may turn bare LF into CRLF, nothing else).
  const markers = new Map<string, MalformedMessage>(corpus.filter((c) => c.hasMarker).map((c) => [`corpus-${c.n}`, c]));
  const found = new Set<string>();
  for (const row of rows.filter((r) => r.status !== 'duplicate')) {
    const raw = engine.inbox.rawBytes(row.id).toString('latin1');
    const marker = /corpus-\d+/.exec(raw)?.[0];
    if (marker) found.add(marker);
  }
  for (const marker of markers.keys()) expect(found.has(marker), marker).toBe(true);

  // Nothing is left to do: a second poll finds nothing and retries nothing.
  const again = await engine.inbox.pollNow(mailboxId);
  expect(again).toMatchObject({ outcome: 'ok', fetched: 0, imported: 0, failed: 0 });
}
