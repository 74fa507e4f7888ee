/**
 * A POP3 connection cut in the middle of RETR, and one cut at QUIT (after
 * the DELEs, before the server commits them): a TCP proxy between Mailroom
 * and Dovecot drops both sides. Nothing is lost (a cut session deletes
 * nothing: RFC 1939 removes messages only at QUIT), nothing is imported
 * twice, and the next poll completes: every message stored exactly once
 * and deleted from the server only after.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInboxEngine, type InboxEngine } from '../../src-main/engine/inbox/open-inbox';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { startDovecot, type Dovecot } from '../helpers/dovecot';

const USERS = ['retr@example.test', 'quit@example.test'];
const PASSWORD = 'cut-pass';
const COUNT = 60;

function message(user: string, i: number): string {
  return [`From: Sender ${i} <s${i}@example.test>`, `To: ${user}`, `Subject: Cut ${i}`, `Message-ID: <${user.split('@')[0]}-${i}@example.test>`, 'Date: Tue, 25 Nov 2025 10:00:00 +0000', '', `Body ${i} `.repeat(400), ''].join('\r\n');
}

interface CuttingProxy {
  port: number;
  close(): Promise<void>;
}

/**
 * Forwards 127.0.0.1:port to Dovecot's POP3 port, and cuts every connection
 * after `budget` bytes from the server, or when the client sends a line
 * matching `cutAt` (which is not forwarded).
 */
function cuttingProxy(target: number, options: { budget?: number; cutAt?: RegExp }): Promise<CuttingProxy> {
  let forwarded = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    sockets.add(client).add(upstream);
    const cut = () => {
      client.destroy();
      upstream.destroy();
    };
    upstream.on('data', (chunk: Buffer) => {
      const left = (options.budget ?? Infinity) - forwarded;
      if (left <= 0) return cut();
      const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
      forwarded += part.length;
      client.write(part);
      if (part.length < chunk.length) cut();
    });
    let pending = '';
    client.on('data', (chunk: Buffer) => {
      if (!options.cutAt) return void upstream.write(chunk);
      pending += chunk.toString('latin1');
      let end: number;
      while ((end = pending.indexOf('\r\n')) >= 0) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        if (options.cutAt.test(line)) return cut();
        upstream.write(`${line}\r\n`, 'latin1');
      }
    });
    for (const s of [client, upstream]) {
      s.on('error', cut);
      s.on('close', () => {
        sockets.delete(s);
        cut();
      });
    }
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      }),
    ),
  );
}

let dovecot: Dovecot;
let engine: InboxEngine;
let dataDir: string;

beforeAll(async () => {
  dovecot = await startDovecot({
    users: Object.fromEntries(USERS.map((u) => [u, PASSWORD])),
    pop3: true,
    messages: USERS.flatMap((user) => Array.from({ length: COUNT }, (_, i) => ({ user, raw: message(user, i + 1) }))),
  });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-pop3-cut-'));
  engine = openInboxEngine({ dataDir, keyProvider: staticKeyProvider(crypto.randomBytes(32)), inbox: { batchMessages: 8 } });
}, 60_000);

afterAll(async () => {
  await engine?.close();
  await dovecot?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

function addMailbox(user: string, port: number) {
  return engine.mailboxes.create({
    name: user.split('@')[0],
    address: user,
    preset: 'generic',
    receiveVia: 'pop3',
    imap: { host: '127.0.0.1', security: 'none' },
    pop3: { host: '127.0.0.1', port, security: 'none', afterImport: 'delete' },
    smtp: { host: '127.0.0.1', security: 'none' },
    password: PASSWORD,
  });
}

const serverIds = (user: string) => dovecot.inboxMessages(user).map((raw) => /^Message-ID: <([^>]+)>/im.exec(raw.toString('latin1'))?.[1] ?? '');

/** The next poll, straight to Dovecot: everything stored once, all deleted, each byte as sent. */
async function finishAndCheck(user: string, mailboxId: number, storedBefore: number): Promise<void> {
  engine.mailboxes.update({ id: mailboxId, pop3: { port: dovecot.pop3Port } });
  const next = await engine.inbox.pollNow(mailboxId);
  expect(next).toMatchObject({ outcome: 'ok', imported: COUNT - storedBefore, duplicates: 0, failed: 0 });
  const all = engine.inbox.list({ mailboxId, limit: 1000 }).messages;
  expect(all).toHaveLength(COUNT);
  expect(new Set(all.map((r) => r.messageId)).size).toBe(COUNT);
  expect(all.every((r) => r.status === 'imported' && r.actionState === 'done')).toBe(true);
  expect(serverIds(user)).toEqual([]);
  for (const row of all) expect(engine.inbox.rawBytes(row.id).toString('latin1')).toBe(message(user, Number(/-(\d+)@/.exec(row.messageId!)![1])));
}

describe('POP3 connection cut', () => {
  it('in the middle of RETR: keeps what arrived whole, deletes nothing, and the next poll completes with nothing lost or doubled', async () => {
    const user = 'retr@example.test';
    // About 3.7 KB a message: cut around the 30th RETR.
    const proxy = await cuttingProxy(dovecot.pop3Port, { budget: 110_000 });
    const m = addMailbox(user, proxy.port);
    const cut = await engine.inbox.pollNow(m.id);
    await proxy.close();
    expect(cut).toMatchObject({ outcome: 'failed', code: 'CONNECTION_DROPPED' });
    expect(cut.message).toMatch(/while downloading messages/);
    expect(cut.imported).toBeGreaterThan(0);
    expect(cut.imported).toBeLessThan(COUNT);
    const stored = engine.inbox.list({ mailboxId: m.id, limit: 1000 }).messages;
    expect(stored).toHaveLength(cut.imported);
    expect(stored.every((r) => r.actionState === 'pending')).toBe(true);
    // No QUIT was sent: the server deleted nothing.
    expect(serverIds(user)).toHaveLength(COUNT);
    await finishAndCheck(user, m.id, cut.imported);
  });

  it('at QUIT, after the DELEs: the server deletes nothing, the rows wait, and the next poll deletes them without importing again', async () => {
    const user = 'quit@example.test';
    const proxy = await cuttingProxy(dovecot.pop3Port, { cutAt: /^QUIT$/ });
    const m = addMailbox(user, proxy.port);
    const cut = await engine.inbox.pollNow(m.id);
    await proxy.close();
    expect(cut).toMatchObject({ outcome: 'failed', code: 'CONNECTION_DROPPED', imported: COUNT });
    const stored = engine.inbox.list({ mailboxId: m.id, limit: 1000 }).messages;
    expect(stored).toHaveLength(COUNT);
    expect(stored.every((r) => r.actionState === 'pending')).toBe(true);
    expect(serverIds(user)).toHaveLength(COUNT);
    await finishAndCheck(user, m.id, COUNT);
  });
});
