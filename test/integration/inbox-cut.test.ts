/**
 * A connection cut in the middle of a fetch: a TCP proxy between Mailroom
 * and Dovecot forwards the server's bytes until a budget is spent, then
 * drops both sides. The poll fails with the connection diagnosis, keeps
 * what arrived whole, deletes nothing it has not stored (the slices before
 * the cut are deleted, the one cut waits); the next poll
 * completes: every message stored exactly once and deleted from the server
 * only after.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInboxEngine, type InboxEngine } from '../../src-main/engine/inbox/open-inbox';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { startDovecot, type Dovecot } from '../helpers/dovecot';

const USER = 'cut@example.test';
const PASSWORD = 'cut-pass';
const COUNT = 60;

function message(i: number): string {
  return [`From: Sender ${i} <s${i}@example.test>`, `To: ${USER}`, `Subject: Cut ${i}`, `Message-ID: <cut-${i}@example.test>`, 'Date: Tue, 25 Nov 2025 10:00:00 +0000', '', `Body ${i} `.repeat(400), ''].join('\r\n');
}

interface CuttingProxy {
  port: number;
  /** Server-to-client bytes forwarded so far. */
  forwarded(): number;
  close(): Promise<void>;
}

/** Forwards 127.0.0.1:port to Dovecot, and cuts every connection after `budget` bytes from the server. */
function cuttingProxy(target: number, budget: number): Promise<CuttingProxy> {
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
      const left = budget - forwarded;
      if (left <= 0) return cut();
      const part = chunk.length > left ? chunk.subarray(0, left) : chunk;
      forwarded += part.length;
      client.write(part);
      if (part.length < chunk.length) cut();
    });
    client.on('data', (chunk) => upstream.write(chunk));
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
        forwarded: () => forwarded,
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
  dovecot = await startDovecot({ users: { [USER]: PASSWORD }, messages: Array.from({ length: COUNT }, (_, i) => ({ user: USER, raw: message(i + 1) })) });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-cut-'));
  // Three FETCHes of 20, committed 8 at a time: the cut lands in the second slice.
  engine = openInboxEngine({ dataDir, keyProvider: staticKeyProvider(crypto.randomBytes(32)), inbox: { batchMessages: 8, fetchSlice: 20 } });
});

afterAll(async () => {
  await engine?.close();
  await dovecot?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

async function serverMessageIds(): Promise<string[]> {
  const client = new ImapFlow({ host: '127.0.0.1', port: dovecot.port, secure: false, doSTARTTLS: false, auth: { user: USER, pass: PASSWORD }, logger: false });
  await client.connect();
  try {
    const lock = await client.getMailboxLock('INBOX');
    try {
      if (!client.mailbox || client.mailbox.exists === 0) return [];
      return (await client.fetchAll('1:*', { envelope: true })).map((m) => m.envelope?.messageId ?? '');
    } finally {
      lock.release();
    }
  } finally {
    await client.logout().catch(() => client.close());
  }
}

describe('connection cut in the middle of a fetch', () => {
  it('keeps what arrived, deletes nothing unstored, and the next poll completes with nothing lost or doubled', async () => {
    // About 3.7 KB a message, 74 KB a slice of 20: cut in the middle of the second slice's FETCH.
    const proxy = await cuttingProxy(dovecot.port, 110_000);
    const m = engine.mailboxes.create({ name: 'Cut', address: USER, preset: 'generic', imap: { host: '127.0.0.1', port: proxy.port, security: 'none', afterImport: 'delete' }, smtp: { host: '127.0.0.1', security: 'none' }, password: PASSWORD });
    const cut = await engine.inbox.pollNow(m.id);
    await proxy.close();
    expect(cut).toMatchObject({ outcome: 'failed', code: 'CONNECTION_DROPPED' });
    expect(cut.message).toMatch(/while downloading messages/);
    expect(cut.imported).toBeGreaterThan(0);
    expect(cut.imported).toBeLessThan(COUNT);

    const stored = engine.inbox.list({ mailboxId: m.id, limit: 1000 }).messages;
    expect(stored).toHaveLength(cut.imported);
    // Deleted on the server only once stored: the first slice's messages are gone, the cut slice's wait.
    const onServer = new Set(await serverMessageIds());
    const storedIds = new Set(stored.map((r) => `<${r.messageId}>`));
    for (let i = 1; i <= COUNT; i++) {
      const id = `<cut-${i}@example.test>`;
      expect(onServer.has(id) || storedIds.has(id), `${id} is lost`).toBe(true);
    }
    for (const row of stored) expect(row.actionState === 'done').toBe(!onServer.has(`<${row.messageId}>`));
    expect(stored.some((r) => r.actionState === 'pending')).toBe(true);

    // The next poll, straight to Dovecot.
    engine.mailboxes.update({ id: m.id, imap: { port: dovecot.port } });
    const next = await engine.inbox.pollNow(m.id);
    expect(next).toMatchObject({ outcome: 'ok', imported: COUNT - cut.imported, duplicates: 0, failed: 0 });
    const all = engine.inbox.list({ mailboxId: m.id, limit: 1000 }).messages;
    expect(all).toHaveLength(COUNT);
    expect(new Set(all.map((r) => r.messageId)).size).toBe(COUNT);
    expect(new Set(all.map((r) => r.uid)).size).toBe(COUNT);
    expect(all.every((r) => r.status === 'imported' && r.actionState === 'done')).toBe(true);
    expect(await serverMessageIds()).toEqual([]);
    for (const row of all) expect(engine.inbox.rawBytes(row.id).toString('latin1')).toBe(message(Number(/cut-(\d+)@/.exec(row.messageId!)![1])));
  });
});
