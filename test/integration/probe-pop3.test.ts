/**
 * A round-trip probe of a POP3 mailbox: sent through the mailbox's SMTP,
 * delivered by the test's MTA into Dovecot, found in the POP3 maildrop by
 * its header token (TOP of each message not looked at yet), timed and
 * deleted (DELE + QUIT); the other messages of the maildrop are left as
 * they were (the importer leaving probes alone is the same check as IMAP's,
 * test/integration/probe-roundtrip.test.ts).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { startDovecot, type Dovecot } from '../helpers/dovecot';

const PASSWORD = 'Dovecot-Pa55!word';
const USER = 'pop3probe@example.test';

let dovecot: Dovecot;
let mta: { port: number; stop(): Promise<void> };
let engine: Mailroom;
let dataRoot: string;

beforeAll(async () => {
  dovecot = await startDovecot({
    users: { [USER]: PASSWORD },
    pop3: true,
    messages: [1, 2].map((i) => ({ user: USER, raw: `From: c${i}@example.test\r\nTo: ${USER}\r\nSubject: Customer ${i}\r\nMessage-ID: <customer-${i}@example.test>\r\n\r\nHello ${i}\r\n` })),
  });
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    hideSTARTTLS: true,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const recipients = session.envelope.rcptTo.map((r) => r.address);
        callback();
        // Delivered after the 250, as on a real server.
        for (const address of recipients) setTimeout(() => void dovecot.append(address, 'INBOX', `Delivered-To: ${address}\r\n${Buffer.concat(chunks).toString('latin1')}`).catch(() => undefined), 300);
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  mta = { port: (server.server.address() as AddressInfo).port, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-probe-pop3-'));
  engine = openMailroom({ dataDir: path.join(dataRoot, 'data'), keyProvider: staticKeyProvider(crypto.randomBytes(32)) });
}, 60_000);

afterAll(async () => {
  await engine?.inbox.close();
  engine?.close();
  await mta?.stop();
  await dovecot?.stop();
  if (dataRoot) fs.rmSync(dataRoot, { recursive: true, force: true });
});

describe('round-trip probe of a POP3 mailbox', () => {
  it('is found in the maildrop by its token, timed and deleted; the rest of the maildrop stays and is imported', async () => {
    const box = engine.mailboxes.create({
      name: 'Pop3Probe',
      address: USER,
      preset: 'generic',
      receiveVia: 'pop3',
      imap: { host: '127.0.0.1', security: 'none' },
      pop3: { host: '127.0.0.1', port: dovecot.pop3Port, security: 'none', afterImport: 'delete' },
      smtp: { host: '127.0.0.1', port: mta.port, security: 'none', auth: 'none' },
      password: PASSWORD,
    });
    const record = await engine.probes.run(box.id, { timeoutSeconds: 30 });
    expect(record).toMatchObject({ status: 'delivered' });
    expect(record.deliverMs).toBeGreaterThanOrEqual(0);
    const left = dovecot.inboxMessages(USER).map((raw) => raw.toString('latin1'));
    expect(left).toHaveLength(2);
    expect(left.some((raw) => /X-Mailroom-Probe/i.test(raw))).toBe(false);

    const poll = await engine.inbox.pollNow(box.id);
    expect(poll).toMatchObject({ outcome: 'ok', imported: 2 });
    expect(engine.inbox.list({ mailboxId: box.id }).messages.map((m) => m.subject).sort()).toEqual(['Customer 1', 'Customer 2']);
  }, 90_000);
});
