/**
 * The Microsoft 365 sign-in lifecycle as an admin lives it, against
 * oauth2-mock-server over HTTPS, an smtp-server that accepts only tokens the
 * IdP issued, and a Dovecot that checks them by introspection:
 *
 * - a mailbox that needs a sign-in keeps its queued mail with its tries
 *   untouched (no try, no backoff), says why on Send now,
 *   and sends it within seconds of a sign-in: from the CLI (`oauth login`,
 *   then a scheduled `engine run --until-idle`), and from the console (the
 *   console's own sign-in, and a CLI sign-in while the console sends);
 * - every refresh, refresh failure and sign-in attempt is an auth entry in
 *   the activity log, from `engine run`, the console, `inbox poll` and
 *   `oauth status --check`, without any token;
 * - a stopped sign-in server is OAUTH_NETWORK naming the host, from
 *   `oauth login`, `oauth status --check` and the console.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { EngineRuntime } from '../../src-main/engine/runtime';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import type { LogEntry } from '../../src-main/shared/activity-log';
import { runCli } from '../helpers/cli';
import { invokeConsole, startTestConsole, type ConsoleHandle } from '../helpers/console';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { loginWithBrowser } from '../helpers/oauth-cli-login';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';
import { startOutboxSmtp, type OutboxSmtp } from '../helpers/outbox-smtp';
import { tempDir } from '../helpers/temp';

const KEY = crypto.randomBytes(32).toString('hex');
const keyProvider = () => staticKeyProvider(Buffer.from(KEY, 'hex'), 'test key');
let idp: TestIdp;
let upstream: OutboxSmtp;
let dovecot: Dovecot;
/** The SMTP server refuses every token while set (a mailbox without SMTP AUTH, say). */
let refuseTokens = false;

beforeAll(async () => {
  idp = await startTestIdp();
  upstream = await startOutboxSmtp({ checkToken: (user, token) => !refuseTokens && idp.verifyAccessToken(token)?.toLowerCase() === user.toLowerCase() });
  dovecot = await startDovecot({
    users: { 'support@contoso.test': crypto.randomBytes(12).toString('hex') },
    oauth2IntrospectionUrl: idp.introspectionUrl,
    messages: [{ user: 'support@contoso.test', raw: 'From: customer@example.test\r\nTo: support@contoso.test\r\nSubject: Printer on fire\r\n\r\nHelp.\r\n' }],
  });
}, 60_000);

afterAll(async () => {
  await upstream?.stop();
  await dovecot?.stop();
  await idp?.stop();
});

const cliEnv = () => ({ NODE_EXTRA_CA_CERTS: idp.certs.caFile, MAILROOM_SECRET_KEY: KEY });
const cli = (dataDir: string, ...args: string[]) => runCli([...args, '--data-dir', dataDir], { env: cliEnv(), timeoutMs: 60_000 });

/** A data folder with the app registration and the mailbox Support (SMTP to the test server, IMAP to Dovecot), not signed in. */
function newStore(authority: TestIdp = idp): { dataDir: string; engine: Mailroom; mailboxId: number } {
  const dataDir = tempDir('mailroom-waiting-');
  const engine = openMailroom({ dataDir, keyProvider: keyProvider(), fetch: authority.fetch });
  engine.oauth.saveSettings({ tenant: authority.tenantId, clientId: authority.clientId, authorityHost: authority.authorityHost, redirectHost: '127.0.0.1' });
  const mailboxId = engine.mailboxes.create({
    name: 'Support',
    address: 'support@contoso.test',
    preset: 'microsoft365',
    imap: { host: '127.0.0.1', port: dovecot.port, security: 'none' },
    smtp: { host: '127.0.0.1', port: upstream.port, security: 'none' },
  }).id;
  return { dataDir, engine, mailboxId };
}

/** Signs the mailbox in through an engine's own sign-in (what the desktop app and the console do). */
async function signInWith(engine: Mailroom, mailboxId: number, authority: TestIdp = idp): Promise<void> {
  const started = await engine.oauth.beginSignIn({ mailboxId });
  const answer = await authority.authorize(started.url);
  await fetch(started.redirectUri, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ code: answer.code!, state: answer.state! }).toString() });
  expect((await engine.oauth.waitForSignIn(started.signInId)).state).toBe('succeeded');
}

const authLog = (engine: Mailroom, since: number): LogEntry[] => engine.log.query({ direction: 'auth', since }, 500).reverse();

/** No access or refresh token the IdP issued appears in any log entry. */
function expectNoTokenIn(entries: LogEntry[]): void {
  const text = JSON.stringify(entries);
  for (const token of [...idp.issuedAccessTokens(), ...idp.issuedRefreshTokens()]) expect(text.includes(token)).toBe(false);
}

describe('mail that waits for a sign-in, from the CLI', () => {
  it('waits without a try while the mailbox was never signed in, then goes in the first engine run after oauth login', async () => {
    const { dataDir, engine } = newStore();
    engine.close();
    const before = upstream.messages.length;
    const sent = [];
    for (const subject of ['Ticket 1', 'Ticket 2']) {
      const r = await cli(dataDir, 'send', '--mailbox', 'Support', '--to', 'customer@example.net', '--subject', subject, '--text', 'x', '--json');
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.messages[0].status).toBe('waiting-sign-in');
      sent.push(r.json.messages[0].id as number);
    }

    // A scheduled run: nothing is tried, nothing is spent, and it says what waits.
    const idle = await cli(dataDir, 'engine', 'run', '--until-idle', '--json');
    expect(idle.code, idle.stderr).toBe(0);
    expect(idle.json).toMatchObject({ sent: 0, deferred: 0, failed: 0, waitingForSignIn: 2 });
    const text = await cli(dataDir, 'engine', 'run', '--until-idle');
    expect(text.stdout).toContain('2 waiting for a Microsoft sign-in');
    const list = await cli(dataDir, 'outbox', 'list', '--json');
    expect(list.json.map((m: { status: string; attempts: number; nextAttemptAt: number | null }) => [m.status, m.attempts, m.nextAttemptAt])).toEqual([
      ['waiting-sign-in', 0, null],
      ['waiting-sign-in', 0, null],
    ]);
    expect(list.json[0].lastError).toMatchObject({ code: 'OAUTH_NOT_SIGNED_IN' });
    expect(upstream.messages.length).toBe(before);

    // Send now says why it cannot send, instead of a silent try.
    const now = await cli(dataDir, 'outbox', 'send-now', String(sent[0]), '--json');
    expect(now.code).toBe(1);
    expect(now.json.error.code).toBe('OUTBOX_WAITING_FOR_SIGN_IN');
    expect(now.json.error.message).toContain('keeps its tries (0 of 8 used)');
    expect(now.json.error.hint).toContain('mailroom oauth login "Support"');
    const show = await cli(dataDir, 'outbox', 'show', String(sent[0]));
    expect(show.stdout).toContain('Message ' + sent[0] + ': waiting for sign-in');
    expect(show.stdout).toContain('Tries:       0 of 8');
    expect(show.stdout).toContain('Sign in: mailroom oauth login "Support"');

    expect((await cli(dataDir, 'outbox', 'settings', 'Support', '--debug', 'on', '--json')).code).toBe(0);

    // The sign-in in a terminal releases them in the store...
    const login = await loginWithBrowser(idp, dataDir, cliEnv());
    expect(login.code, login.stderr).toBe(0);
    expect(login.json.releasedMessages).toBe(2);
    // ...and the next scheduled run sends them at once, each on its first try.
    const run = await cli(dataDir, 'engine', 'run', '--until-idle', '--json');
    expect(run.code, run.stderr).toBe(0);
    expect(run.json).toMatchObject({ sent: 2, deferred: 0, failed: 0, waitingForSignIn: 0 });
    const after = await cli(dataDir, 'outbox', 'list', '--json');
    expect(after.json.map((m: { status: string; attempts: number }) => [m.status, m.attempts])).toEqual([
      ['sent', 1],
      ['sent', 1],
    ]);
    expect(upstream.messages.slice(before).map((m) => m.user)).toEqual(['support@contoso.test', 'support@contoso.test']);
    // The debug transcript shows the XOAUTH2 sign-in as the connection tests do, with no blob that looks like a credential.
    const detail = await cli(dataDir, 'outbox', 'show', String(sent[0]), '--json');
    const transcript = (detail.json.transcript as { dir: string; text: string }[]).map((l) => `${l.dir} ${l.text}`);
    expect(transcript).toContain('C AUTH XOAUTH2 [redacted XOAUTH2]');
    expect(transcript.join('\n')).not.toMatch(/[A-Za-z0-9+/]{24,}={0,2}/);

    // The sign-in attempts are in the log, without a token.
    const check = openMailroom({ dataDir, keyProvider: keyProvider() });
    try {
      const entries = authLog(check, 0);
      expect(entries.map((e) => e.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^Microsoft sign-in of Support started/), 'Signed in with Microsoft as support@contoso.test.']));
      expectNoTokenIn(check.log.query({}, 2000));
    } finally {
      check.close();
    }
  });

  it('a refresh during engine run is logged; a revoked sign-in (AADSTS50173) makes mail wait with no try spent, and a new sign-in sends it', async () => {
    const { dataDir, engine, mailboxId } = newStore();
    idp.accessTokenLifetimeSeconds = 60; // inside msal's renewal window: every new process refreshes
    try {
      await signInWith(engine, mailboxId);
      const t0 = Date.now();
      const first = await cli(dataDir, 'send', '--mailbox', 'Support', '--to', 'a@example.net', '--subject', 'Before the revocation', '--text', 'x', '--json');
      expect(first.json.messages[0].status).toBe('queued');
      const run = await cli(dataDir, 'engine', 'run', '--until-idle', '--json');
      expect(run.json).toMatchObject({ sent: 1, waitingForSignIn: 0 });
      expect(authLog(engine, t0).map((e) => e.message)).toEqual(expect.arrayContaining([expect.stringMatching(/^Access token refreshed for support@contoso\.test/)]));

      idp.revokeAll();
      const t1 = Date.now();
      const queued = await cli(dataDir, 'send', '--mailbox', 'Support', '--to', 'b@example.net', '--subject', 'After the revocation', '--text', 'x', '--json');
      const id = queued.json.messages[0].id as number;
      const authBefore = upstream.authAttempts.length;
      const revoked = await cli(dataDir, 'engine', 'run', '--until-idle', '--json');
      expect(revoked.json).toMatchObject({ sent: 0, deferred: 0, failed: 0, waitingForSignIn: 1 });
      const waiting = engine.outbox.get(id);
      expect(waiting).toMatchObject({ status: 'waiting-sign-in', attempts: 0, nextAttemptAt: null });
      expect(waiting.lastError).toMatchObject({ code: 'OAUTH_SIGN_IN_REQUIRED', stage: 'AUTH' });
      expect(waiting.attemptLog).toEqual([]);
      expect(upstream.authAttempts.length).toBe(authBefore); // no token, so nothing offered to the server
      const failure = authLog(engine, t1).find((e) => e.level === 'error');
      expect(failure).toMatchObject({ code: 'OAUTH_SIGN_IN_REQUIRED' });
      expect(failure!.message).toContain('AADSTS50173');
      expect(engine.oauth.health(mailboxId).state).toBe('sign-in-required');

      // A second run does not ask Microsoft again, and spends nothing.
      const requests = idp.countTokenRequests();
      expect((await cli(dataDir, 'engine', 'run', '--until-idle', '--json')).json).toMatchObject({ sent: 0, waitingForSignIn: 1 });
      expect(idp.countTokenRequests()).toBe(requests);

      await signInWith(engine, mailboxId);
      expect(engine.outbox.get(id).status).toBe('queued');
      expect((await cli(dataDir, 'engine', 'run', '--until-idle', '--json')).json).toMatchObject({ sent: 1, waitingForSignIn: 0 });
      expect(engine.outbox.get(id)).toMatchObject({ status: 'sent', attempts: 1 });
      expectNoTokenIn(engine.log.query({}, 2000));
    } finally {
      idp.accessTokenLifetimeSeconds = 3600;
      engine.close();
    }
  });

  it('oauth status --check and inbox poll log their refreshes', async () => {
    const { dataDir, engine, mailboxId } = newStore();
    idp.accessTokenLifetimeSeconds = 60;
    try {
      await signInWith(engine, mailboxId);
      const t0 = Date.now();
      const status = await cli(dataDir, 'oauth', 'status', 'Support', '--check', '--json');
      expect(status.code, status.stderr).toBe(0);
      expect(status.json).toMatchObject({ state: 'signed-in', lastError: null });
      expect(authLog(engine, t0).filter((e) => /^Access token refreshed/.test(e.message))).toHaveLength(1);
      const t1 = Date.now();
      const poll = await cli(dataDir, 'inbox', 'poll', 'Support', '--json');
      expect(poll.code, poll.stdout + poll.stderr).toBe(0);
      expect(poll.json.imported).toBe(1);
      expect(authLog(engine, t1).filter((e) => /^Access token refreshed/.test(e.message))).toHaveLength(1);
      expectNoTokenIn(engine.log.query({}, 2000));
    } finally {
      idp.accessTokenLifetimeSeconds = 3600;
      engine.close();
    }
  });
});

describe('mail that waits for a sign-in, in the console', () => {
  let console_: ConsoleHandle;
  let runtime: EngineRuntime;

  afterAll(async () => {
    await runtime?.stop(1000);
    await console_?.close();
  });

  it('waits, says so, and goes within seconds of a sign-in in the console and of one in a terminal', async () => {
    const { dataDir, engine } = newStore();
    engine.close();
    console_ = await startTestConsole(dataDir, { keyProvider: keyProvider(), fetch: idp.fetch });
    runtime = new EngineRuntime(console_.engine, { runtime: 'console', relay: false, inbox: false });
    await runtime.start();
    const mailboxId = console_.engine.mailboxes.resolve('Support').id;
    const call = (channel: string, payload: unknown) => invokeConsole(console_.server, channel, payload);

    const queued = await call('outbox.compose', { mailboxId, to: ['c@example.net'], subject: 'From the console', text: 'x' });
    expect(queued.ok).toBe(true);
    const id = (queued as { value: { messages: { id: number; status: string }[] } }).value.messages[0]!.id;
    expect(console_.engine.outbox.get(id).status).toBe('waiting-sign-in');
    await expect.poll(async () => ((await call('outbox.engineState', {})) as { value: { workers: { state: string }[] } }).value.workers[0]?.state, { timeout: 10_000 }).toBe('waiting-sign-in');
    const states = await call('oauth.states', {});
    expect(states).toMatchObject({ ok: true, value: [{ mailboxId, state: 'not-signed-in', needed: { code: 'OAUTH_NOT_SIGNED_IN' }, waitingMessages: 1 }] });
    const sendNow = await call('outbox.sendNow', { id });
    expect(sendNow).toMatchObject({ ok: false, error: { code: 'OUTBOX_WAITING_FOR_SIGN_IN' } });

    // The console's own sign-in: the message goes at once (event-driven), on its first try.
    const started = await call('oauth.beginSignIn', { mailboxId });
    expect(started.ok).toBe(true);
    const status = (started as { value: { url: string; redirectUri: string } }).value;
    const answer = await idp.authorize(status.url);
    const signedInAt = Date.now();
    await fetch(status.redirectUri, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ code: answer.code!, state: answer.state! }).toString() });
    await expect.poll(() => console_.engine.outbox.get(id).status, { timeout: 10_000 }).toBe('sent');
    expect(Date.now() - signedInAt).toBeLessThan(10_000);
    expect(console_.engine.outbox.get(id).attempts).toBe(1);

    // Revoked while the console runs, with short tokens: the console's refresh fails and the mail waits.
    idp.accessTokenLifetimeSeconds = 60;
    try {
      // The open connection stays signed in with its old token: start afresh, so the next message signs in again.
      await runtime.stop(1000);
      idp.revokeAll();
      runtime = new EngineRuntime(console_.engine, { runtime: 'console', relay: false, inbox: false });
      await runtime.start();
      const t1 = Date.now();
      const second = await call('outbox.compose', { mailboxId, to: ['d@example.net'], subject: 'While revoked', text: 'x' });
      const id2 = (second as { value: { messages: { id: number }[] } }).value.messages[0]!.id;
      // The cached token is refused by the server, the one refresh fails with AADSTS50173: the mail waits, no try spent.
      await expect.poll(() => console_.engine.outbox.get(id2).status, { timeout: 15_000 }).toBe('waiting-sign-in');
      expect(console_.engine.outbox.get(id2).attempts).toBe(0);
      expect(authLog(console_.engine, t1).some((e) => e.level === 'error' && e.code === 'OAUTH_SIGN_IN_REQUIRED' && /AADSTS50173/.test(e.message))).toBe(true);

      // A sign-in in a terminal while the console sends: the console sees it in the store within seconds.
      const t2 = Date.now();
      const login = await loginWithBrowser(idp, dataDir, cliEnv());
      expect(login.code, login.stderr).toBe(0);
      await expect.poll(() => console_.engine.outbox.get(id2).status, { timeout: 15_000 }).toBe('sent');
      expect(console_.engine.outbox.get(id2).attempts).toBe(1);
      // The terminal's 60-second token is refreshed by the console before it sends: logged there.
      expect(authLog(console_.engine, t2).some((e) => /^Access token refreshed/.test(e.message))).toBe(true);
    } finally {
      idp.accessTokenLifetimeSeconds = 3600;
    }
    expectNoTokenIn(console_.engine.log.query({}, 2000));
  });
});

describe('a mailbox paused by a refused token', () => {
  it('resumes at once when someone signs in again, instead of waiting out its pause', async () => {
    const { engine, mailboxId } = newStore();
    const runtime = new EngineRuntime(engine, { runtime: 'console', relay: false, inbox: false });
    try {
      await signInWith(engine, mailboxId);
      refuseTokens = true;
      await runtime.start();
      const queued = await engine.outbox.compose({ mailboxId, to: ['e@example.net'], subject: 'Paused', text: 'x' });
      const id = queued.messages[0]!.id;
      await expect.poll(() => engine.outbox.engineState().workers[0]?.state, { timeout: 15_000 }).toBe('paused');
      expect(engine.outbox.get(id)).toMatchObject({ status: 'deferred', attempts: 1, lastError: { code: 'OAUTH_TOKEN_REJECTED' } });
      expect(engine.outbox.get(id).nextAttemptAt! - Date.now()).toBeGreaterThan(60_000);

      refuseTokens = false;
      const signedIn = Date.now();
      await signInWith(engine, mailboxId);
      await expect.poll(() => engine.outbox.get(id).status, { timeout: 10_000 }).toBe('sent');
      expect(Date.now() - signedIn).toBeLessThan(10_000);
      expect(engine.outbox.get(id).attempts).toBe(2);
    } finally {
      refuseTokens = false;
      await runtime.stop(1000);
      engine.close();
    }
  });
});

describe('a sign-in server that cannot be reached', () => {
  it('is OAUTH_NETWORK naming the host, from oauth login, oauth status --check and the console, and each attempt is logged', async () => {
    const down = await startTestIdp();
    const { dataDir, engine, mailboxId } = newStore(down);
    down.accessTokenLifetimeSeconds = 60;
    await signInWith(engine, mailboxId, down);
    const host = new URL(down.authorityHost).host;
    await down.stop();
    const t0 = Date.now();

    const login = await runCli(['oauth', 'login', 'Support', '--json', '--timeout', '10', '--data-dir', dataDir], { env: { NODE_EXTRA_CA_CERTS: idp.certs.caFile, MAILROOM_SECRET_KEY: KEY } });
    expect(login.code).toBe(1);
    expect(login.json.error.code).toBe('OAUTH_NETWORK');
    expect(login.json.error.message).toBe(`Microsoft's sign-in service at ${host} could not be reached: the connection was refused (ECONNREFUSED).`);
    expect(login.json.error.hint).toContain(`https://${host}`);
    expect(login.json.error.hint).toContain('firewall');
    expect(login.json.error.detail).toContain('endpoints_resolution_error');
    const loginText = await runCli(['oauth', 'login', 'Support', '--timeout', '10', '--data-dir', dataDir], { env: { NODE_EXTRA_CA_CERTS: idp.certs.caFile, MAILROOM_SECRET_KEY: KEY } });
    expect(loginText.stderr).toContain(`error [OAUTH_NETWORK]: Microsoft's sign-in service at ${host} could not be reached`);
    expect(loginText.stderr).toMatch(/^detail: msal-node: endpoints_resolution_error/m);

    const status = await runCli(['oauth', 'status', 'Support', '--check', '--json', '--data-dir', dataDir], { env: { NODE_EXTRA_CA_CERTS: idp.certs.caFile, MAILROOM_SECRET_KEY: KEY } });
    expect(status.code).toBe(1);
    expect(status.json.state).toBe('signed-in'); // the stored sign-in is kept
    expect(status.json.lastError.code).toBe('OAUTH_NETWORK');
    expect(status.json.lastError.message).toContain(host);
    engine.close();

    const consoleHandle = await startTestConsole(dataDir, { keyProvider: keyProvider(), fetch: idp.fetch });
    try {
      const begun = await invokeConsole(consoleHandle.server, 'oauth.beginSignIn', { mailboxId });
      expect(begun).toMatchObject({ ok: false, error: { code: 'OAUTH_NETWORK' } });
      expect((begun as { error: { message: string } }).error.message).toContain(host);
      const entries = authLog(consoleHandle.engine, t0);
      const attempts = entries.filter((e) => /could not start/.test(e.message));
      // Two from the CLI, one from the console: identical attempts one after another are one entry with a count.
      expect(attempts.reduce((n, e) => n + e.repeats, 0)).toBe(3);
      for (const e of attempts) expect(e).toMatchObject({ level: 'error', code: 'OAUTH_NETWORK' });
      expect(entries.some((e) => e.code === 'OAUTH_NETWORK' && /^Getting a token failed/.test(e.message))).toBe(true);
    } finally {
      await consoleHandle.close();
    }
  });
});
