/**
 * The local submission relay: a plain SMTP client (a scanner) submits, the
 * relay answers 250 only once the message is committed, and the mailbox's
 * sender delivers it upstream with the mailbox's own sign-in (a password
 * here, Microsoft 365 OAuth through XOAUTH2 in relay-xoauth2.test.ts). Bad
 * credentials are refused; the listener is on 127.0.0.1 only; STARTTLS is
 * offered when a certificate is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import nodemailer from 'nodemailer';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { startOutboxSmtp, type OutboxSmtp } from '../helpers/outbox-smtp';
import { openOutboxEnv, type OutboxTestEnv } from '../helpers/outbox-engine';
import { makeTestCerts, type TestCerts } from '../helpers/certs';
import fs from 'node:fs';
import { EngineRuntime } from '../../src-main/engine/runtime';
import { RawSmtpClient } from '../helpers/raw-smtp-client';

const SCANNER_PASSWORD = 'Scanner-Pa55-3rd-floor';
let upstream: OutboxSmtp;
let env: OutboxTestEnv;
let runtime: EngineRuntime;
let relayPort: number;
let dataDir: string;
let certs: TestCerts;

function relayClient(options: Record<string, unknown> = {}) {
  return nodemailer.createTransport({ host: '127.0.0.1', port: relayPort, secure: false, ignoreTLS: true, connectionTimeout: 5000, greetingTimeout: 5000, socketTimeout: 10000, ...options });
}

const scannerMessage = (subject: string) => ({
  from: 'scanner@floor3.example.test',
  to: 'accounts@example.net',
  subject,
  text: 'Scanned document attached.',
  attachments: [{ filename: 'scan.pdf', content: Buffer.from('%PDF-1.4 test') }],
});

beforeAll(async () => {
  certs = makeTestCerts();
  upstream = await startOutboxSmtp({ users: { 'support@example.test': 'upstream-secret' } });
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-relay-'));
  env = openOutboxEnv(dataDir, { port: upstream.port, auth: { mode: 'password', user: 'support@example.test', password: 'upstream-secret' } });
  await env.engine.relay.saveSettings({ enabled: true, port: 2525, addAccounts: [{ username: 'scanner', mailboxId: env.mailbox.id, password: SCANNER_PASSWORD }] });
  runtime = new EngineRuntime(env.engine, { runtime: 'test', relay: false, inbox: false });
  await runtime.start();
  relayPort = (await env.engine.relay.start(0)).port;
});

afterAll(async () => {
  await runtime?.stop(1000);
  await env?.engine.relay.stop();
  await env?.close();
  await upstream?.stop();
  certs?.remove();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('local submission relay', () => {
  it('listens on 127.0.0.1 only', async () => {
    const settings = env.engine.relay.settings();
    expect(settings).toMatchObject({ host: '127.0.0.1', running: true, listeningPort: relayPort });
    const others = Object.values(os.networkInterfaces())
      .flat()
      .filter((a) => a && !a.internal && a.family === 'IPv4')
      .map((a) => a!.address);
    for (const address of ['::1', ...others]) {
      const refused = await new Promise<boolean>((resolve) => {
        const socket = net.connect({ host: address, port: relayPort });
        socket.once('connect', () => (socket.destroy(), resolve(false)));
        socket.once('error', () => resolve(true));
      });
      expect(refused, `connect to ${address}:${relayPort}`).toBe(true);
    }
  });

  it('accepts a message from a plain SMTP client with a relay account, committed before the 250', async () => {
    const info = await relayClient({ auth: { user: 'scanner', pass: SCANNER_PASSWORD } }).sendMail(scannerMessage('Scan 0001'));
    const id = Number(/Queued as (\d+) for Support/.exec(info.response)?.[1]);
    expect(id).toBeGreaterThan(0);
    // Another connection to the file sees the row: it was committed before the relay answered.
    const other = new Database(path.join(dataDir, 'mailroom.db'), { readonly: true });
    try {
      expect(other.prepare('SELECT source, submitted_by FROM outbox_messages WHERE id = ?').get(id)).toEqual({ source: 'relay', submitted_by: 'relay:scanner' });
    } finally {
      other.close();
    }
    await expect.poll(() => env.engine.outbox.get(id).status, { timeout: 15_000 }).toBe('sent');
    const delivered = upstream.messages.at(-1)!;
    expect(delivered).toMatchObject({ from: 'support@example.test', to: ['accounts@example.net'], user: 'support@example.test' });
    expect(delivered.raw).toContain('Subject: Scan 0001');
    expect(delivered.raw).toContain(`Message-ID: <${env.engine.outbox.get(id).messageId}>`);
    expect(upstream.authAttempts.at(-1)).toEqual({ method: 'PLAIN', username: 'support@example.test', ok: true });
    const logged = env.engine.log.query({ refKind: 'outbox', refId: id });
    expect(logged.some((l) => /Relay accepted "Scan 0001" from account scanner/.test(l.message))).toBe(true);
  });

  it('passes the reported header lines through unchanged, with BODY=8BITMIME upstream, and refuses a leading mbox line with 554 naming it', async () => {
    const client = await RawSmtpClient.connect(relayPort);
    try {
      expect((await client.authPlain('scanner', SCANNER_PASSWORD)).code).toBe(235);
      const submitted = Buffer.concat([
        Buffer.from('From: Scanner <scanner@floor3.example.test>\r\nTo: accounts@example.net\r\nSubject : spaced colon\r\nX-Obs : observed\r\nX-Gr'),
        Buffer.from([0xfc, 0xdf]),
        Buffer.from('e: hallo\r\n\tcontinued\r\nMessage-ID: <reported-1@floor3.example.test>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\n\r\nScan attached.\r\n'),
      ]);
      const reply = await client.send('scanner@floor3.example.test', ['accounts@example.net'], submitted);
      expect(reply.code).toBe(250);
      const id = Number(/Queued as (\d+)/.exec(reply.text)![1]);
      expect(env.engine.outbox.get(id).subject).toBe('spaced colon');
      await expect.poll(() => env.engine.outbox.get(id).status, { timeout: 15_000 }).toBe('sent');
      const delivered = upstream.messages.find((m) => m.bytes.includes(Buffer.from('<reported-1@floor3.example.test>')))!;
      const received = delivered.bytes.subarray(0, delivered.bytes.length - submitted.length).toString('latin1');
      expect(received).toMatch(/^Received: from scanner\.test \(\[127\.0\.0\.1\]\) by mailroom-relay\.localhost \(Mailroom relay\) with ESMTPA id \w+; .+\r\n$/);
      expect(delivered.bytes.subarray(received.length).equals(submitted)).toBe(true);
      expect(delivered.mailFromArgs).toEqual({ BODY: '8BITMIME' });

      const mbox = Buffer.from('From scanner@floor3.example.test Mon Jan  5 10:00:00 2026\r\nTo: accounts@example.net\r\nSubject: mbox\r\n\r\nb\r\n');
      const refused = await client.send('scanner@floor3.example.test', ['accounts@example.net'], mbox);
      expect(refused).toEqual({ code: 554, text: '5.6.0 Line 1 "From scanner@floor3.example.test Mon Jan  5 10:00:00 2026" is an mbox separator, not a header; the message was not queued.' });
      const logged = env.engine.log.query({ code: 'RELAY_MESSAGE_REFUSED' });
      expect(logged[0]!.message).toContain('Line 1 "From scanner@floor3.example.test');
    } finally {
      await client.quit();
    }
  });

  it('refuses bad relay credentials with 535, queues nothing, and logs the refusal without the password', async () => {
    const total = () => Object.values(env.engine.outbox.counts()).reduce((a, b) => a + b, 0);
    const before = total();
    const error = await relayClient({ auth: { user: 'scanner', pass: 'Wrong-Pa55word-9' } }).sendMail(scannerMessage('Scan 0002')).catch((e: unknown) => e as { responseCode?: number; code?: string });
    expect(error).toMatchObject({ code: 'EAUTH', responseCode: 535 });
    const unknown = await relayClient({ auth: { user: 'nobody', pass: SCANNER_PASSWORD } }).sendMail(scannerMessage('Scan 0003')).catch((e: unknown) => e as { responseCode?: number });
    expect(unknown).toMatchObject({ responseCode: 535 });
    expect(total()).toBe(before);
    const refusals = env.engine.log.query({ code: 'RELAY_AUTH_FAILED' });
    expect(refusals.length).toBe(2);
    expect(JSON.stringify(refusals)).not.toContain('Wrong-Pa55word-9');
  });

  it('refuses a client that does not sign in (530), unless sending as a mailbox is allowed without it', async () => {
    const anonymous = await relayClient().sendMail(scannerMessage('Scan 0004')).catch((e: unknown) => e as { responseCode?: number });
    expect(anonymous).toMatchObject({ responseCode: 530 });

    await env.engine.relay.saveSettings({ allowUnauthenticated: true });
    await env.engine.relay.stop();
    relayPort = (await env.engine.relay.start(0)).port;
    const stranger = await relayClient().sendMail(scannerMessage('Scan 0005')).catch((e: unknown) => e as { responseCode?: number });
    expect(stranger).toMatchObject({ responseCode: 550 });
    const asMailbox = await relayClient().sendMail({ ...scannerMessage('Scan 0006'), from: 'support@example.test' });
    expect(asMailbox.response).toMatch(/^250 .*Queued as \d+ for Support/);
    await env.engine.relay.saveSettings({ allowUnauthenticated: false });
    await env.engine.relay.stop();
    relayPort = (await env.engine.relay.start(0)).port;
  });

  it('offers STARTTLS once a certificate is stored, and refuses a key that does not belong to it', async () => {
    const mismatch = await env.engine.relay.saveSettings({ tls: { certPem: certs.leaf.cert, keyPem: certs.selfSigned.key } }).catch((e: unknown) => e as { code?: string });
    expect(mismatch).toMatchObject({ code: 'VALIDATION_FAILED' });
    const plain = await relayClient({ requireTLS: true, ignoreTLS: false, auth: { user: 'scanner', pass: SCANNER_PASSWORD } }).sendMail(scannerMessage('Scan 0007')).catch((e: unknown) => e as Error);
    expect(plain).toBeInstanceOf(Error);

    const saved = await env.engine.relay.saveSettings({ tls: { certPem: certs.leaf.cert, keyPem: certs.leaf.key } });
    expect(saved.starttls).toBe(true);
    expect(saved.tlsSubject).toContain('CN=localhost');
    await env.engine.relay.stop();
    relayPort = (await env.engine.relay.start(0)).port;
    const tls = await relayClient({ requireTLS: true, ignoreTLS: false, tls: { ca: certs.ca.cert, servername: 'localhost' }, auth: { user: 'scanner', pass: SCANNER_PASSWORD } }).sendMail(scannerMessage('Scan 0008'));
    expect(tls.response).toMatch(/Queued as \d+ for Support/);
    // The private key is stored sealed, never as PEM text.
    const other = new Database(path.join(dataDir, 'mailroom.db'), { readonly: true });
    try {
      const dump = JSON.stringify(other.prepare('SELECT * FROM relay_settings').all()) + JSON.stringify(other.prepare('SELECT * FROM relay_accounts').all());
      expect(dump).not.toContain('PRIVATE KEY');
      expect(dump).not.toContain(SCANNER_PASSWORD);
      expect((other.prepare('SELECT password_hash FROM relay_accounts').get() as { password_hash: string }).password_hash).toMatch(/^scrypt\$/);
    } finally {
      other.close();
    }
  });

  it('names a port that is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const taken = (blocker.address() as AddressInfo).port;
    try {
      const error = await env.engine.relay.stop().then(() => env.engine.relay.start(taken)).catch((e: unknown) => e as { code?: string; hint?: string });
      expect(error).toMatchObject({ code: 'RELAY_PORT_IN_USE' });
      expect((error as { hint: string }).hint).toContain(String(taken));
    } finally {
      blocker.close();
      relayPort = (await env.engine.relay.start(0)).port;
    }
  });
});
