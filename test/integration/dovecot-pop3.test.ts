/**
 * The test Dovecot's POP3 service (dovecot-pop3d): plaintext + STLS and
 * implicit TLS listeners, sign-in with USER/PASS, SASL PLAIN and XOAUTH2
 * (an oauth2 passdb asking a small introspection endpoint), UIDL, RETR and a
 * DELE that QUIT commits. Other POP3 tests rely on these behaviours.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCerts, type TestCerts } from '../helpers/certs';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { RawPop3Client } from '../helpers/raw-pop3-client';

const USER = 'support@example.test';
const PASSWORD = crypto.randomBytes(9).toString('hex');
const TOKEN = crypto.randomBytes(24).toString('base64url');
const RAW = ['From: customer@example.test', `To: ${USER}`, 'Subject: Printer on fire', '', 'Help.', '.dotted line', ''].join('\r\n');

let certs: TestCerts;
let dovecot: Dovecot;
let introspection: http.Server;

beforeAll(async () => {
  certs = makeTestCerts();
  introspection = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const token = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('token');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(token === TOKEN ? { active: true, username: USER } : { active: false }));
    });
  });
  await new Promise<void>((resolve) => introspection.listen(0, '127.0.0.1', () => resolve()));
  dovecot = await startDovecot({
    users: { [USER]: PASSWORD },
    ssl: { cert: certs.leaf },
    pop3: true,
    oauth2IntrospectionUrl: `http://127.0.0.1:${(introspection.address() as AddressInfo).port}/introspect`,
    messages: [{ user: USER, raw: RAW }],
  });
}, 60_000);

afterAll(async () => {
  await dovecot?.stop();
  await new Promise<void>((resolve) => (introspection ? introspection.close(() => resolve()) : resolve()));
  certs?.remove();
});

const plain = (user: string, password: string) => Buffer.from(`\0${user}\0${password}`).toString('base64');
const xoauth2 = (user: string, token: string) => Buffer.from(`user=${user}\x01auth=Bearer ${token}\x01\x01`).toString('base64');

describe('Dovecot POP3 for tests', () => {
  it('offers STLS, SASL PLAIN and XOAUTH2, UIDL and USER on the plaintext port', async () => {
    const pop = await RawPop3Client.connect({ port: dovecot.pop3Port });
    const capa = (await pop.multiline('CAPA')).body.toString('latin1');
    expect(capa).toMatch(/^STLS$/m);
    expect(capa).toMatch(/^UIDL$/m);
    expect(capa).toMatch(/^USER$/m);
    expect(capa).toMatch(/^SASL .*PLAIN/m);
    expect(capa).toMatch(/^SASL .*XOAUTH2/m);
    await pop.quit();
  });

  it('signs in with USER/PASS and reads the message byte for byte', async () => {
    const pop = await RawPop3Client.connect({ port: dovecot.pop3Port });
    expect((await pop.command(`USER ${USER}`)).ok).toBe(true);
    expect((await pop.command(`PASS ${PASSWORD}`)).ok).toBe(true);
    const uidl = (await pop.multiline('UIDL')).body.toString('latin1');
    expect(uidl).toMatch(/^1 [0-9a-fA-F]{16}\r\n$/);
    expect((await pop.multiline('RETR 1')).body.toString('latin1')).toBe(RAW);
    await pop.quit();
  });

  it('refuses a wrong password with Dovecot\'s [AUTH] reply', async () => {
    const pop = await RawPop3Client.connect({ port: dovecot.pop3Port });
    await pop.command(`USER ${USER}`);
    const reply = await pop.command('PASS not-the-password');
    expect(reply).toMatchObject({ ok: false, text: '[AUTH] Authentication failed.' });
    await pop.quit();
  });

  it('signs in with SASL PLAIN after STLS', async () => {
    const pop = await RawPop3Client.connect({ port: dovecot.pop3Port });
    expect((await pop.startTls(certs.ca.cert)).ok).toBe(true);
    expect((await pop.command(`AUTH PLAIN ${plain(USER, PASSWORD)}`)).ok).toBe(true);
    expect((await pop.command('STAT')).text).toMatch(/^1 \d+$/);
    await pop.quit();
  });

  it('signs in with SASL PLAIN on the implicit-TLS port', async () => {
    const pop = await RawPop3Client.connect({ port: dovecot.pop3TlsPort, tls: true, ca: certs.ca.cert });
    expect((await pop.command(`AUTH PLAIN ${plain(USER, PASSWORD)}`)).ok).toBe(true);
    await pop.quit();
  });

  it('signs in with XOAUTH2 for a token the introspection endpoint vouches for, and refuses another', async () => {
    const pop = await RawPop3Client.connect({ port: dovecot.pop3TlsPort, tls: true, ca: certs.ca.cert });
    expect((await pop.command(`AUTH XOAUTH2 ${xoauth2(USER, TOKEN)}`)).ok).toBe(true);
    await pop.quit();

    const refused = await RawPop3Client.connect({ port: dovecot.pop3TlsPort, tls: true, ca: certs.ca.cert });
    let reply = await refused.command(`AUTH XOAUTH2 ${xoauth2(USER, 'forged')}`);
    // Dovecot answers a failed XOAUTH2 with a "+ <base64 JSON error>" continuation; an empty line ends it.
    if (reply.status === '+') reply = await refused.command('');
    expect(reply.ok).toBe(false);
    await refused.quit();
  });

  it('removes a message only when QUIT commits the DELE', async () => {
    const raw = 'Subject: to delete\r\n\r\nbye\r\n';
    await dovecot.append(USER, 'INBOX', raw);
    expect(dovecot.inboxCount(USER)).toBe(2);

    const dropped = await RawPop3Client.connect({ port: dovecot.pop3Port });
    await dropped.command(`USER ${USER}`);
    await dropped.command(`PASS ${PASSWORD}`);
    expect((await dropped.command('DELE 2')).ok).toBe(true);
    dropped.destroy();
    // The server notices the dropped connection in its own time: wait for the next session to see both.
    const count = async () => {
      const pop = await RawPop3Client.connect({ port: dovecot.pop3Port });
      await pop.command(`USER ${USER}`);
      await pop.command(`PASS ${PASSWORD}`);
      const n = Number((await pop.command('STAT')).text.split(' ')[0]);
      return { pop, n };
    };
    const again = await count();
    expect(again.n).toBe(2);
    expect((await again.pop.command('DELE 2')).ok).toBe(true);
    expect((await again.pop.quit()).ok).toBe(true);
    expect(dovecot.inboxCount(USER)).toBe(1);
  });
});

describe('Dovecot POP3 with pop3_lock_session', () => {
  it('refuses a second session of the same user with [IN-USE] while one is open', async () => {
    const locked = await startDovecot({ users: { [USER]: PASSWORD }, pop3: { lockSession: true }, messages: [{ user: USER, raw: RAW }] });
    try {
      const first = await RawPop3Client.connect({ port: locked.pop3Port });
      await first.command(`USER ${USER}`);
      expect((await first.command(`PASS ${PASSWORD}`)).ok).toBe(true);
      const second = await RawPop3Client.connect({ port: locked.pop3Port });
      await second.command(`USER ${USER}`);
      const reply = await second.command(`PASS ${PASSWORD}`);
      expect(reply.ok).toBe(false);
      expect(reply.text).toMatch(/^\[IN-USE\]/);
      await second.quit().catch(() => undefined);
      await first.quit();
    } finally {
      await locked.stop();
    }
  }, 60_000);
});
