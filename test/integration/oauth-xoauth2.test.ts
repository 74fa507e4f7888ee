/**
 * XOAUTH2 end to end: an smtp-server that accepts XOAUTH2 only, and only with
 * a live token the test IdP issued for that user. Tokens come from Mailroom's
 * token provider after a real sign-in.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { buildXOAuth2, parseXOAuth2 } from '../../src-main/engine/auth/xoauth2';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { isAppError } from '../../src-main/shared/errors';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';
import { tempDir } from '../helpers/temp';

let idp: TestIdp;
let smtp: SMTPServer;
let smtpPort: number;
let rejectAll = false;
const received: string[] = [];
let engine: Mailroom;
let mailboxId: number;

async function signIn(): Promise<void> {
  const started = await engine.oauth.beginSignIn({ mailboxId });
  const answer = await idp.authorize(started.url);
  await fetch(started.redirectUri, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ code: answer.code!, state: answer.state! }).toString() });
  expect((await engine.oauth.waitForSignIn(started.signInId)).state).toBe('succeeded');
}

beforeAll(async () => {
  idp = await startTestIdp();
  smtp = new SMTPServer({
    authMethods: ['XOAUTH2'],
    allowInsecureAuth: true, // loopback only, plain text: this test is about the token, not TLS
    disabledCommands: ['STARTTLS'],
    logger: false,
    onAuth(auth, _session, callback) {
      const owner = auth.method === 'XOAUTH2' && auth.accessToken ? idp.verifyAccessToken(auth.accessToken) : undefined;
      if (!rejectAll && owner && owner.toLowerCase() === String(auth.username).toLowerCase()) return callback(null, { user: owner });
      return callback(null, { data: { status: '401', schemes: 'bearer', scope: 'https://outlook.office.com/SMTP.Send' } });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push(`${session.user}:${Buffer.concat(chunks).toString('utf8')}`);
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
  smtpPort = (smtp.server.address() as AddressInfo).port;

  engine = openMailroom({ dataDir: tempDir('mailroom-xoauth2-'), keyProvider: staticKeyProvider(crypto.randomBytes(32)), fetch: idp.fetch });
  engine.oauth.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, redirectHost: '127.0.0.1' });
  mailboxId = engine.mailboxes.create({ name: 'Support', address: 'support@contoso.test', preset: 'microsoft365', smtp: { host: '127.0.0.1', port: smtpPort, security: 'none' } }).id;
  await signIn();
});

afterAll(async () => {
  engine?.close();
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
  await idp.stop();
});

function send(token: { user: string; accessToken: string }, subject: string) {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true, auth: { type: 'OAuth2', user: token.user, accessToken: token.accessToken } });
  return transport.sendMail({ from: token.user, to: 'customer@example.test', subject, text: 'Hello from Mailroom' }).finally(() => transport.close());
}

/** A raw SMTP exchange: EHLO, then AUTH XOAUTH2 with the initial response. Returns the AUTH reply line. */
function rawAuth(initialResponse: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(smtpPort, '127.0.0.1');
    let buffer = '';
    let step = 0;
    socket.setTimeout(5000, () => socket.destroy(new Error('SMTP timeout')));
    socket.on('data', (d) => {
      buffer += d.toString('utf8');
      const lines = buffer.split('\r\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        if (step === 0 && line.startsWith('220 ')) {
          socket.write('EHLO mailroom.test\r\n');
          step = 1;
        } else if (step === 1 && line.startsWith('250 ')) {
          socket.write(`AUTH XOAUTH2 ${initialResponse}\r\n`);
          step = 2;
        } else if (step === 2 && /^(235|334|535)/.test(line)) {
          if (line.startsWith('334')) socket.write('\r\n'); // the error challenge: answer empty, as clients do
          else {
            socket.end('QUIT\r\n');
            resolve(line);
          }
        }
      }
    });
    socket.on('error', reject);
  });
}

describe('XOAUTH2 with tokens from the token provider', () => {
  it('builds the SASL string servers expect', () => {
    const b64 = buildXOAuth2('support@contoso.test', 'abc.def');
    expect(Buffer.from(b64, 'base64').toString('utf8')).toBe('user=support@contoso.test\x01auth=Bearer abc.def\x01\x01');
    expect(parseXOAuth2(b64)).toEqual({ user: 'support@contoso.test', accessToken: 'abc.def' });
  });

  it('authenticates a raw SMTP session with the XOAUTH2 string', async () => {
    const token = await engine.oauth.getAccessToken(mailboxId);
    expect(await rawAuth(buildXOAuth2(token.user, token.accessToken))).toMatch(/^235 /);
    expect(await rawAuth(buildXOAuth2(token.user, 'not-a-token'))).toMatch(/^535 /);
  });

  it('sends a message through nodemailer with OAuth2', async () => {
    const token = await engine.oauth.getAccessToken(mailboxId);
    const info = await send(token, 'XOAUTH2 works');
    expect(info.accepted).toEqual(['customer@example.test']);
    expect(received.at(-1)).toMatch(/^support@contoso\.test:.*Subject: XOAUTH2 works/s);
  });

  it('refreshes once when the server rejects the token, then succeeds', async () => {
    idp.revokeAccessTokens(); // the cached token is still "valid" by its expiry, but the server now refuses it
    const before = idp.countTokenRequests('refresh_token');
    const info = await engine.oauth.withAccessToken(mailboxId, (t) => send(t, 'after refresh'), (e) => (e as { responseCode?: number }).responseCode === 535);
    expect(info.accepted).toEqual(['customer@example.test']);
    expect(idp.countTokenRequests('refresh_token')).toBe(before + 1);
  });

  it('diagnoses OAUTH_TOKEN_REJECTED when a fresh token is refused too', async () => {
    rejectAll = true;
    try {
      const error = await engine.oauth.withAccessToken(mailboxId, (t) => send(t, 'never'), (e) => (e as { responseCode?: number }).responseCode === 535).catch((e: unknown) => e);
      expect(isAppError(error) && error.code).toBe('OAUTH_TOKEN_REJECTED');
      expect((error as { hint?: string }).hint).toContain('SMTP.Send');
      const health = engine.oauth.health(mailboxId);
      expect(health.lastError?.code).toBe('OAUTH_TOKEN_REJECTED');
      expect(health.state).toBe('signed-in'); // the sign-in itself is fine: the server refused
    } finally {
      rejectAll = false;
    }
  });
});
