/**
 * IMAP connection tests through the engine against a private Dovecot on
 * 127.0.0.1 (with TLS: STARTTLS and implicit TLS; without TLS; with TLS
 * required for sign-in; XOAUTH2 through an introspection endpoint), and a
 * scripted server replaying Microsoft 365's IMAP texts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionTestService } from '../../src-main/engine/connection-test/service';
import type { DnsResolver } from '../../src-main/engine/connection-test/dns-resolver';
import { makeTestCerts, type TestCerts } from '../helpers/certs';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { startScriptedServer, type ScriptedServer } from '../helpers/scripted-server';

const USER = 'support@example.test';
const PASSWORD = 'Dovecot-Pass-42';
const GOOD_TOKEN = 'good-access-token-0123456789';

const noDns: DnsResolver = { description: 'none', lookup: async () => [{ address: '127.0.0.1', family: 4 }], resolveMx: async () => [] };

describe('IMAP connection tests against Dovecot', () => {
  let certs: TestCerts;
  let secure: Dovecot;
  let plain: Dovecot;
  let loginDisabled: ScriptedServer;
  let introspection: http.Server;
  let m365: ScriptedServer;
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
    [secure, plain] = await Promise.all([
      startDovecot({
        users: { [USER]: PASSWORD },
        ssl: { cert: certs.leaf },
        oauth2IntrospectionUrl: introspectionUrl,
        // Dovecot keeps Maildir++ folder names in modified UTF-7 on disk: this one is "Entwürfe".
        folders: ['Support', 'Entw&APw-rfe'],
        messages: [
          { user: USER, raw: 'From: a@example.test\r\nSubject: one\r\n\r\nbody\r\n' },
          { user: USER, folder: 'Support', raw: 'From: b@example.test\r\nSubject: two\r\n\r\nbody\r\n', flags: 'S' },
        ],
      }),
      startDovecot({ users: { [USER]: PASSWORD } }),
    ]);
    // Dovecot with disable_plaintext_auth = yes, as a client from another address sees it. (A private
    // Dovecot treats 127.0.0.1 -> 127.0.0.1 as a secured local connection and never shows LOGINDISABLED.)
    loginDisabled = await startScriptedServer({
      script: [
        { send: '* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS LOGINDISABLED] Dovecot ready.' },
        { expect: /CAPABILITY/ },
        { send: ['* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS LOGINDISABLED', 'M1 OK Pre-login capabilities listed, post-login capabilities have more.'] },
        { expect: true },
        { send: '* BAD [ALERT] Plaintext authentication not allowed without SSL/TLS, but your client did it anyway. If anyone was listening, the password was exposed.' },
      ],
    });
    // Microsoft 365 after a sign-in with a token of an account that cannot open this mailbox.
    m365 = await startScriptedServer({
      implicitTls: certs.leaf,
      script: [
        { send: '* OK The Microsoft Exchange IMAP4 service is ready. [UwBJADIAUABSADAAMQBDAEEAMAAwADQAMgAuAGEAcABjAHAAcgBkADAAMQAuAHAAcgBvAGQALgBlAHgAYwBoAGEAbgBnAGUAbABhAGIAcwAuAGMAbwBtAA==]' },
        { expect: /CAPABILITY/ },
        { send: ['* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+', 'M1 OK CAPABILITY completed.'] },
        { expect: /AUTHENTICATE XOAUTH2/ },
        { send: 'M2 OK AUTHENTICATE completed.' },
        { expect: /EXAMINE/ },
        { send: ['M3 BAD User is authenticated but not connected.', '* BYE Connection closed. 14'] },
        { close: true },
      ],
    });
    tests = new ConnectionTestService({ resolver: noDns, ca: [certs.ca.cert] });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([secure?.stop(), plain?.stop(), loginDisabled?.stop(), m365?.stop()]);
    await new Promise<void>((r) => (introspection ? introspection.close(() => r()) : r()));
    certs?.remove();
  });

  const run = async (input: Record<string, unknown>) => {
    const [result] = await tests.run({ protocol: 'imap', host: '127.0.0.1', user: USER, timeoutMs: 10_000, ...input });
    return result!;
  };

  it('passes implicit TLS + AUTHENTICATE PLAIN + select, counting the messages', async () => {
    const result = await run({ port: secure.tlsPort, security: 'tls', password: PASSWORD });
    expect(result.ok, JSON.stringify(result.diagnosis)).toBe(true);
    expect(result.steps.map((s) => `${s.name}:${s.status}`)).toEqual(['dns:ok', 'tcp:ok', 'tls:ok', 'greeting:ok', 'capability:ok', 'starttls:skipped', 'auth:ok', 'select:ok']);
    expect(result.steps.find((s) => s.name === 'greeting')!.detail).toBe('Dovecot ready.');
    expect(result.steps.find((s) => s.name === 'select')!.detail).toBe('INBOX: 1 message (opened read-only)');
    expect(result.tls).toMatchObject({ subject: 'CN=localhost', trusted: true });
  });

  it('passes STARTTLS on the plaintext port and opens another folder', async () => {
    const result = await run({ port: secure.port, security: 'starttls', password: PASSWORD, folder: 'Support' });
    expect(result.ok, JSON.stringify(result.diagnosis)).toBe(true);
    expect(result.steps.find((s) => s.name === 'starttls')!.detail).toMatch(/^TLSv1\.[23] /);
    // Capabilities are asked again after TLS (RFC 3501 6.2.1).
    expect(result.transcript.filter((l) => l.dir === 'C' && /CAPABILITY$/.test(l.text))).toHaveLength(2);
    expect(result.steps.find((s) => s.name === 'select')!.detail).toBe('Support: 1 message (opened read-only)');
  });

  it('selects a folder with a non-ASCII name (modified UTF-7)', async () => {
    const result = await run({ port: secure.tlsPort, security: 'tls', password: PASSWORD, folder: 'Entwürfe' });
    expect(result.ok, JSON.stringify(result.diagnosis)).toBe(true);
    expect(result.transcript.some((l) => l.dir === 'C' && l.text.endsWith('EXAMINE "Entw&APw-rfe"'))).toBe(true);
  });

  it('passes without TLS (security none) against a Dovecot without ssl', async () => {
    const result = await run({ port: plain.port, security: 'none', password: PASSWORD });
    expect(result.ok, JSON.stringify(result.diagnosis)).toBe(true);
    expect(result.steps.find((s) => s.name === 'starttls')!.detail).toBe('not used: security "None (plain text)"');
  });

  it('says AUTH_REQUIRES_TLS when the server disables plaintext sign-in (LOGINDISABLED), without sending the password', async () => {
    const result = await run({ port: loginDisabled.port, security: 'none', password: PASSWORD });
    expect(result.diagnosis).toMatchObject({ code: 'AUTH_REQUIRES_TLS', step: 'auth' });
    expect(result.diagnosis!.hint).toContain('"STARTTLS" (port 143)');
    // The password was never sent.
    expect(result.transcript.some((l) => l.dir === 'C' && /LOGIN|AUTHENTICATE/.test(l.text))).toBe(false);
  });

  it('says AUTH_FAILED with Dovecot\'s reply for a wrong password', async () => {
    const result = await run({ port: secure.tlsPort, security: 'tls', password: 'wrong' });
    expect(result.diagnosis).toMatchObject({ code: 'AUTH_FAILED', step: 'auth' });
    expect(result.diagnosis!.serverReply).toMatch(/NO \[AUTHENTICATIONFAILED\] Authentication failed\./);
  });

  it('says FOLDER_NOT_FOUND with Dovecot\'s reply for a missing folder', async () => {
    const result = await run({ port: secure.tlsPort, security: 'tls', password: PASSWORD, folder: 'Tickets' });
    expect(result.diagnosis).toMatchObject({ code: 'FOLDER_NOT_FOUND', step: 'select' });
    expect(result.diagnosis!.serverReply).toMatch(/NO Mailbox doesn't exist: Tickets/);
  });

  it('passes XOAUTH2 with a token the introspection endpoint accepts', async () => {
    const result = await run({ port: secure.tlsPort, security: 'tls', auth: 'xoauth2', token: GOOD_TOKEN });
    expect(result.ok, JSON.stringify(result.diagnosis)).toBe(true);
    expect(result.steps.find((s) => s.name === 'auth')!.detail).toBe(`signed in as ${USER} with XOAUTH2`);
  });

  it('says OAUTH_TOKEN_REJECTED and keeps Dovecot\'s decoded error for a token it refuses', async () => {
    const result = await run({ port: secure.tlsPort, security: 'tls', auth: 'xoauth2', token: 'revoked-token' });
    expect(result.diagnosis).toMatchObject({ code: 'OAUTH_TOKEN_REJECTED', step: 'auth' });
    expect(result.transcript.some((l) => l.dir === 'info' && /XOAUTH2 error details \(decoded\): \{"status":"401"/.test(l.text))).toBe(true);
  });

  it('says OAUTH_WRONG_ACCOUNT for Microsoft 365\'s "User is authenticated but not connected"', async () => {
    const result = await run({ port: m365.port, security: 'tls', auth: 'xoauth2', token: 'a-token-for-another-account' });
    expect(result.steps.find((s) => s.name === 'auth')!.status).toBe('ok');
    expect(result.diagnosis).toMatchObject({ code: 'OAUTH_WRONG_ACCOUNT', step: 'select' });
    expect(result.diagnosis!.serverReply).toContain('M3 BAD User is authenticated but not connected.');
  });

  it('says TLS_MODE_MISMATCH both ways: tls against the plaintext port, starttls against the TLS port', async () => {
    const tlsOnPlain = await run({ port: secure.port, security: 'tls', password: PASSWORD });
    expect(tlsOnPlain.diagnosis).toMatchObject({ code: 'TLS_MODE_MISMATCH', step: 'tls' });
    expect(tlsOnPlain.diagnosis!.serverReply).toMatch(/^\* OK .*Dovecot ready\.$/);
    const starttlsOnTls = await run({ port: secure.tlsPort, security: 'starttls', password: PASSWORD });
    expect(starttlsOnTls.diagnosis).toMatchObject({ code: 'TLS_MODE_MISMATCH', step: 'greeting' });
    // Found by the side connection, long before the 10 s step timeout.
    expect(starttlsOnTls.steps.find((s) => s.name === 'greeting')!.ms).toBeLessThan(5000);
  });
});
