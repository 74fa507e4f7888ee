/**
 * One fault, one diagnosis, with real peers: the inbox import (imapflow)
 * and the connection test (Mailroom's own probe) meet the same server and
 * must name the same code.
 *
 * - a server that speaks only TLS 1.0 (implicit TLS) or only TLS 1.1 (after
 *   STARTTLS): Node's `tls` with minVersion = maxVersion and ciphers
 *   DEFAULT@SECLEVEL=0; Mailroom refuses and says TLS_VERSION_UNSUPPORTED;
 * - security "tls" against Dovecot's plaintext port: TLS_MODE_MISMATCH (the
 *   import used to say CONNECTION_DROPPED);
 * - Dovecot's "NO [UNAVAILABLE] Temporary authentication failure." to
 *   XOAUTH2, from an oauth2 passdb whose token check cannot be reached:
 *   SERVER_TEMPORARY (it used to be OAUTH_TOKEN_REJECTED).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openInboxEngine, type InboxEngine } from '../../src-main/engine/inbox/open-inbox';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { ConnectionTestService } from '../../src-main/engine/connection-test/service';
import type { DnsResolver } from '../../src-main/engine/connection-test/dns-resolver';
import { imapOptions } from '../../src-main/engine/inbox/imap-client';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { makeTestCerts, type TestCerts } from '../helpers/certs';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';
import { startScriptedServer, type ScriptedServer } from '../helpers/scripted-server';
import { tempDir } from '../helpers/temp';

const USER = 'support@example.test';
const PASSWORD = 'Old-Server-Pa55!';
const loopback: DnsResolver = { description: 'the test resolver', lookup: async () => [{ address: '127.0.0.1', family: 4 }], resolveMx: async () => [] };

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

let certs: TestCerts;
const servers: ScriptedServer[] = [];
let engine: InboxEngine | undefined;
const tests = new ConnectionTestService({ resolver: loopback });

beforeAll(() => {
  certs = makeTestCerts();
});
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});
afterAll(async () => {
  for (const s of servers) await s.stop();
  certs?.remove();
});

function addMailbox(e: InboxEngine, port: number, security: 'tls' | 'starttls' | 'none') {
  return e.mailboxes.create({ name: `m${port}`, address: USER, preset: 'generic', imap: { host: '127.0.0.1', port, security }, smtp: { host: '127.0.0.1', security: 'none' }, password: PASSWORD });
}

describe('the import and the connection test agree', () => {
  it('a server that speaks only TLS 1.0 (implicit TLS): TLS_VERSION_UNSUPPORTED from both, and no password sent', async () => {
    const old = await startScriptedServer({ script: [{ send: '* OK old.example.test IMAP4rev1 ready' }, { expect: true }], implicitTls: certs.leaf, onlyTls: 'TLSv1' });
    servers.push(old);
    engine = openInboxEngine({ dataDir: path.join(tempDir(), 'data'), keyProvider: staticKeyProvider(crypto.randomBytes(32)) });
    const mailbox = addMailbox(engine, old.port, 'tls');
    const poll = await engine.inbox.pollNow(mailbox.id);
    expect(poll).toMatchObject({ outcome: 'failed', code: 'TLS_VERSION_UNSUPPORTED' });
    expect(poll.hint).toContain('upgraded or reconfigured');
    const [test] = await tests.run({ protocol: 'imap', host: '127.0.0.1', port: old.port, security: 'tls', user: USER, password: PASSWORD });
    expect(test!.diagnosis!.code).toBe('TLS_VERSION_UNSUPPORTED');
    expect(test!.steps.find((s) => s.name === 'tls')!.tls).toMatchObject({ version: 'TLSv1', supported: false });
    expect(old.received).toEqual([]);
  });

  it('a server that speaks only TLS 1.1 after STARTTLS: TLS_VERSION_UNSUPPORTED from both', async () => {
    const old = await startScriptedServer({
      script: [
        { send: '* OK old.example.test IMAP4rev1 ready' },
        { expect: /CAPABILITY/i },
        { respond: (l) => ['* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED', `${l.split(' ')[0]} OK CAPABILITY completed`] },
        { expect: /STARTTLS/i },
        { respond: (l) => `${l.split(' ')[0]} OK Begin TLS negotiation now` },
        { startTls: true },
        { expect: true },
      ],
      starttlsCert: certs.leaf,
      onlyTls: 'TLSv1.1',
    });
    servers.push(old);
    engine = openInboxEngine({ dataDir: path.join(tempDir(), 'data'), keyProvider: staticKeyProvider(crypto.randomBytes(32)) });
    const mailbox = addMailbox(engine, old.port, 'starttls');
    const poll = await engine.inbox.pollNow(mailbox.id);
    expect(poll).toMatchObject({ outcome: 'failed', code: 'TLS_VERSION_UNSUPPORTED' });
    const [test] = await tests.run({ protocol: 'imap', host: '127.0.0.1', port: old.port, security: 'starttls', user: USER, password: PASSWORD });
    expect(test!.diagnosis).toMatchObject({ code: 'TLS_VERSION_UNSUPPORTED', step: 'starttls' });
    expect(test!.diagnosis!.summary).toContain('TLS 1.1');
    for (const line of old.received) expect(line).not.toContain(PASSWORD);
  });

  it('never lowers the minimum: imapflow is given TLS 1.2 as its minimum, whatever TLS options a caller adds', () => {
    engine = openInboxEngine({ dataDir: path.join(tempDir(), 'data'), keyProvider: staticKeyProvider(crypto.randomBytes(32)) });
    const mailbox = addMailbox(engine, 993, 'tls');
    expect(imapOptions(mailbox, { user: USER, pass: 'x' }, { tls: { minVersion: 'TLSv1', rejectUnauthorized: true } }).tls).toMatchObject({ minVersion: 'TLSv1.2', rejectUnauthorized: true });
  });
});

describe('with a real Dovecot', () => {
  let dovecot: Dovecot;
  let idp: TestIdp;
  let mailroom: Mailroom;
  let dataDir: string;

  beforeAll(async () => {
    idp = await startTestIdp({ user: { username: USER } });
    // The passdb asks a token check that is not there: Dovecot answers with a temporary failure.
    dovecot = await startDovecot({ users: { [USER]: PASSWORD }, oauth2IntrospectionUrl: `http://127.0.0.1:${await closedPort()}/introspect` });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-inbox-peers-'));
    mailroom = openMailroom({ dataDir, keyProvider: staticKeyProvider(crypto.randomBytes(32)), fetch: idp.fetch });
  }, 60_000);

  afterAll(async () => {
    await mailroom?.inbox.close();
    mailroom?.close();
    await dovecot?.stop();
    await idp?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('security tls against the plaintext port: TLS_MODE_MISMATCH from both (the import said CONNECTION_DROPPED)', async () => {
    engine = openInboxEngine({ dataDir: path.join(tempDir(), 'data'), keyProvider: staticKeyProvider(crypto.randomBytes(32)) });
    const mailbox = addMailbox(engine, dovecot.port, 'tls');
    const poll = await engine.inbox.pollNow(mailbox.id);
    expect(poll).toMatchObject({ outcome: 'failed', code: 'TLS_MODE_MISMATCH' });
    const [test] = await tests.run({ protocol: 'imap', host: '127.0.0.1', port: dovecot.port, security: 'tls', user: USER, password: PASSWORD });
    expect(test!.diagnosis!.code).toBe('TLS_MODE_MISMATCH');
  });

  it('Dovecot\'s temporary authentication failure to XOAUTH2: SERVER_TEMPORARY from both, not a rejected token', async () => {
    const [test] = await tests.run({ protocol: 'imap', host: '127.0.0.1', port: dovecot.port, security: 'none', auth: 'xoauth2', user: USER, token: 'any-token-the-server-cannot-check' });
    expect(test!.diagnosis).toMatchObject({ code: 'SERVER_TEMPORARY', step: 'auth' });
    expect(test!.diagnosis!.serverReply).toMatch(/NO \[UNAVAILABLE\] Temporary authentication failure\./);

    mailroom.oauth.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, redirectHost: '127.0.0.1' });
    const mailboxId = mailroom.mailboxes.create({ name: 'Helpdesk', address: USER, preset: 'microsoft365', imap: { host: '127.0.0.1', port: dovecot.port, security: 'none', afterImport: 'mark-seen' } }).id;
    const started = await mailroom.oauth.beginSignIn({ mailboxId });
    const answer = await idp.authorize(started.url);
    await fetch(started.redirectUri, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ code: answer.code!, state: answer.state! }).toString() });
    expect((await mailroom.oauth.waitForSignIn(started.signInId)).state).toBe('succeeded');
    const poll = await mailroom.inbox.pollNow(mailboxId);
    expect(poll).toMatchObject({ outcome: 'failed', code: 'SERVER_TEMPORARY' });
  }, 60_000);
});
