/**
 * The Microsoft Graph connection test against the Graph-shaped HTTPS peer
 * (test/helpers/graph-peer.ts) with tokens from the test IdP: each step and
 * each diagnosis from a real reply, the transcript and the curl commands
 * without the token, the test message's bytes as the peer received them,
 * and the result stored in the mailbox's history.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGraphTest, type GraphTestSpec } from '../../src-main/engine/connection-test/graph-probe';
import { ConnectionTestService } from '../../src-main/engine/connection-test/service';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { AppError } from '../../src-main/shared/errors';
import { startGraphPeer, type GraphPeer } from '../helpers/graph-peer';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';

const MAILBOX = 'support@contoso.test';
let idp: TestIdp;
let graph: GraphPeer;

beforeAll(async () => {
  idp = await startTestIdp({ user: { username: MAILBOX } });
  graph = await startGraphPeer({ idp });
  graph.addMailbox(MAILBOX, { displayName: 'Support' });
  graph.addMailbox('unlicensed@contoso.test', { licensed: false });
  graph.addMailbox('ceo@contoso.test');
  graph.addFolder(MAILBOX, 'Tickets', 'inbox');
}, 60_000);

afterAll(async () => {
  await graph?.stop();
  await idp?.stop();
});

const delegated = (scope = 'https://graph.microsoft.com/Mail.Send https://graph.microsoft.com/Mail.ReadWrite offline_access') =>
  idp.requestToken({ grant_type: 'password', username: MAILBOX, password: 'x', scope });
const appOnly = (scope = 'https://graph.microsoft.com/.default') => idp.requestToken({ grant_type: 'client_credentials', client_secret: idp.app.clientSecret, scope });

function spec(token: string | (() => Promise<string>), extra: Partial<GraphTestSpec> = {}): GraphTestSpec {
  return {
    baseUrl: graph.baseUrl,
    mailbox: MAILBOX,
    folder: 'INBOX',
    saveToSentItems: true,
    timeoutMs: 15_000,
    signIn: 'delegated',
    getToken: async () => ({ accessToken: typeof token === 'string' ? token : await token() }),
    ca: [idp.certs.caPem],
    ...extra,
  };
}

/** Everything a result shows or stores, as one text: no token may be in it. */
function everything(outcome: object): string {
  return JSON.stringify(outcome);
}

describe('a mailbox that works', () => {
  it('passes every step with a delegated token, sends the test message as base64 MIME, and never shows the token', async () => {
    const token = await delegated();
    const sentBefore = graph.sent.length;
    const outcome = await runGraphTest(spec(token, { to: 'customer@example.test' }), { platform: 'linux' });
    expect(outcome.diagnosis).toBeNull();
    expect(outcome.ok).toBe(true);
    expect(outcome.protocol).toBe('graph');
    expect(outcome.steps.map((s) => [s.name, s.status])).toEqual([
      ['token', 'ok'],
      ['mailbox', 'ok'],
      ['folder', 'ok'],
      ['send-mail', 'ok'],
    ]);
    expect(outcome.steps[0]!.detail).toMatch(/delegated for https:\/\/graph\.microsoft\.com; .*Mail\.Send/);
    expect(outcome.steps[1]!.detail).toMatch(/^Support <support@contoso\.test>; 1 licence assigned/);
    expect(outcome.steps[2]!.detail).toMatch(/^Inbox \(\d+ messages, \d+ unread\)/);
    // The peer received exactly one MIME message, From the mailbox, To the recipient.
    expect(graph.sent.length).toBe(sentBefore + 1);
    const sent = graph.sent.at(-1)!;
    expect(sent.format).toBe('mime');
    expect(sent.mime!.toString()).toMatch(/^From: <support@contoso\.test>\r\nTo: <customer@example\.test>\r\nSubject: Mailroom connection test/);
    // Transcript: the requests and replies, the Authorization header redacted; no token anywhere.
    const lines = outcome.transcript.map((l) => `${l.dir} ${l.text}`);
    expect(lines).toContain(`C GET /v1.0/users/support%40contoso.test?$select=id,displayName,mail,userPrincipalName,assignedLicenses HTTP/1.1`);
    expect(lines).toContain('C Authorization: Bearer [redacted token]');
    expect(lines).toContain('S HTTP/1.1 202 Accepted');
    expect(everything(outcome)).not.toContain(token);
    expect(everything(outcome)).not.toContain(token.split('.')[2]!);
    // Copy as curl: one command per request, the token a placeholder.
    const curls = outcome.curlCommand.split('\n');
    expect(curls).toHaveLength(3);
    expect(curls[0]).toBe(`curl -v -H 'Authorization: Bearer <TOKEN>' '${graph.origin}/v1.0/users/support%40contoso.test?$select=id,displayName,mail,userPrincipalName,assignedLicenses'`);
    expect(curls[2]).toBe(`curl -v -X POST -H 'Authorization: Bearer <TOKEN>' -H 'Content-Type: text/plain' --data-binary '@mailroom-test.eml.b64' '${graph.origin}/v1.0/users/support%40contoso.test/sendMail'`);
  });

  it('passes with an app-only token (roles), and Windows gets curl.exe with double quotes', async () => {
    const outcome = await runGraphTest(spec(await appOnly(), { signIn: 'app' }), { platform: 'win32' });
    expect(outcome.ok).toBe(true);
    expect(outcome.steps.map((s) => s.name)).toEqual(['token', 'mailbox', 'folder']);
    expect(outcome.steps[0]!.detail).toMatch(/^app-only for https:\/\/graph\.microsoft\.com; Mail\.Send, Mail\.ReadWrite/);
    expect(outcome.curlCommand.split('\n')[0]).toMatch(/^curl\.exe -v -H "Authorization: Bearer <TOKEN>" "https:\/\/127\.0\.0\.1:\d+\/v1\.0\/users\//);
  });

  it('works the same through the engine\'s own HTTP (the fetch Microsoft sign-in uses), failures included', async () => {
    const token = await delegated();
    const viaFetch = (extra: Partial<GraphTestSpec> = {}) => runGraphTest({ ...spec(token, extra), ca: [] }, { fetch: idp.fetch, platform: 'linux' });
    const passed = await viaFetch({ to: 'customer@example.test' });
    expect(passed.steps.map((s) => `${s.name}:${s.status}`)).toEqual(['token:ok', 'mailbox:ok', 'folder:ok', 'send-mail:ok']);
    expect(passed.transcript.map((l) => l.text)).toContain('HTTP/1.1 202 Accepted');
    graph.throttle({ times: 1, retryAfterSeconds: 3, path: 'mailFolders' });
    expect((await viaFetch()).diagnosis).toMatchObject({ code: 'SERVER_TEMPORARY', step: 'folder', summary: expect.stringMatching(/wait 3 s/) });
    expect((await viaFetch({ baseUrl: 'https://127.0.0.1:9/v1.0' })).diagnosis).toMatchObject({ code: 'TCP_REFUSED', step: 'mailbox' });
  });

  it('finds a sub-folder of the inbox by its display name', async () => {
    const outcome = await runGraphTest(spec(await appOnly(), { folder: 'INBOX/Tickets' }));
    expect(outcome.ok).toBe(true);
    expect(outcome.steps[2]!.detail).toMatch(/^Tickets/);
  });
});

describe('each failure gets one diagnosis from the real reply', () => {
  it('no token: OAUTH_TOKEN_UNAVAILABLE at the token step, with the sign-in error\'s words', async () => {
    const outcome = await runGraphTest(
      spec(async () => {
        throw new AppError('OAUTH_SIGN_IN_REQUIRED', 'Microsoft no longer accepts the stored sign-in (AADSTS50173).', { hint: 'Sign in again on the mailbox.' });
      }),
    );
    expect(outcome.ok).toBe(false);
    expect(outcome.diagnosis).toMatchObject({ code: 'OAUTH_TOKEN_UNAVAILABLE', step: 'token', hint: 'Sign in again on the mailbox.' });
    expect(outcome.steps.map((s) => s.status)).toEqual(['failed', 'skipped', 'skipped']);
  });

  it('a mailbox the tenant does not have: GRAPH_MAILBOX_NOT_FOUND at the mailbox step', async () => {
    const outcome = await runGraphTest(spec(await appOnly(), { mailbox: 'nobody@contoso.test', signIn: 'app' }));
    expect(outcome.diagnosis).toMatchObject({ code: 'GRAPH_MAILBOX_NOT_FOUND', step: 'mailbox' });
    expect(outcome.diagnosis!.serverReply).toMatch(/^404 Request_ResourceNotFound: Resource 'nobody@contoso\.test' does not exist/);
  });

  it('a mailbox without an Exchange Online licence: GRAPH_MAILBOX_NOT_LICENSED at the folder step', async () => {
    const outcome = await runGraphTest(spec(await appOnly(), { mailbox: 'unlicensed@contoso.test', signIn: 'app' }));
    expect(outcome.steps[1]!.detail).toMatch(/no licence assigned/);
    expect(outcome.diagnosis).toMatchObject({ code: 'GRAPH_MAILBOX_NOT_LICENSED', step: 'folder' });
    expect(outcome.diagnosis!.hint).toMatch(/Exchange Online licence/);
  });

  it('an application access policy that leaves the mailbox out: GRAPH_ACCESS_POLICY_DENIED naming the app id', async () => {
    graph.restrictApp(idp.clientId, [MAILBOX]);
    try {
      const outcome = await runGraphTest(spec(await appOnly(), { mailbox: 'ceo@contoso.test', signIn: 'app' }));
      expect(outcome.diagnosis).toMatchObject({ code: 'GRAPH_ACCESS_POLICY_DENIED', step: 'folder' });
      expect(outcome.diagnosis!.hint).toContain('Test-ApplicationAccessPolicy -Identity ceo@contoso.test');
    } finally {
      graph.restrictApp(idp.clientId, null);
    }
  });

  it('a token without Mail.Send: OAUTH_TOKEN_REJECTED at send-mail (the code the Graph outbox gives), the hint naming the permission from the claims', async () => {
    const outcome = await runGraphTest(spec(await delegated('https://graph.microsoft.com/Mail.ReadWrite'), { to: 'customer@example.test' }));
    expect(outcome.diagnosis).toMatchObject({ code: 'OAUTH_TOKEN_REJECTED', step: 'send-mail' });
    expect(outcome.diagnosis!.hint).toMatch(/^The token has no Mail\.Send delegated permission \(scopes: Mail\.ReadWrite\)\. /);
  });

  it('a token for Exchange Online instead of Graph: OAUTH_TOKEN_REJECTED whose hint says so, with the WWW-Authenticate header', async () => {
    const outcome = await runGraphTest(spec(await appOnly('https://outlook.office365.com/.default'), { signIn: 'app' }));
    expect(outcome.diagnosis).toMatchObject({ code: 'OAUTH_TOKEN_REJECTED', step: 'mailbox' });
    expect(outcome.diagnosis!.hint).toMatch(/^The token is for https:\/\/outlook\.office365\.com, not Microsoft Graph/);
    expect(outcome.diagnosis!.serverReply).toMatch(/401 InvalidAuthenticationToken: Access token validation failure\. Invalid audience\.\nWWW-Authenticate: Bearer /);
  });

  it('the folder does not exist: FOLDER_NOT_FOUND', async () => {
    const outcome = await runGraphTest(spec(await appOnly(), { folder: 'INBOX/Nope' }));
    expect(outcome.diagnosis).toMatchObject({ code: 'FOLDER_NOT_FOUND', step: 'folder' });
  });

  it('throttled: SERVER_TEMPORARY with the Retry-After in the summary', async () => {
    graph.throttle({ times: 1, retryAfterSeconds: 7, path: 'mailFolders' });
    const outcome = await runGraphTest(spec(await appOnly()));
    expect(outcome.diagnosis).toMatchObject({ code: 'SERVER_TEMPORARY', step: 'folder' });
    expect(outcome.diagnosis!.summary).toMatch(/throttling .*wait 7 s \(Retry-After\)/);
    expect(outcome.transcript.map((l) => l.text)).toContain('retry-after: 7');
  });

  it('send-as refused: SENDER_REJECTED, the same code as SMTP\'s', async () => {
    graph.fail({
      method: 'POST',
      path: 'sendMail',
      status: 403,
      body: { error: { code: 'ErrorSendAsDenied', message: 'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message.' } },
    });
    const outcome = await runGraphTest(spec(await delegated(), { to: 'customer@example.test' }));
    expect(outcome.diagnosis).toMatchObject({ code: 'SENDER_REJECTED', step: 'send-mail' });
  });

  it('nothing listens at the base URL: TCP_REFUSED at the mailbox step', async () => {
    const outcome = await runGraphTest(spec(await appOnly(), { baseUrl: 'https://127.0.0.1:9/v1.0' }));
    expect(outcome.diagnosis).toMatchObject({ code: 'TCP_REFUSED', step: 'mailbox' });
  });

  it('a cancelled run is cancelled, without a diagnosis', async () => {
    const controller = new AbortController();
    graph.responseDelayMs = 2_000;
    try {
      const running = runGraphTest(spec(await appOnly()), {
        signal: controller.signal,
        onStep: (step) => {
          if (step.name === 'mailbox' && step.status === 'running') controller.abort();
        },
      });
      const outcome = await running;
      expect(outcome.cancelled).toBe(true);
      expect(outcome.diagnosis).toBeNull();
    } finally {
      graph.responseDelayMs = 0;
    }
  });
});

describe('the service', () => {
  let engine: Mailroom;
  let dataDir: string;
  beforeAll(() => {
    // One data folder for the block (tempDir() would remove it after the first test).
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-graph-test-'));
    engine = openMailroom({ dataDir, keyProvider: staticKeyProvider(crypto.randomBytes(32), 'test key') });
  });
  afterAll(() => {
    engine?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs the Graph test of a saved mailbox, keeps it in its history with protocol graph, and logs it', async () => {
    const mailbox = engine.mailboxes.create({ name: 'Support', address: MAILBOX, preset: 'microsoft365' });
    const tokens = await appOnly();
    const service = new ConnectionTestService({ db: engine.db, mailboxes: engine.mailboxes, log: engine.log, graphTokens: { getGraphAccessToken: async () => ({ accessToken: tokens }) }, graphBaseUrl: graph.baseUrl, ca: [idp.certs.caPem] });
    const progress: string[] = [];
    const result = await service.runGraph({ mailboxId: mailbox.id, to: 'customer@example.test' }, { onStep: (protocol, step) => progress.push(`${protocol}:${step.name}:${step.status}`) });
    expect(result.ok).toBe(true);
    expect(result.id).toBeGreaterThan(0);
    expect(progress).toContain('graph:send-mail:ok');
    const history = service.history(mailbox.id, 50);
    expect(history[0]).toMatchObject({ id: result.id, protocol: 'graph', ok: true });
    expect(service.get(result.id).curlCommand).toContain('<TOKEN>');
    expect(JSON.stringify(service.get(result.id))).not.toContain(tokens);
    expect(engine.log.query({ mailboxId: mailbox.id, direction: 'test' }, 5)[0]?.message).toMatch(/^Microsoft Graph test of support@contoso\.test passed/);
  });

  it('"Test connection" of a mailbox tests the sides that go through Graph through Graph: one Graph test, the message sent through sendMail', async () => {
    const mailbox = engine.mailboxes.create({ name: 'Graph both', address: MAILBOX, preset: 'microsoft365', enabled: false, imap: { auth: 'oauth2-app' }, smtp: { auth: 'oauth2-app' }, sendVia: 'graph', receiveVia: 'graph' });
    const tokens = await appOnly();
    const service = new ConnectionTestService({ db: engine.db, mailboxes: engine.mailboxes, graphTokens: { getGraphAccessToken: async () => ({ accessToken: tokens }) }, graphBaseUrl: graph.baseUrl, ca: [idp.certs.caPem] });
    const sentBefore = graph.sent.length;
    const both = await service.run({ mailboxId: mailbox.id, direction: 'both', to: 'customer@example.test' });
    expect(both.map((r) => [r.protocol, r.ok])).toEqual([['graph', true]]);
    expect(both[0]!.steps.map((s) => s.name)).toEqual(['token', 'mailbox', 'folder', 'send-mail']);
    expect(graph.sent.length).toBe(sentBefore + 1);
    // Receiving alone sends nothing.
    const incoming = await service.run({ mailboxId: mailbox.id, direction: 'incoming' });
    expect(incoming.map((r) => r.protocol)).toEqual(['graph']);
    expect(incoming[0]!.steps.map((s) => s.name)).toEqual(['token', 'mailbox', 'folder']);
    expect(graph.sent.length).toBe(sentBefore + 1);
  });

  it('refuses a mailbox that signs in with a password: VALIDATION_FAILED saying Graph needs OAuth', async () => {
    const mailbox = engine.mailboxes.create({ name: 'Plain', address: 'plain@example.com', preset: 'generic', imap: { host: 'imap.example.com' }, smtp: { host: 'smtp.example.com' } });
    const service = new ConnectionTestService({ db: engine.db, mailboxes: engine.mailboxes });
    await expect(service.runGraph({ mailboxId: mailbox.id })).rejects.toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringMatching(/Graph needs its Microsoft 365 sign-in/) });
  });
});
