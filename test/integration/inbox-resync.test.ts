/**
 * A folder renumbered on the server (deleted and created again, so its
 * UIDVALIDITY changes) is resynchronised: the messages already stored are
 * recognised by Message-ID and recorded as duplicates, the new ones are
 * imported, nothing is stored twice, and the receive log says why.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInboxEngine, type InboxEngine } from '../../src-main/engine/inbox/open-inbox';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { startDovecot, type Dovecot } from '../helpers/dovecot';

const USER = 'resync@example.test';
const PASSWORD = 'resync-pass';

function message(i: number): string {
  return [`From: Sender ${i} <s${i}@example.test>`, `To: ${USER}`, `Subject: Resync ${i}`, `Message-ID: <resync-${i}@example.test>`, 'Date: Tue, 25 Nov 2025 10:00:00 +0000', '', `Body ${i}`, ''].join('\r\n');
}

let dovecot: Dovecot;
let engine: InboxEngine;
let dataDir: string;

beforeAll(async () => {
  dovecot = await startDovecot({ users: { [USER]: PASSWORD }, folders: ['Support'], messages: Array.from({ length: 10 }, (_, i) => ({ user: USER, folder: 'Support', raw: message(i + 1) })) });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-resync-'));
  engine = openInboxEngine({ dataDir, keyProvider: staticKeyProvider(crypto.randomBytes(32)) });
});

afterAll(async () => {
  await engine?.close();
  await dovecot?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

async function withClient<T>(use: (client: ImapFlow) => Promise<T>): Promise<T> {
  const client = new ImapFlow({ host: '127.0.0.1', port: dovecot.port, secure: false, doSTARTTLS: false, auth: { user: USER, pass: PASSWORD }, logger: false });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.logout().catch(() => client.close());
  }
}

describe('UIDVALIDITY change', () => {
  it('resynchronises a recreated folder without duplicates and logs why', async () => {
    const m = engine.mailboxes.create({ name: 'Resync', address: USER, preset: 'generic', imap: { host: '127.0.0.1', port: dovecot.port, security: 'none', folder: 'Support', afterImport: 'mark-seen' }, smtp: { host: '127.0.0.1', security: 'none' }, password: PASSWORD });
    const first = await engine.inbox.pollNow(m.id);
    expect(first).toMatchObject({ outcome: 'ok', imported: 10, resynced: false });

    // Recreate the folder with the same ten messages and two new ones. Dovecot takes the time as the
    // new UIDVALIDITY: wait for the next second so it differs (bounded).
    const before = first.uidValidity;
    let after = before;
    for (let attempt = 0; attempt < 5 && after === before; attempt++) {
      await new Promise((r) => setTimeout(r, 1100));
      after = await withClient(async (c) => {
        await c.mailboxDelete('Support');
        await c.mailboxCreate('Support');
        const status = await c.status('Support', { uidValidity: true });
        if (!status) throw new Error('STATUS Support failed');
        return Number(status.uidValidity);
      });
    }
    expect(after).not.toBe(before);
    for (let i = 1; i <= 12; i++) await dovecot.append(USER, 'Support', message(i));

    const second = await engine.inbox.pollNow(m.id);
    expect(second).toMatchObject({ outcome: 'ok', resynced: true, uidValidity: after, fetched: 12, imported: 2, duplicates: 10, failed: 0 });
    const imported = engine.inbox.list({ mailboxId: m.id, status: 'imported' }).messages;
    expect(imported).toHaveLength(12);
    expect(new Set(imported.map((r) => r.messageId)).size).toBe(12);
    expect(engine.inbox.list({ mailboxId: m.id, status: 'duplicate' }).messages.every((d) => d.uidValidity === after && d.duplicateOf !== null)).toBe(true);

    const warning = engine.log.query({ mailboxId: m.id, code: 'UIDVALIDITY_CHANGED' }, 5);
    expect(warning).toHaveLength(1);
    expect(warning[0]).toMatchObject({ level: 'warning', direction: 'receive' });
    expect(warning[0]!.message).toContain(`UIDVALIDITY ${before} -> ${after}`);
    expect(warning[0]!.detail).toMatch(/recognised by Message-ID/);

    // And the next poll is quiet again.
    expect(await engine.inbox.pollNow(m.id)).toMatchObject({ outcome: 'ok', fetched: 0, resynced: false });
  });
});
