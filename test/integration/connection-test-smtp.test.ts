/**
 * SMTP connection tests through the engine against a real smtp-server on
 * 127.0.0.1: STARTTLS, implicit TLS, PLAIN, LOGIN, XOAUTH2, a sent test
 * message, scripted rejections, live progress events, cancel, DNS with MX
 * through an injected resolver, address fallback and the stored history.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src-main/store/db';
import { ConnectionTestService } from '../../src-main/engine/connection-test/service';
import { ConnectionTestRepo } from '../../src-main/store/connection-test-repo';
import { EventBus } from '../../src-main/engine/events';
import { MailboxService } from '../../src-main/engine/mailboxes';
import { SecretRepo } from '../../src-main/store/secret-repo';
import { SecretBox } from '../../src-main/store/secret-box';
import type { DnsResolver } from '../../src-main/engine/connection-test/dns-resolver';
import { makeTestCerts, type TestCerts } from '../helpers/certs';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { startSilentServer, type ScriptedServer } from '../helpers/scripted-server';
import { tempDir } from '../helpers/temp';

const USER = 'support@example.test';
const PASSWORD = 'correct horse battery staple';
const TOKEN = 'token-for-support';

const loopback: DnsResolver = {
  description: 'the test resolver',
  lookup: async (host) => {
    if (host === 'mail.example.test') return [{ address: '127.0.0.1', family: 4 }];
    if (host === 'dual.example.test') return [{ address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }];
    throw Object.assign(new Error(`queryA ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  },
  resolveMx: async (domain) => (domain === 'example.test' ? [{ exchange: 'mx2.example.test', priority: 20 }, { exchange: 'mx1.example.test', priority: 10 }].sort((a, b) => a.priority - b.priority) : []),
};

describe('SMTP connection tests against smtp-server', () => {
  let certs: TestCerts;
  let starttls: SmtpPeer;
  let implicit: SmtpPeer;
  let silent: ScriptedServer;
  let db: Db;
  let events: EventBus;
  let tests: ConnectionTestService;

  beforeAll(async () => {
    certs = makeTestCerts();
    const common = {
      cert: certs.leaf,
      users: { [USER]: PASSWORD },
      checkToken: (user: string, token: string) => (user === USER && token === TOKEN ? (true as const) : { status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' }),
    };
    starttls = await startSmtpPeer({ ...common, tls: 'starttls' });
    implicit = await startSmtpPeer({ ...common, tls: 'implicit', authMethods: ['LOGIN', 'XOAUTH2'] });
    silent = await startSilentServer();
    db = openDatabase(path.join(tempDirOnce(), 'mailroom.db'));
    events = new EventBus();
    tests = new ConnectionTestService({ db, events, resolver: loopback, ca: [certs.ca.cert] });
  });

  afterAll(async () => {
    db?.close();
    if (onceDir) fs.rmSync(onceDir, { recursive: true, force: true });
    await starttls?.stop();
    await implicit?.stop();
    await silent?.stop();
    certs?.remove();
  });

  it('passes STARTTLS + AUTH PLAIN and sends the test message, which the server receives', async () => {
    const [result] = await tests.run({ protocol: 'smtp', host: 'mail.example.test', port: starttls.port, security: 'starttls', user: USER, password: PASSWORD, to: 'admin@example.test' });
    expect(result!.ok).toBe(true);
    expect(result!.diagnosis).toBeNull();
    expect(result!.steps.map((s) => `${s.name}:${s.status}`)).toEqual([
      'dns:ok',
      'tcp:ok',
      'tls:skipped',
      'greeting:ok',
      'ehlo:ok',
      'starttls:ok',
      'auth:ok',
      'mail-from:ok',
      'rcpt-to:ok',
      'data:ok',
    ]);
    expect(result!.steps.find((s) => s.name === 'auth')!.detail).toBe(`signed in as ${USER} with PLAIN`);
    const received = starttls.messages.at(-1)!;
    expect(received.from).toBe(USER);
    expect(received.to).toEqual(['admin@example.test']);
    expect(received.user).toBe(USER);
    expect(received.data).toMatch(/^Subject: Mailroom connection test\r$/m);
  });

  it('shows the certificate in the TLS detail: version, cipher, subject, names, issuer, dates, trusted', async () => {
    const [result] = await tests.run({ protocol: 'smtp', host: '127.0.0.1', port: starttls.port, security: 'starttls', user: USER, password: PASSWORD });
    expect(result!.tls).toMatchObject({ subject: 'CN=localhost', issuer: 'CN=Mailroom Test CA', trusted: true, verificationError: null });
    expect(result!.tls!.protocol).toMatch(/^TLSv1\.[23]$/);
    expect(result!.tls!.cipher).toBeTruthy();
    expect(result!.tls!.subjectAltNames).toContain('IP Address:127.0.0.1');
    expect(Date.parse(result!.tls!.validTo!)).toBeGreaterThan(Date.now());
    expect(result!.steps.find((s) => s.name === 'starttls')!.detail).toMatch(/TLSv1\.[23] .+; certificate CN=localhost; names .*IP Address:127\.0\.0\.1.*; issued by CN=Mailroom Test CA; valid \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d; trusted/);
  });

  it('passes implicit TLS + AUTH LOGIN', async () => {
    const [result] = await tests.run({ protocol: 'smtp', host: '127.0.0.1', port: implicit.port, security: 'tls', user: USER, password: PASSWORD });
    expect(result!.ok).toBe(true);
    expect(result!.steps.find((s) => s.name === 'tls')!.status).toBe('ok');
    expect(result!.steps.find((s) => s.name === 'starttls')!.status).toBe('skipped');
    expect(result!.steps.find((s) => s.name === 'auth')!.detail).toBe(`signed in as ${USER} with LOGIN`);
    expect(result!.transcript.filter((l) => l.dir === 'C').map((l) => l.text)).toEqual(
      expect.arrayContaining(['AUTH LOGIN', `[redacted: base64 of user name "${USER}"]`, '[redacted: base64 of the password]']),
    );
  });

  it('passes XOAUTH2 with a good token and rejects a bad one as OAUTH_TOKEN_REJECTED', async () => {
    const [good] = await tests.run({ protocol: 'smtp', host: '127.0.0.1', port: implicit.port, security: 'tls', auth: 'xoauth2', user: USER, token: TOKEN });
    expect(good!.ok).toBe(true);
    expect(implicit.authAttempts.at(-1)).toEqual({ method: 'XOAUTH2', username: USER });
    const [bad] = await tests.run({ protocol: 'smtp', host: '127.0.0.1', port: implicit.port, security: 'tls', auth: 'xoauth2', user: USER, token: 'expired-token' });
    expect(bad!.diagnosis).toMatchObject({ code: 'OAUTH_TOKEN_REJECTED', step: 'auth', serverReply: '535 Error: Username and Password not accepted' });
  });

  it('reads an expired JWT and says when it expired', async () => {
    const jwt = ['eyJhbGciOiJub25lIn0', Buffer.from(JSON.stringify({ upn: USER, exp: 1_700_000_000 })).toString('base64url'), 'sig'].join('.');
    const [result] = await tests.run({ protocol: 'smtp', host: '127.0.0.1', port: implicit.port, security: 'tls', auth: 'xoauth2', user: USER, token: jwt });
    expect(result!.diagnosis!.code).toBe('OAUTH_TOKEN_REJECTED');
    expect(result!.diagnosis!.summary).toContain('2023-11-14T22:13:20.000Z');
  });

  it('says the token belongs to another account when its upn differs from the user', async () => {
    const jwt = ['eyJhbGciOiJub25lIn0', Buffer.from(JSON.stringify({ upn: 'someone.else@example.test', exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url'), 'sig'].join('.');
    const [result] = await tests.run({ protocol: 'smtp', host: '127.0.0.1', port: implicit.port, security: 'tls', auth: 'xoauth2', user: USER, token: jwt });
    expect(result!.diagnosis).toMatchObject({ code: 'OAUTH_WRONG_ACCOUNT', step: 'auth' });
    expect(result!.diagnosis!.summary).toContain('someone.else@example.test');
  });

  it('reports scripted rejections of MAIL FROM, RCPT TO and DATA with the server reply', async () => {
    const peer = await startSmtpPeer({
      tls: 'none',
      authOptional: true,
      reject: { MAIL: { code: 553, message: '5.7.1 <ceo@example.test>: Sender address rejected: not owned by user support@example.test' } },
    });
    const rcpt = await startSmtpPeer({ tls: 'none', authOptional: true, reject: { RCPT: { code: 550, message: '5.1.1 <nobody@example.test>: Recipient address rejected: User unknown in virtual mailbox table' } } });
    const data = await startSmtpPeer({ tls: 'none', authOptional: true, reject: { DATA: { code: 554, message: '5.6.0 Invalid message content' } } });
    try {
      const run = (port: number) => tests.run({ protocol: 'smtp', host: '127.0.0.1', port, security: 'none', auth: 'none', from: 'ceo@example.test', to: 'nobody@example.test' }).then((r) => r[0]!);
      expect((await run(peer.port)).diagnosis).toMatchObject({ code: 'SENDER_REJECTED', step: 'mail-from', serverReply: '553 5.7.1 <ceo@example.test>: Sender address rejected: not owned by user support@example.test' });
      expect((await run(rcpt.port)).diagnosis).toMatchObject({ code: 'RECIPIENT_REJECTED', step: 'rcpt-to' });
      const rejectedData = await run(data.port);
      expect(rejectedData.diagnosis).toMatchObject({ code: 'MESSAGE_REJECTED', step: 'data', serverReply: '554 5.6.0 Invalid message content' });
      expect(rejectedData.steps.find((s) => s.name === 'auth')!.detail).toBe('not used: auth none');
    } finally {
      await Promise.all([peer.stop(), rcpt.stop(), data.stop()]);
    }
  });

  it('announces each step as it starts and ends, then the finished run', async () => {
    const seen: Array<{ name: string; status: string }> = [];
    let finished: { runId: string; results: unknown[] } | undefined;
    const off1 = events.on('connectionTests.progress', (p) => {
      const payload = p as { runId: string; protocol: string; step: { name: string; status: string } };
      if (payload.runId === 'progress-run') seen.push(payload.step);
    });
    const off2 = events.on('connectionTests.finished', (p) => {
      if ((p as { runId: string }).runId === 'progress-run') finished = p as never;
    });
    try {
      await tests.run({ runId: 'progress-run', protocol: 'smtp', host: '127.0.0.1', port: starttls.port, security: 'starttls', user: USER, password: PASSWORD });
    } finally {
      off1();
      off2();
    }
    expect(seen.filter((s) => s.name === 'greeting').map((s) => s.status)).toEqual(['running', 'ok']);
    expect(seen.find((s) => s.name === 'tls')).toEqual(expect.objectContaining({ status: 'skipped' }));
    expect(seen.at(-1)).toEqual(expect.objectContaining({ name: 'auth', status: 'ok' }));
    expect(finished?.results).toHaveLength(1);
  });

  it('cancels a running test quickly and keeps what ran', async () => {
    const running = tests.run({ runId: 'cancel-me', protocol: 'smtp', host: '127.0.0.1', port: silent.port, security: 'tls', user: USER, password: PASSWORD, timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    expect(tests.cancel('cancel-me')).toBe(true);
    const [result] = await running;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result).toMatchObject({ ok: false, cancelled: true, diagnosis: null });
    expect(result!.steps.find((s) => s.name === 'tls')).toMatchObject({ status: 'failed', detail: 'cancelled' });
    expect(tests.cancel('cancel-me')).toBe(false);
  });

  it('looks the host up through the resolver and shows the MX records of the address domain', async () => {
    const [result] = await tests.run({ protocol: 'smtp', host: 'mail.example.test', port: starttls.port, security: 'starttls', user: USER, password: PASSWORD });
    expect(result!.dns).toEqual({ host: 'mail.example.test', addresses: [{ address: '127.0.0.1', family: 4 }], mxDomain: 'example.test', mx: [{ exchange: 'mx1.example.test', priority: 10 }, { exchange: 'mx2.example.test', priority: 20 }] });
    expect(result!.steps[0]!.detail).toBe('127.0.0.1; MX of example.test: mx1.example.test (10), mx2.example.test (20)');
  });

  it('tries the next address when the first refuses', async () => {
    const [result] = await tests.run({ protocol: 'smtp', host: 'dual.example.test', port: starttls.port, security: 'starttls', user: USER, password: PASSWORD });
    expect(result!.ok).toBe(true);
    expect(result!.steps.find((s) => s.name === 'tcp')!.detail).toMatch(/^connected to 127\.0\.0\.1:\d+ \(after ::1: /);
  });

  it('keeps only the newest 50 results per mailbox and for ad-hoc tests', async () => {
    const repoDb = openDatabase(path.join(tempDir(), 'mailroom.db'));
    try {
      const repo = new ConnectionTestRepo(repoDb);
      const [template] = await new ConnectionTestService({ resolver: loopback }).run({ protocol: 'smtp', host: '127.0.0.1', port: await closedPort(), security: 'none', timeoutMs: 2000 });
      for (let i = 0; i < 55; i++) repo.insert({ ...template!, runId: `run-${i}`, mailboxId: null });
      expect(repo.count(null)).toBe(50);
      const list = repo.list(null, 50);
      expect(list[0]!.runId).toBe('run-54');
      expect(list.at(-1)!.runId).toBe('run-5');
      expect(repo.get(list[0]!.id)!.steps).toEqual(template!.steps);
    } finally {
      repoDb.close();
    }
  });

  it('stores results of a saved mailbox under it, newest first, readable by id', async () => {
    const secrets = new SecretRepo(db, new SecretBox({ source: 'test', getKey: () => Buffer.alloc(32, 7) }));
    const mailboxes = new MailboxService(db, secrets, events);
    const mailbox = mailboxes.create({ name: `Support ${Date.now()}`, address: USER, password: PASSWORD, smtp: { host: '127.0.0.1', port: starttls.port, security: 'starttls' }, imap: { host: '127.0.0.1' } });
    const service = new ConnectionTestService({ db, mailboxes, events, resolver: loopback, ca: [certs.ca.cert] });
    const [first] = await service.run({ mailboxId: mailbox.id, direction: 'outgoing' });
    const [second] = await service.run({ mailboxId: mailbox.id, direction: 'outgoing', to: 'admin@example.test' });
    expect(first!.ok && second!.ok).toBe(true);
    expect(second!.steps.find((s) => s.name === 'mail-from')!.detail).toBe(`sender <${USER}> accepted`);
    const history = service.history(mailbox.id, 50);
    expect(history.map((h) => h.id)).toEqual([second!.id, first!.id]);
    expect(service.get(first!.id)).toEqual(first);
    expect(() => service.get(999_999)).toThrow(/No stored connection test has id 999999/);
  });

  it('refuses a mailbox that signs in with OAuth when no token can be had, naming the fix', async () => {
    const secrets = new SecretRepo(db, new SecretBox({ source: 'test', getKey: () => Buffer.alloc(32, 7) }));
    const mailboxes = new MailboxService(db, secrets);
    const mailbox = mailboxes.create({ name: `M365 ${Date.now()}`, address: 'helpdesk@contoso.onmicrosoft.com', preset: 'microsoft365' });
    const service = new ConnectionTestService({ db, mailboxes, resolver: loopback });
    await expect(service.run({ mailboxId: mailbox.id, direction: 'outgoing' })).rejects.toMatchObject({ code: 'OAUTH_SIGN_IN_REQUIRED' });
  });

  it('rejects bad input naming the field to fix', async () => {
    await expect(tests.run({ protocol: 'smtp', host: 'bad host name', port: 25 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', issues: [expect.objectContaining({ path: 'host' })] });
    await expect(tests.run({ protocol: 'smtp', host: '127.0.0.1', auth: 'password', user: USER })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', issues: [expect.objectContaining({ path: 'password' })] });
    await expect(tests.run({ protocol: 'smtp', host: '127.0.0.1', to: 'a@example.test' })).rejects.toMatchObject({ issues: [expect.objectContaining({ path: 'from' })] });
  });
});

let onceDir: string | undefined;
/** tempDir() folders are removed after each test; the shared database lives for the whole file. */
function tempDirOnce(): string {
  onceDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-ct-smtp-'));
  return onceDir;
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
