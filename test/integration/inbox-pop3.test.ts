/**
 * POP3 import against a private Dovecot (dovecot-pop3d) on 127.0.0.1:
 * messages imported once by UIDL and left on the server (the default), a
 * re-poll that takes nothing twice, "delete" removing only stored messages
 * (and only at QUIT), a reused Message-ID with different bodies (both
 * kept) and an exact resend (a duplicate), 8-bit bytes and dot lines
 * stored byte for byte, the handoff folder, the debug transcript without
 * the password, a refused password and a server without UIDL diagnosed with
 * the connection test's rules, and the CLI's `inbox poll --json`. Every
 * assertion reads the store, the server or the CLI's output.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openInboxEngine, type InboxEngine } from '../../src-main/engine/inbox/open-inbox';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { startScriptedServer, type ScriptedServer } from '../helpers/scripted-server';
import { RawPop3Client } from '../helpers/raw-pop3-client';
import { runCli } from '../helpers/cli';
import net, { type AddressInfo } from 'node:net';
import { tempDir } from '../helpers/temp';

const PASSWORD = 'Pop3-Pa55!word';
const USERS = ['leave', 'delete', 'reuse', 'bytes', 'handoff', 'debug', 'wrong', 'cli', 'schedule', 'fromnow', 'userpass'].map((u) => `${u}@example.test`);
const KEY = crypto.randomBytes(32);
/** A message with 8-bit bytes (not UTF-8) and lines that start with dots, which POP3 dot-stuffs. */
const BYTES_MESSAGE = Buffer.concat([
  Buffer.from('From: a@example.test\r\nTo: bytes@example.test\r\nSubject: bytes\r\nMessage-ID: <bytes-8bit@example.test>\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'),
  Buffer.from('.a line with a dot\r\n..two dots\r\n.\r\nlatin-1: '),
  Buffer.from([0xe9, 0xe8, 0xfc, 0xff]),
  Buffer.from('\r\n'),
]);

function message(user: string, i: number, body = `Hello, this is message ${i}.\r\n`.repeat(10), messageId = `<${user.split('@')[0]}-${i}@example.test>`): string {
  return [`From: Customer ${i} <c${i}@example.test>`, `To: ${user}`, `Subject: Ticket ${i} for ${user}`, `Message-ID: ${messageId}`, 'Date: Tue, 25 Nov 2025 10:00:00 +0000', '', body].join('\r\n');
}

let dovecot: Dovecot;

beforeAll(async () => {
  const messages: { user: string; raw: string | Buffer }[] = USERS.flatMap((user) => Array.from({ length: 6 }, (_, i) => ({ user, raw: message(user, i + 1) })));
  messages.push({ user: 'bytes@example.test', raw: BYTES_MESSAGE });
  dovecot = await startDovecot({ users: Object.fromEntries(USERS.map((u) => [u, PASSWORD])), pop3: true, messages });
}, 60_000);

afterAll(async () => {
  await dovecot?.stop();
});

let engine: InboxEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

function openEngine(dataDir = path.join(tempDir(), 'data')): InboxEngine {
  engine = openInboxEngine({ dataDir, keyProvider: staticKeyProvider(KEY), inbox: { batchMessages: 4 } });
  return engine;
}

function addPop3Mailbox(e: InboxEngine, user: string, options: { afterImport?: 'leave' | 'delete'; port?: number; password?: string; pollIntervalSeconds?: number } = {}) {
  return e.mailboxes.create({
    name: user.split('@')[0],
    address: user,
    preset: 'generic',
    receiveVia: 'pop3',
    imap: { host: '127.0.0.1', security: 'none', ...(options.pollIntervalSeconds ? { pollIntervalSeconds: options.pollIntervalSeconds } : {}) },
    pop3: { host: '127.0.0.1', port: options.port ?? dovecot.pop3Port, security: 'none', ...(options.afterImport ? { afterImport: options.afterImport } : {}) },
    smtp: { host: '127.0.0.1', security: 'none' },
    password: options.password ?? PASSWORD,
  });
}

/** The UIDLs the server lists for a user now. */
async function serverUidls(user: string): Promise<string[]> {
  const pop = await RawPop3Client.connect({ port: dovecot.pop3Port });
  try {
    await pop.command(`USER ${user}`);
    const signedIn = await pop.command(`PASS ${PASSWORD}`);
    if (!signedIn.ok) throw new Error(signedIn.text);
    const { body } = await pop.multiline('UIDL');
    return body
      .toString('latin1')
      .split('\r\n')
      .filter(Boolean)
      .map((l) => l.split(' ')[1]!);
  } finally {
    await pop.quit().catch(() => undefined);
  }
}

describe('POP3 import', () => {
  it('imports every message once by UIDL and leaves them on the server; a re-poll takes nothing twice', async () => {
    const e = openEngine();
    const box = addPop3Mailbox(e, 'leave@example.test');
    expect(box.pop3?.afterImport).toBe('leave');

    const first = await e.inbox.pollNow(box.id);
    expect(first).toMatchObject({ outcome: 'ok', fetched: 6, imported: 6, duplicates: 0, failed: 0, folder: 'INBOX (POP3)' });
    expect(dovecot.inboxCount('leave@example.test')).toBe(6);
    const page = e.inbox.list({ mailboxId: box.id });
    expect(page.messages.map((m) => m.subject).sort()).toEqual([1, 2, 3, 4, 5, 6].map((i) => `Ticket ${i} for leave@example.test`).sort());
    expect(page.messages.every((m) => m.action === 'leave' && m.actionState === 'done')).toBe(true);

    const again = await e.inbox.pollNow(box.id);
    expect(again).toMatchObject({ outcome: 'ok', fetched: 0, imported: 0 });

    await dovecot.append('leave@example.test', 'INBOX', message('leave@example.test', 7));
    const third = await e.inbox.pollNow(box.id);
    expect(third).toMatchObject({ outcome: 'ok', fetched: 1, imported: 1 });
    expect(e.inbox.list({ mailboxId: box.id }).messages).toHaveLength(7);
    // One UIDL row per message on the server, nothing more.
    const db = new Database(path.join(e.dataDir, 'mailroom.db'), { readonly: true });
    try {
      expect((db.prepare('SELECT uidl FROM pop3_uidls WHERE mailbox_id = ? ORDER BY uidl').pluck().all(box.id) as string[]).sort()).toEqual((await serverUidls('leave@example.test')).sort());
    } finally {
      db.close();
    }
    const state = e.inbox.states().find((s) => s.mailboxId === box.id)!;
    expect(state).toMatchObject({ health: 'healthy', folder: 'INBOX (POP3)', afterImport: 'leave', counts: { imported: 7 } });
  });

  it('deletes on the server only what it stored, when QUIT commits', async () => {
    const e = openEngine();
    const box = addPop3Mailbox(e, 'delete@example.test', { afterImport: 'delete' });
    const poll = await e.inbox.pollNow(box.id);
    expect(poll).toMatchObject({ outcome: 'ok', imported: 6 });
    expect(dovecot.inboxCount('delete@example.test')).toBe(0);
    const page = e.inbox.list({ mailboxId: box.id });
    expect(page.messages).toHaveLength(6);
    expect(page.messages.every((m) => m.action === 'delete' && m.actionState === 'done')).toBe(true);
    for (const m of page.messages) expect(e.inbox.rawBytes(m.id).toString('latin1')).toContain(`Subject: ${m.subject}`);
  });

  it('keeps a different message that reuses a Message-ID, and records an exact resend as a duplicate with its own bytes', async () => {
    const user = 'reuse@example.test';
    const e = openEngine();
    const box = addPop3Mailbox(e, user);
    await e.inbox.pollNow(box.id);
    await dovecot.append(user, 'INBOX', message(user, 1, 'A different body under the same Message-ID.\r\n'));
    await dovecot.append(user, 'INBOX', message(user, 2));
    const poll = await e.inbox.pollNow(box.id);
    expect(poll).toMatchObject({ outcome: 'ok', fetched: 2, imported: 1, duplicates: 1 });
    const all = e.inbox.list({ mailboxId: box.id }).messages;
    const sameId = all.filter((m) => m.messageId === `${user.split('@')[0]}-1@example.test`);
    expect(sameId).toHaveLength(2);
    expect(sameId.every((m) => m.status === 'imported')).toBe(true);
    const dup = all.find((m) => m.status === 'duplicate')!;
    expect(e.inbox.rawBytes(dup.id).toString('latin1')).toBe(message(user, 2));
  });

  it('stores 8-bit bytes and lines that start with a dot exactly as the server holds them', async () => {
    const user = 'bytes@example.test';
    const e = openEngine();
    const box = addPop3Mailbox(e, user);
    expect(await e.inbox.pollNow(box.id)).toMatchObject({ outcome: 'ok', imported: 7 });
    const stored = e.inbox.list({ mailboxId: box.id }).messages.find((m) => m.subject === 'bytes')!;
    expect(e.inbox.rawBytes(stored.id).equals(BYTES_MESSAGE)).toBe(true);
  });

  it('writes imported messages to the handoff folder', async () => {
    const e = openEngine();
    const box = addPop3Mailbox(e, 'handoff@example.test');
    const dir = tempDir();
    e.inbox.saveSettings({ mailboxId: box.id, handoffDir: dir });
    expect(await e.inbox.pollNow(box.id)).toMatchObject({ outcome: 'ok', imported: 6 });
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.eml'));
    expect(files).toHaveLength(6);
  });

  it('keeps a debug transcript of the POP3 exchange without the password', async () => {
    const e = openEngine();
    const box = addPop3Mailbox(e, 'debug@example.test');
    const poll = await e.inbox.importWithDebug(box.id);
    expect(poll).toMatchObject({ outcome: 'ok', imported: 6 });
    const text = (poll.transcript ?? []).map((l) => `${l.dir} ${l.text}`).join('\n');
    expect(text).toMatch(/^C CAPA$/m);
    expect(text).toMatch(/^C UIDL$/m);
    expect(text).toMatch(/^C RETR 1$/m);
    expect(text).toMatch(/^C QUIT$/m);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(Buffer.from(`\0debug@example.test\0${PASSWORD}`).toString('base64'));
  });

  it('signs in with USER/PASS when the server offers no SASL (as Exchange 2003 and RFC 1939 servers do)', async () => {
    // A proxy in front of Dovecot drops the SASL line from CAPA's answer: Mailroom then uses USER/PASS.
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const upstream = net.connect(dovecot.pop3Port, '127.0.0.1');
      sockets.add(client).add(upstream);
      upstream.on('data', (chunk: Buffer) => client.write(chunk.toString('latin1').replace(/^SASL[^\r\n]*\r\n/m, ''), 'latin1'));
      client.on('data', (chunk) => upstream.write(chunk));
      for (const s of [client, upstream]) s.on('error', () => undefined).on('close', () => (client.destroy(), upstream.destroy()));
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
    try {
      const e = openEngine();
      const box = addPop3Mailbox(e, 'userpass@example.test', { port: (proxy.address() as AddressInfo).port });
      const poll = await e.inbox.importWithDebug(box.id);
      expect(poll).toMatchObject({ outcome: 'ok', imported: 6 });
      const sent = (poll.transcript ?? []).filter((l) => l.dir === 'C').map((l) => l.text);
      expect(sent).toContain('USER userpass@example.test');
      expect(sent).toContain('PASS [redacted password]');
      expect(sent.some((l) => l.startsWith('AUTH'))).toBe(false);
      expect(JSON.stringify(poll.transcript)).not.toContain(PASSWORD);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });

  it('diagnoses a refused password with the connection test\'s rules and imports nothing', async () => {
    const e = openEngine();
    const box = addPop3Mailbox(e, 'wrong@example.test', { password: 'not-the-password' });
    const poll = await e.inbox.pollNow(box.id);
    expect(poll).toMatchObject({ outcome: 'failed', code: 'AUTH_FAILED', fetched: 0 });
    expect(poll.message).toContain('wrong@example.test');
    expect(dovecot.inboxCount('wrong@example.test')).toBe(6);
    const state = e.inbox.states().find((s) => s.mailboxId === box.id)!;
    expect(state).toMatchObject({ health: 'failing', consecutiveFailures: 1, lastError: { code: 'AUTH_FAILED' } });
  });

  it('refuses a server without UIDL with POP3_NO_UIDL, downloading and deleting nothing', async () => {
    let peer: ScriptedServer | undefined;
    try {
      peer = await startScriptedServer({
        script: [
          { send: '+OK POP3 server ready' },
          { expect: /^CAPA$/ },
          { send: '-ERR Unknown command: CAPA' },
          { expect: /^USER / },
          { send: '+OK' },
          { expect: /^PASS / },
          { send: '+OK Mailbox open, 2 messages' },
          { expect: /^UIDL$/ },
          { send: '-ERR Unknown command: UIDL' },
          { expect: true },
          { close: true },
        ],
      });
      const e = openEngine();
      const box = addPop3Mailbox(e, 'cli@example.test', { port: peer.port, afterImport: 'delete' });
      const poll = await e.inbox.pollNow(box.id);
      expect(poll).toMatchObject({ outcome: 'failed', code: 'POP3_NO_UIDL', fetched: 0 });
      expect(poll.hint).toMatch(/UIDL/);
      expect(peer.received.filter((l) => /^(RETR|DELE)/.test(l))).toEqual([]);
      expect(peer.received).not.toContain('QUIT');
    } finally {
      await peer?.stop();
    }
  });

  it('answers the first-import questions for the maildrop: how many messages wait, and "only mail from now on" leaves them alone', async () => {
    const user = 'fromnow@example.test';
    const e = openEngine();
    const box = addPop3Mailbox(e, user, { afterImport: 'delete' });
    expect(e.inbox.firstImportNeeded(box.id)).toBe(true);
    expect(await e.inbox.lookIntoFolder(box)).toMatchObject({ folder: 'INBOX (POP3)', messages: 6, unseen: null, afterImport: 'delete', afterImportWords: 'deleted from the server', started: false });
    expect(await e.inbox.startFromNow(box.id)).toMatchObject({ folder: 'INBOX (POP3)', leftAlone: 6 });
    expect(e.inbox.firstImportNeeded(box.id)).toBe(false);
    await dovecot.append(user, 'INBOX', message(user, 7));
    expect(await e.inbox.pollNow(box.id)).toMatchObject({ outcome: 'ok', fetched: 1, imported: 1 });
    // The six left alone are still there; only the new one was stored and deleted.
    expect(dovecot.inboxCount(user)).toBe(6);
    expect(e.inbox.list({ mailboxId: box.id }).messages.map((m) => m.subject)).toEqual([`Ticket 7 for ${user}`]);
  });

  it('polls a POP3 mailbox in the background on its schedule (POP3 has no IDLE), one session per poll', async () => {
    const user = 'schedule@example.test';
    const e = openEngine();
    const box = addPop3Mailbox(e, user, { pollIntervalSeconds: 10 });
    const until = async (what: string, check: () => boolean, ms = 60_000) => {
      const deadline = Date.now() + ms;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const stored = () => e.inbox.list({ mailboxId: box.id }).messages.length;
    const state = () => e.inbox.states().find((s) => s.mailboxId === box.id)!;
    e.inbox.start();
    await until('the first poll', () => stored() === 6 && !state().polling && state().nextPollAt !== null);
    expect(state()).toMatchObject({ health: 'healthy', idling: false });
    // New mail is found by the next scheduled poll (each poll signs in, imports and QUITs).
    await dovecot.append(user, 'INBOX', message(user, 7));
    await until('the scheduled poll', () => stored() === 7);
    expect(e.inbox.polls(box.id).map((p) => p.trigger)).toEqual(expect.arrayContaining(['start', 'schedule']));
  }, 90_000);

  it('prints the same JSON from `mailroom inbox poll` for a POP3 mailbox', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const e = openEngine(dataDir);
    addPop3Mailbox(e, 'cli@example.test');
    await e.close();
    engine = undefined;
    const env = { MAILROOM_SECRET_KEY: KEY.toString('hex') };
    const result = await runCli(['inbox', 'poll', 'cli', '--data-dir', dataDir, '--json'], { env, timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(0);
    // The same keys as for an IMAP mailbox (test/integration/inbox-import.test.ts).
    expect(Object.keys(result.json)).toEqual(['fetched', 'imported', 'duplicates', 'failed', 'ms']);
    expect(result.json).toMatchObject({ fetched: 6, imported: 6, duplicates: 0, failed: 0 });
    const again = await runCli(['inbox', 'poll', 'cli', '--data-dir', dataDir, '--json'], { env, timeoutMs: 60_000 });
    expect(again.json).toMatchObject({ fetched: 0, imported: 0 });
  });
});
