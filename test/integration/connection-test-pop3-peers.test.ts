/**
 * POP3 connection tests through the engine against scripted peers that
 * replay real server texts no local server produces: Exchange's logon
 * failure, Gmail's web-login, application-specific password and bad
 * credentials replies, a server without UIDL, a maildrop locked by another
 * client, a server that refuses a plaintext sign-in before STLS. Each test
 * checks the diagnosis, the transcript's redaction and what the peer got.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionTestService } from '../../src-main/engine/connection-test/service';
import type { DnsResolver } from '../../src-main/engine/connection-test/dns-resolver';
import { makeTestCerts, type TestCerts } from '../helpers/certs';
import { startExchangePop3, startGmailPop3, startGmailPop3Accepting, startLockedPop3, startPlaintextRefusingPop3, startPop3WithoutUidl } from '../helpers/pop3-peers';
import type { ScriptedServer } from '../helpers/scripted-server';

const USER = 'support@example.test';
const PASSWORD = 'Peer-Secret-Pass-42';
const TOKEN = 'ya29.a0-scripted-access-token-0123456789';

const noDns: DnsResolver = { description: 'none', lookup: async () => [{ address: '127.0.0.1', family: 4 }], resolveMx: async () => [] };

describe('POP3 connection tests against scripted peers', () => {
  let certs: TestCerts;
  const peers: ScriptedServer[] = [];
  let tests: ConnectionTestService;

  beforeAll(() => {
    certs = makeTestCerts();
    tests = new ConnectionTestService({ resolver: noDns, ca: [certs.ca.cert] });
  });

  afterAll(async () => {
    await Promise.all(peers.map((p) => p.stop()));
    certs?.remove();
  });

  const started = async (peer: Promise<ScriptedServer>) => {
    const server = await peer;
    peers.push(server);
    return server;
  };

  const run = async (input: Record<string, unknown>) => {
    const [result] = await tests.run({ protocol: 'pop3', host: '127.0.0.1', user: USER, timeoutMs: 10_000, ...input });
    return result!;
  };

  /** No line of the stored result carries the secret, in any form. */
  const expectNoSecret = (result: unknown, secret: string) => {
    const text = JSON.stringify(result);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(Buffer.from(secret).toString('base64').slice(0, 16));
  };

  it("Exchange: USER/PASS refused with \"-ERR Logon failure: unknown user name or bad password.\" is AUTH_FAILED, the PASS line redacted", async () => {
    const exchange = await started(startExchangePop3());
    const result = await run({ port: exchange.port, security: 'none', password: PASSWORD });
    expect(result.steps.map((s) => `${s.name}:${s.status}`)).toEqual(['dns:ok', 'tcp:ok', 'tls:skipped', 'greeting:ok', 'capability:ok', 'starttls:skipped', 'auth:failed', 'stat:skipped']);
    expect(result.diagnosis).toMatchObject({ code: 'AUTH_FAILED', step: 'auth', serverReply: '-ERR Logon failure: unknown user name or bad password.' });
    expect(result.diagnosis!.hint).toContain('-PopEnabled $true');
    expect(result.transcript.filter((l) => l.dir === 'C').map((l) => l.text)).toEqual(['CAPA', `USER ${USER}`, 'PASS [redacted password]']);
    // The password did reach the peer (it was refused), and the test says it crossed unencrypted.
    expect(exchange.received).toContain(`PASS ${PASSWORD}`);
    expect(result.warnings?.map((w) => w.code)).toEqual(['PLAINTEXT_SIGN_IN']);
    expect(result.warnings![0]!.hint).toContain('port 110');
    expectNoSecret(result, PASSWORD);
  });

  it('Gmail: "-ERR [AUTH] Web login required" is BASIC_AUTH_DISABLED with the app-password way out, the SASL PLAIN blob redacted', async () => {
    const gmail = await started(startGmailPop3('web-login', certs.leaf));
    const result = await run({ port: gmail.port, security: 'tls', password: PASSWORD });
    expect(result.steps.find((s) => s.name === 'capability')!.detail).toContain('SASL PLAIN XOAUTH2 OAUTHBEARER');
    expect(result.diagnosis).toMatchObject({ code: 'BASIC_AUTH_DISABLED', step: 'auth', serverReply: '-ERR [AUTH] Web login required: https://support.google.com/mail/answer/78754' });
    expect(result.diagnosis!.hint).toContain('app password');
    expect(result.transcript.filter((l) => l.dir === 'C').map((l) => l.text)).toEqual(['CAPA', 'AUTH PLAIN', `[redacted: base64 of user "${USER}" and the password]`]);
    expect(result.warnings).toBeUndefined();
    expectNoSecret(result, PASSWORD);
  });

  it('Gmail: "-ERR [AUTH] Application-specific password required" is BASIC_AUTH_DISABLED', async () => {
    const gmail = await started(startGmailPop3('app-password', certs.leaf));
    const result = await run({ port: gmail.port, security: 'tls', password: PASSWORD });
    expect(result.diagnosis).toMatchObject({ code: 'BASIC_AUTH_DISABLED', step: 'auth' });
    expect(result.diagnosis!.serverReply).toMatch(/^-ERR \[AUTH\] Application-specific password required/);
  });

  it('Gmail: "-ERR [AUTH] Username and password not accepted." is AUTH_FAILED with the POP setting of Gmail', async () => {
    const gmail = await started(startGmailPop3('bad-credentials', certs.leaf));
    const result = await run({ port: gmail.port, security: 'tls', password: PASSWORD });
    expect(result.diagnosis).toMatchObject({ code: 'AUTH_FAILED', step: 'auth', serverReply: '-ERR [AUTH] Username and password not accepted.' });
    expect(result.diagnosis!.hint).toContain('Enable POP');
  });

  it('Gmail over XOAUTH2: signs in and counts the messages; the token is never in the result', async () => {
    const gmail = await started(startGmailPop3Accepting(certs.leaf));
    const result = await run({ port: gmail.port, security: 'tls', auth: 'xoauth2', token: TOKEN });
    expect(result.ok, JSON.stringify(result.diagnosis)).toBe(true);
    expect(result.steps.find((s) => s.name === 'auth')!.detail).toBe(`signed in as ${USER} with XOAUTH2`);
    expect(result.steps.find((s) => s.name === 'stat')!.detail).toBe('3 messages, 15.0 KB; UIDL offered (the import takes each message once)');
    expect(result.curlCommand).toContain("--oauth2-bearer '<TOKEN>'");
    expect(result.curlCommand).toContain('pop3s://127.0.0.1:');
    expectNoSecret(result, TOKEN);
  });

  it('a server without UIDL fails at the STAT step with POP3_NO_UIDL: the import could not dedupe', async () => {
    const old = await started(startPop3WithoutUidl());
    const result = await run({ port: old.port, security: 'none', password: PASSWORD });
    expect(result.steps.find((s) => s.name === 'capability')).toMatchObject({ status: 'ok' });
    expect(result.steps.find((s) => s.name === 'capability')!.detail).toContain('does not answer CAPA');
    expect(result.diagnosis).toMatchObject({ code: 'POP3_NO_UIDL', step: 'stat', serverReply: '-ERR Unknown command: UIDL' });
    expect(result.diagnosis!.summary).toContain('could not tell which messages it already imported');
  });

  it('a maildrop locked by another client ("-ERR [IN-USE] ...") is MAILDROP_LOCKED, not a wrong password', async () => {
    const locked = await started(startLockedPop3());
    const result = await run({ port: locked.port, security: 'none', password: PASSWORD });
    expect(result.diagnosis).toMatchObject({ code: 'MAILDROP_LOCKED', step: 'auth' });
    expect(result.diagnosis!.hint).toMatch(/Close the other program/);
  });

  it('a server that refuses plaintext sign-in before STLS: AUTH_REQUIRES_TLS, and the password was never sent', async () => {
    const refusing = await started(startPlaintextRefusingPop3());
    const result = await run({ port: refusing.port, security: 'none', password: PASSWORD });
    expect(result.diagnosis).toMatchObject({ code: 'AUTH_REQUIRES_TLS', step: 'auth' });
    expect(result.diagnosis!.hint).toContain('"STARTTLS" (port 110');
    expect(refusing.received.some((l) => l.startsWith('PASS'))).toBe(false);
    expect(result.warnings).toBeUndefined();
  });
});
