/**
 * The background importer: with an hour between scheduled polls, a message
 * delivered to Dovecot arrives through IDLE, without waiting for a poll;
 * a changed mailbox restarts its importer on a new connection; stop()
 * closes everything.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInboxEngine, type InboxEngine } from '../../src-main/engine/inbox/open-inbox';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { startDovecot, type Dovecot } from '../helpers/dovecot';

const USER = 'idle@example.test';
const PASSWORD = 'idle-pass';

function message(i: number): string {
  return [`From: Sender <s@example.test>`, `To: ${USER}`, `Subject: Idle ${i}`, `Message-ID: <idle-${i}@example.test>`, 'Date: Tue, 25 Nov 2025 10:00:00 +0000', '', `Body ${i}`, ''].join('\r\n');
}

let dovecot: Dovecot;
let engine: InboxEngine;
let dataDir: string;

beforeAll(async () => {
  dovecot = await startDovecot({ users: { [USER]: PASSWORD }, messages: [{ user: USER, raw: message(1) }] });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-idle-'));
  engine = openInboxEngine({ dataDir, keyProvider: staticKeyProvider(crypto.randomBytes(32)) });
});

afterAll(async () => {
  await engine?.inbox.stop();
  await engine?.close();
  await dovecot?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('background importer with IDLE', () => {
  it('imports a new message through IDLE, without a scheduled poll', async () => {
    const m = engine.mailboxes.create({ name: 'Idle', address: USER, preset: 'generic', imap: { host: '127.0.0.1', port: dovecot.port, security: 'none', afterImport: 'mark-seen', pollIntervalSeconds: 3600 }, smtp: { host: '127.0.0.1', security: 'none' }, password: PASSWORD });
    engine.inbox.start();
    // The first poll runs at start and imports what is there; then the connection idles.
    await until('the start poll', () => engine.inbox.list({ mailboxId: m.id }).messages.length === 1);
    await until('IDLE', () => engine.inbox.states().find((s) => s.mailboxId === m.id)?.idling);
    const state = engine.inbox.states().find((s) => s.mailboxId === m.id)!;
    expect(state.nextPollAt! - Date.now()).toBeGreaterThan(3_000_000);

    await dovecot.append(USER, 'INBOX', message(2));
    await until('the IDLE import', () => engine.inbox.list({ mailboxId: m.id }).messages.length === 2, 30_000);
    // The message is committed before the poll finishes (its after-import action comes after).
    await until('the poll to finish', () => engine.inbox.polls(m.id)[0]?.outcome !== 'running');
    const polls = engine.inbox.polls(m.id);
    expect(polls.map((p) => p.trigger)).toEqual(['idle', 'start']);
    expect(polls[0]).toMatchObject({ outcome: 'ok', imported: 1 });
  }, 60_000);

  it('restarts the importer on a new connection when the mailbox changes, and stops cleanly', async () => {
    const m = engine.mailboxes.resolve('Idle');
    const before = engine.inbox.polls(m.id).length;
    engine.mailboxes.update({ id: m.id, imap: { pollIntervalSeconds: 1800 } });
    await until('the restarted importer', () => engine.inbox.polls(m.id).length > before && engine.inbox.states().find((s) => s.mailboxId === m.id)?.idling);
    expect(engine.inbox.polls(m.id)[0]).toMatchObject({ trigger: 'start', outcome: 'ok' });
    // A manual poll goes over the importer's connection.
    expect(await engine.inbox.pollNow(m.id)).toMatchObject({ outcome: 'ok', trigger: 'manual', fetched: 0 });
    await engine.inbox.stop();
    const after = engine.inbox.states().find((s) => s.mailboxId === m.id)!;
    expect(after).toMatchObject({ idling: false, nextPollAt: null });
  }, 60_000);
});
