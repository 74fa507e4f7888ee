/**
 * The inbox tables on a real SQLite file: a message is recorded once per
 * (mailbox, folder, UIDVALIDITY, UID), imported once per content, and keeps
 * its own bytes (stored once per distinct byte string), lists
 * page by keyset on indexes, the folder mark only moves up, stale actions
 * are skipped after a renumbering, deleting a mailbox keeps its messages,
 * and the receive state counts failures in a row.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openInboxEngine, type InboxEngine } from '../../src-main/engine/inbox/open-inbox';
import type { NewMessage } from '../../src-main/store/inbox-repo';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { tempDir } from '../helpers/temp';

let engine: InboxEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

function open(): InboxEngine {
  engine = openInboxEngine({ dataDir: path.join(tempDir(), 'data'), keyProvider: staticKeyProvider(crypto.randomBytes(32)) });
  return engine;
}

function mailbox(e: InboxEngine, name = 'Support') {
  return e.mailboxes.create({ name, address: 'support@example.test', preset: 'generic', imap: { host: 'imap.example.test', security: 'none' }, smtp: { host: 'smtp.example.test' } });
}

/** A content key (64 hex digits) made from a label. */
function key(label: string): string {
  return crypto.createHash('sha256').update(label).digest('hex');
}

function message(mailboxId: number, uid: number, over: Partial<NewMessage> = {}): NewMessage {
  return {
    mailboxId,
    folder: 'INBOX',
    uidValidity: 7,
    uid,
    status: 'imported',
    messageId: `m${uid}@x`,
    contentKey: key(`m${uid}`),
    duplicateOf: null,
    sharesMessageIdWith: null,
    from: 'a@x',
    to: 'b@x',
    cc: null,
    subject: `s${uid}`,
    sentAt: null,
    receivedAt: null,
    importedAt: 1000 + uid,
    size: 10,
    attachments: [],
    warnings: [],
    snippet: '',
    errorCode: null,
    error: null,
    action: 'mark-seen',
    actionState: 'pending',
    handoffState: 'none',
    pollId: null,
    ...over,
  };
}

describe('inbox repo', () => {
  it('records a message once per UID, imports one per content, and keeps every message\'s own bytes', () => {
    const e = open();
    const m = mailbox(e);
    const repo = e.inbox.repo;
    const id = repo.insertMessage(message(m.id, 1), Buffer.from('raw-1'));
    expect(() => repo.insertMessage(message(m.id, 1, { contentKey: key('other') }), Buffer.from('x'))).toThrow(/UNIQUE/);
    expect(() => repo.insertMessage(message(m.id, 2, { contentKey: key('m1') }), Buffer.from('x'))).toThrow(/UNIQUE/);
    // A duplicate has the same content key and its own bytes (here: a re-delivery with a trace field more).
    const dup = repo.insertMessage(message(m.id, 2, { status: 'duplicate', contentKey: key('m1'), duplicateOf: id }), Buffer.from('Received: x\r\nraw-1'));
    // A different message with the same Message-ID is imported, pointing at the first.
    const other = repo.insertMessage(message(m.id, 3, { messageId: 'm1@x', contentKey: key('m3'), sharesMessageIdWith: id }), Buffer.from('raw-3'));
    expect(repo.knownMessages(m.id, [key('m1')], []).map((k) => k.id)).toEqual([id]);
    expect(repo.knownMessages(m.id, [], ['m1@x']).map((k) => k.id).sort()).toEqual([id, other]);
    expect(repo.raw(id)?.toString()).toBe('raw-1');
    expect(repo.raw(dup)?.toString()).toBe('Received: x\r\nraw-1');
    expect(repo.get(other)).toMatchObject({ status: 'imported', sharesMessageIdWith: id, rawKept: true });
    expect(repo.sameMessageIdAs(repo.get(id)!)).toEqual([other]);
    expect(repo.sameMessageIdAs(repo.get(other)!)).toEqual([id]);
    expect(repo.idByUid(m.id, 'INBOX', 7, 2)).toBe(dup);
    expect([...repo.recordedUids(m.id, 'INBOX', 7, [1, 2, 3, 4])].sort()).toEqual([1, 2, 3]);
    // The same UID under another UIDVALIDITY is another message.
    expect(() => repo.insertMessage(message(m.id, 1, { uidValidity: 8, contentKey: key('renumbered') }), Buffer.from('y'))).not.toThrow();
  });

  it('stores identical bytes once, shared by the messages that have them', () => {
    const e = open();
    const m = mailbox(e);
    const repo = e.inbox.repo;
    const bytes = Buffer.from('From: a@x\r\nMessage-ID: <same@x>\r\n\r\nsame\r\n');
    const first = repo.insertMessage(message(m.id, 1), bytes);
    const resend = repo.insertMessage(message(m.id, 2, { status: 'duplicate', contentKey: key('m1'), duplicateOf: first }), Buffer.from(bytes));
    expect(e.db.prepare('SELECT COUNT(*) FROM inbox_blobs').pluck().get()).toBe(1);
    expect(repo.raw(first)).toEqual(bytes);
    expect(repo.raw(resend)).toEqual(bytes);
  });

  it('finds a batch\'s known messages and recorded UIDs on indexes, never by a scan of the mailbox', () => {
    const e = open();
    const plan = (sql: string) => (e.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((p) => p.detail);
    // The repo's own statements (INDEXED BY in the known-messages query makes it fail to prepare without its indexes).
    const m = mailbox(e);
    expect(() => e.inbox.repo.knownMessages(m.id, [key('a')], ['b@x'])).not.toThrow();
    const known = plan(
      `SELECT id FROM inbox_messages INDEXED BY inbox_messages_by_content WHERE mailbox_id = 1 AND content_key IN (SELECT value FROM json_each('["a"]')) AND content_key IS NOT NULL AND status != 'duplicate'
       UNION ALL SELECT id FROM inbox_messages INDEXED BY inbox_messages_by_message_id WHERE mailbox_id = 1 AND message_id IN (SELECT value FROM json_each('["b"]')) AND message_id IS NOT NULL AND content_key IS NOT NULL AND status != 'duplicate'`,
    );
    expect(known.filter((d) => /inbox_messages/.test(d))).toEqual([
      expect.stringMatching(/SEARCH inbox_messages USING INDEX inbox_messages_by_content \(mailbox_id=\? AND content_key=\?\)/),
      expect.stringMatching(/SEARCH inbox_messages USING INDEX inbox_messages_by_message_id \(mailbox_id=\? AND message_id=\?\)/),
    ]);
    expect(plan(`SELECT uid FROM inbox_messages WHERE mailbox_id = 1 AND folder = 'INBOX' AND uid_validity = 7 AND uid IN (SELECT value FROM json_each('[1]'))`).join(' ')).toMatch(
      /SEARCH inbox_messages USING COVERING INDEX inbox_messages_by_uid \(mailbox_id=\? AND folder=\? AND uid_validity=\? AND uid=\?\)/,
    );
  });

  it('pages newest first by keyset, with filters', () => {
    const e = open();
    const a = mailbox(e, 'A');
    const b = mailbox(e, 'B');
    for (let uid = 1; uid <= 25; uid++) e.inbox.repo.insertMessage(message(uid % 2 ? a.id : b.id, uid, { status: uid % 5 === 0 ? 'failed' : 'imported' }), Buffer.from(String(uid)));
    const seen: number[] = [];
    let beforeId: number | undefined;
    for (let i = 0; i < 10; i++) {
      const page = e.inbox.list({ limit: 7, ...(beforeId ? { beforeId } : {}) });
      seen.push(...page.messages.map((x) => x.id));
      if (page.nextBeforeId === null) break;
      beforeId = page.nextBeforeId;
    }
    expect(seen).toHaveLength(25);
    expect([...seen].sort((x, y) => y - x)).toEqual(seen);
    expect(e.inbox.list({ mailboxId: a.id, status: 'failed' }).messages.map((x) => x.uid)).toEqual([25, 15, 5]);
    const plan = e.db.prepare('EXPLAIN QUERY PLAN SELECT id FROM inbox_messages WHERE mailbox_id = ? AND status = ? AND id < ? ORDER BY id DESC LIMIT 10').all(1, 'failed', 100) as { detail: string }[];
    expect(plan.map((p) => p.detail).join(' ')).toMatch(/USING (COVERING )?INDEX inbox_messages_by_mailbox_status/);
  });

  it('moves the folder mark only up, and restarts it after a renumbering', () => {
    const e = open();
    const m = mailbox(e);
    const repo = e.inbox.repo;
    repo.resetFolder(m.id, 'INBOX', 7, 0, 1);
    repo.advanceLastUid(m.id, 'INBOX', 7, 10, 2);
    repo.advanceLastUid(m.id, 'INBOX', 7, 4, 3);
    expect(repo.folder(m.id, 'INBOX')).toMatchObject({ uidValidity: 7, lastUid: 10 });
    // A mark for an old UIDVALIDITY changes nothing.
    repo.advanceLastUid(m.id, 'INBOX', 6, 99, 4);
    expect(repo.folder(m.id, 'INBOX')?.lastUid).toBe(10);
    repo.resetFolder(m.id, 'INBOX', 8, 0, 5);
    expect(repo.folder(m.id, 'INBOX')).toMatchObject({ uidValidity: 8, lastUid: 0 });
  });

  it('skips pending actions of an old UIDVALIDITY and keeps the current ones', () => {
    const e = open();
    const m = mailbox(e);
    const repo = e.inbox.repo;
    const old = repo.insertMessage(message(m.id, 1), Buffer.from('a'));
    const current = repo.insertMessage(message(m.id, 1, { uidValidity: 8, contentKey: key('n') }), Buffer.from('b'));
    expect(repo.skipStaleActions(m.id, 'INBOX', 8, 'renumbered')).toBe(1);
    expect(repo.get(old)).toMatchObject({ actionState: 'skipped', actionError: 'renumbered' });
    expect(repo.pendingActions(m.id, 'INBOX', 8).map((p) => p.id)).toEqual([current]);
    repo.setActionState([current], 'move:Archive', 'failed', 'no folder');
    expect(repo.get(current)).toMatchObject({ action: 'move:Archive', actionState: 'failed', actionAttempts: 1 });
    expect(repo.pendingActions(m.id, 'INBOX', 8)).toHaveLength(1);
    repo.setActionState([current], 'move:Archive', 'done', null);
    expect(repo.pendingActions(m.id, 'INBOX', 8)).toHaveLength(0);
  });

  it('keeps the messages of a deleted mailbox, with its name', () => {
    const e = open();
    const m = mailbox(e);
    const id = e.inbox.repo.insertMessage(message(m.id, 1), Buffer.from('keep me'));
    e.mailboxes.remove(m.id);
    expect(e.inbox.repo.get(id)).toMatchObject({ mailboxId: null, mailboxName: 'Support' });
    expect(e.inbox.rawBytes(id).toString()).toBe('keep me');
  });

  it('counts failures in a row and clears them on success', () => {
    const e = open();
    const m = mailbox(e);
    const repo = e.inbox.repo;
    repo.recordFailure(m.id, 10, 'AUTH_FAILED', 'rejected', 'fix the password');
    repo.recordFailure(m.id, 20, 'AUTH_FAILED', 'rejected', 'fix the password');
    let state = e.inbox.states()[0]!;
    expect(state).toMatchObject({ health: 'failing', consecutiveFailures: 2, lastTryAt: 20, lastSuccessAt: null, lastError: { code: 'AUTH_FAILED', at: 20 } });
    repo.recordSuccess(m.id, 30);
    state = e.inbox.states()[0]!;
    expect(state).toMatchObject({ health: 'healthy', consecutiveFailures: 0, lastSuccessAt: 30, lastTryAt: 30 });
    // The last error stays on record, with its time.
    expect(state.lastError?.code).toBe('AUTH_FAILED');
    e.mailboxes.update({ id: m.id, enabled: false });
    expect(e.inbox.states()[0]!.health).toBe('disabled');
  });

  it('marks a running poll of a process that is gone as interrupted', async () => {
    const e = open();
    const m = mailbox(e, 'Gone');
    // pid 2^22+1 is above Linux's pid_max default: no such process.
    const id = e.inbox.repo.startPoll(m.id, 'cli', 'INBOX', 1, 4194305);
    e.inbox.repo.progressPoll(id, { uidValidity: 7, resynced: false, fetched: 3, imported: 3, duplicates: 0, failed: 0 });
    // The next poll (it fails to connect: there is no password) notices first.
    const next = await e.inbox.pollNow(m.id);
    expect(next.code).toBe('PASSWORD_MISSING');
    expect(e.inbox.poll(id)).toMatchObject({ outcome: 'failed', code: 'POLL_INTERRUPTED', imported: 3 });
  });

  it('refuses a handoff folder that does not exist, naming it', () => {
    const e = open();
    const m = mailbox(e);
    const missing = path.join(tempDir(), 'not-here');
    expect(() => e.inbox.saveSettings({ mailboxId: m.id, handoffDir: missing })).toThrow(/does not exist/);
    expect(() => e.inbox.saveSettings({ mailboxId: m.id, handoffDir: 'relative/dir' })).toThrow(/absolute path/);
    const dir = tempDir();
    expect(e.inbox.saveSettings({ mailboxId: m.id, handoffDir: dir })).toEqual({ mailboxId: m.id, handoffDir: dir });
    expect(e.inbox.saveSettings({ mailboxId: m.id, handoffDir: null }).handoffDir).toBeNull();
  });
});
