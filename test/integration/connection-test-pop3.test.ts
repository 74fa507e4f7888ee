/**
 * POP3 connection tests through the engine against a private Dovecot POP3
 * (dovecot-pop3d) on 127.0.0.1: implicit TLS (POP3S), STLS on the plaintext
 * port, no TLS at all; SASL PLAIN and XOAUTH2 (through an introspection
 * endpoint) and USER/PASS; Dovecot's real refusals (a wrong password, a
 * maildrop locked by another session with pop3_lock_session = yes); the
 * wrong security for a port both ways; and that a test changes nothing in
 * the maildrop.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionTestService } from '../../src-main/engine/connection-test/service';
import type { DnsResolver } from '../../src-main/engine/connection-test/dns-resolver';
import { makeTestCerts, type TestCerts } from '../helpers/certs';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { RawPop3Client } from '../helpers/raw-pop3-client';

const USER = 'support@example.test';
const PASSWORD = 'Dovecot-Pop-Pass-42';
const GOOD_TOKEN = 'good-pop3-access-token-0123456789';

const noDns: DnsResolver = { description: 'none', lookup: async () => [{ address: '127.0.0.1', family: 4 }], resolveMx: async () => [] };
const message = (n: number) => `From: a@example.test\r\nSubject: message ${n}\r\nMessage-ID: <m${n}@example.test>\r\n\r\nbody ${n}\r\n`;

describe('POP3 connection tests against Dovecot', () => {
  let certs: TestCerts;
  let secure: Dovecot;
  let plain: Dovecot;
  let locking: Dovecot;
  let introspection: http.Server;
  let tests: ConnectionTestService;

  beforeAll(async () => {
    certs = makeTestCerts();
    introspection = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const token = new URLSearchParams(body).get('token');
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(token === GOOD_TOKEN ? { active: true, username: USER } : { active: false }));
      });
    });
    await new Promise<void>((r) => introspection.listen(0, '127.0.0.1', () => r()));
    const introspectionUrl = `http://127.0.0.1:${(introspection.address() as AddressInfo).port}/introspect`;
    [secure, plain, locking] = await Promise.all([
      startDovecot({ users: { [USER]: PASSWORD }, ssl: { cert: certs.leaf }, pop3: true, oauth2IntrospectionUrl: introspectionUrl, messages: [1, 2].map((n) => ({ user: USER, raw: message(n) })) }),
      startDovecot({ users: { [USER]: PASSWORD }, pop3: true, messages: [{ user: USER, raw: message(3) }] }),
      startDovecot({ users: { [USER]: PASSWORD }, pop3: { lockSession: true } }),
    ]);
    tests = new ConnectionTestService({ resolver: noDns, ca: [certs.ca.cert] });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([secure?.stop(), plain?.stop(), locking?.stop()]);
    await new Promise<void>((r) => (introspection ? introspection.close(() => r()) : r()));
    certs?.remove();
  });

  const run = async (input: Record<string, unknown>) => {
    const [result] = await tests.run({ protocol: 'pop3', host: '127.0.0.1', user: USER, timeoutMs: 10_000, ...input });
    return result!;
  };

  it('passes POP3S (implicit TLS) with SASL PLAIN, counting the messages and finding UIDL; the maildrop is left as it was', async () => {
    const result = await run({ port: secure.pop3TlsPort, security: 'tls', password: PASSWORD });
    expect(result.ok, JSON.stringify(result.diagnosis)).toBe(true);
    expect(result.steps.map((s) => `${s.name}:${s.status}`)).toEqual(['dns:ok', 'tcp:ok', 'tls:ok', 'greeting:ok', 'capability:ok', 'starttls:skipped', 'auth:ok', 'stat:ok']);
    expect(result.steps.find((s) => s.name === 'greeting')!.detail).toBe('Dovecot ready.');
    expect(result.steps.find((s) => s.name === 'capability')!.detail).toMatch(/\bUIDL\b.*\bSASL PLAIN\b/);
    expect(result.steps.find((s) => s.name === 'auth')!.detail).toBe(`signed in as ${USER} with SASL PLAIN`);
    expect(result.steps.find((s) => s.name === 'stat')!.detail).toMatch(/^2 messages, \d+ bytes; UIDL offered/);
    expect(result.tls).toMatchObject({ subject: 'CN=localhost', trusted: true });
    expect(result.transcript.filter((l) => l.dir === 'C').map((l) => l.text)).toEqual(['CAPA', 'AUTH PLAIN', `[redacted: base64 of user "${USER}" and the password]`, 'STAT', 'QUIT']);
    expect(JSON.stringify(result)).not.toContain(PASSWORD);
    // Nothing retrieved, nothing deleted.
    expect(secure.inboxCount(USER)).toBe(2);
  });

  it('passes STLS on the plaintext port, asking CAPA again after TLS', async () => {
    const result = await run({ port: secure.pop3Port, security: 'starttls', password: PASSWORD });
    expect(result.ok, JSON.stringify(result.diagnosis)).toBe(true);
    expect(result.steps.find((s) => s.name === 'starttls')!.detail).toMatch(/^TLSv1\.[23] /);
    expect(result.transcript.filter((l) => l.dir === 'C' && l.text === 'CAPA')).toHaveLength(2);
    expect(result.transcript.some((l) => l.dir === 'C' && l.text === 'STLS')).toBe(true);
    expect(result.warnings).toBeUndefined();
  });

  it('passes without TLS (security none) against a Dovecot without ssl, and warns that the password crossed in the clear', async () => {
    const result = await run({ port: plain.pop3Port, security: 'none', password: PASSWORD });
    expect(result.ok, JSON.stringify(result.diagnosis)).toBe(true);
    expect(result.steps.find((s) => s.name === 'stat')!.detail).toMatch(/^1 message, /);
    expect(result.warnings?.map((w) => w.code)).toEqual(['PLAINTEXT_SIGN_IN']);
    expect(result.curlCommand).toBe(`curl -v --url 'pop3://127.0.0.1:${plain.pop3Port}' --user '${USER}:<PASSWORD>' --request STAT --head`);
  });

  it("says AUTH_FAILED with Dovecot's \"-ERR [AUTH] Authentication failed.\" for a wrong password", async () => {
    const result = await run({ port: secure.pop3TlsPort, security: 'tls', password: 'wrong-password' });
    expect(result.diagnosis).toMatchObject({ code: 'AUTH_FAILED', step: 'auth', serverReply: '-ERR [AUTH] Authentication failed.' });
  });

  it('passes XOAUTH2 with a token the introspection endpoint accepts, and refuses a revoked one with OAUTH_TOKEN_REJECTED', async () => {
    const good = await run({ port: secure.pop3TlsPort, security: 'tls', auth: 'xoauth2', token: GOOD_TOKEN });
    expect(good.ok, JSON.stringify(good.diagnosis)).toBe(true);
    expect(good.steps.find((s) => s.name === 'auth')!.detail).toBe(`signed in as ${USER} with XOAUTH2`);
    const bad = await run({ port: secure.pop3TlsPort, security: 'tls', auth: 'xoauth2', token: 'revoked-token-0123456789' });
    expect(bad.diagnosis).toMatchObject({ code: 'OAUTH_TOKEN_REJECTED', step: 'auth' });
    expect(JSON.stringify([good, bad])).not.toMatch(/good-pop3-access-token|revoked-token-0123456789/);
  });

  it('says MAILDROP_LOCKED while another POP3 client holds the maildrop (Dovecot pop3_lock_session), with the reply Dovecot really sends', async () => {
    const holder = await RawPop3Client.connect({ port: locking.pop3Port });
    try {
      await holder.command(`USER ${USER}`);
      expect((await holder.command(`PASS ${PASSWORD}`)).ok).toBe(true);
      const result = await run({ port: locking.pop3Port, security: 'none', password: PASSWORD, timeoutMs: 60_000 });
      expect(result.steps.find((s) => s.name === 'auth')!.status).toBe('failed');
      expect(result.diagnosis).toMatchObject({ code: 'MAILDROP_LOCKED', step: 'auth' });
      // Dovecot 2.3 waits for the lock (about 10 s here) before it answers: the step timeout must allow it.
      expect(result.diagnosis!.serverReply).toBe('-ERR [IN-USE] Mailbox is locked by another POP3 session.');
    } finally {
      await holder.quit().catch(() => undefined);
      holder.destroy();
    }
  }, 120_000);

  it('says TLS_MODE_MISMATCH both ways: tls against the plaintext port, starttls against POP3S', async () => {
    const tlsOnPlain = await run({ port: secure.pop3Port, security: 'tls', password: PASSWORD });
    expect(tlsOnPlain.diagnosis).toMatchObject({ code: 'TLS_MODE_MISMATCH', step: 'tls' });
    expect(tlsOnPlain.diagnosis!.serverReply).toBe('+OK Dovecot ready.');
    const starttlsOnTls = await run({ port: secure.pop3TlsPort, security: 'starttls', password: PASSWORD });
    expect(starttlsOnTls.diagnosis).toMatchObject({ code: 'TLS_MODE_MISMATCH', step: 'greeting' });
  });

  it('says PROTOCOL_MISMATCH, naming IMAP, for a POP3 test pointed at the IMAP port', async () => {
    const result = await run({ port: secure.port, security: 'starttls', password: PASSWORD });
    expect(result.diagnosis).toMatchObject({ code: 'PROTOCOL_MISMATCH', step: 'greeting' });
    expect(result.diagnosis!.summary).toContain('is not a POP3 port: it answered like an IMAP server');
    expect(result.diagnosis!.hint).toContain('POP3 uses port 995');
  });
});
