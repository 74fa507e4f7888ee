/**
 * Sending and receiving through Microsoft Graph (issue 16), end to end
 * against the Graph-shaped peer (test/helpers/graph-peer.ts) with tokens from
 * the test IdP: a person's sign-in (delegated: the same refresh token gets a
 * Graph token) and app-only access (client credentials for Graph's .default).
 * The outbox posts the queued MIME byte for byte; the import reads the delta,
 * fetches $value, dedupes, and runs the after-import action through Graph
 * only after the message is stored.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { InboxService } from '../../src-main/engine/inbox/inbox-service';
import { decodeAccessToken } from '../../src-main/engine/auth/token-claims';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { startGraphPeer, type GraphPeer } from '../helpers/graph-peer';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';
import { tempDir } from '../helpers/temp';
import { runCli } from '../helpers/cli';

const PERSON = 'support@contoso.test';
const APP_BOX = 'desk@contoso.test';
let idp: TestIdp;
let graph: GraphPeer;
let engine: Mailroom;
let dataDir: string;
let personId: number;
let appId: number;
const KEY = crypto.randomBytes(32);

async function signIn(mailboxId: number, allowOtherAccount = false): Promise<void> {
  const started = await engine.oauth.beginSignIn({ mailboxId, ...(allowOtherAccount ? { allowOtherAccount } : {}) });
  // A Graph mailbox asks consent for Graph's mail permissions in the same sign-in.
  expect(new URL(started.url).searchParams.get('scope')).toContain('https://graph.microsoft.com/Mail.Send');
  const answer = await idp.authorize(started.url);
  await fetch(started.redirectUri, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ code: answer.code!, state: answer.state! }).toString() });
  expect((await engine.oauth.waitForSignIn(started.signInId)).state).toBe('succeeded');
}

/** A message with 8-bit UTF-8 in its body and a header Mailroom must not touch. */
const mime = (subject: string, from = PERSON, to = 'customer@example.test') =>
  Buffer.from(
    `From: Support <${from}>\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: <${crypto.randomUUID()}@mailroom.test>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\nX-Ticket:   #42 (spaces kept)\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße aus der Poststelle: ${subject}\r\n`,
    'utf8',
  );

const inbound = (subject: string) =>
  Buffer.from(`From: Customer <customer@example.test>\r\nTo: ${PERSON}\r\nSubject: ${subject}\r\nMessage-ID: <${crypto.randomUUID()}@example.test>\r\nDate: Tue, 01 Dec 2026 09:00:00 +0000\r\n\r\nHelp with ${subject}, bitte – danke.\r\n`, 'utf8');

beforeAll(async () => {
  idp = await startTestIdp({ user: { username: PERSON } });
  graph = await startGraphPeer({ idp });
  graph.addMailbox(PERSON);
  graph.addMailbox(APP_BOX);
  // Not tempDir(): that one is removed after each test, and this engine lives for the whole file.
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-graph-'));
  engine = openMailroom({ dataDir, keyProvider: staticKeyProvider(KEY), fetch: idp.fetch, graphBaseUrl: graph.baseUrl });
  engine.oauth.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, redirectHost: '127.0.0.1' });
  personId = engine.mailboxes.create({ name: 'Support', address: PERSON, preset: 'microsoft365', receiveVia: 'graph', sendVia: 'graph' }).id;
  appId = engine.mailboxes.create({
    name: 'Desk',
    address: APP_BOX,
    preset: 'microsoft365',
    imap: { auth: 'oauth2-app' },
    smtp: { auth: 'oauth2-app' },
    receiveVia: 'graph',
    sendVia: 'graph',
  }).id;
  engine.oauth.appOnly.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, credential: 'secret', clientSecret: idp.app.clientSecret, secretExpiresOn: '2099-12-31' });
  await signIn(personId);
}, 60_000);

afterAll(async () => {
  await engine?.inbox.close();
  engine?.close();
  await graph?.stop();
  await idp?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('tokens for Graph from the mailbox\'s own sign-in', () => {
  it('a person\'s sign-in gets a Graph token (aud Graph, Mail.Send and Mail.ReadWrite) with its refresh token; app-only gets Graph\'s roles', async () => {
    const refreshes = idp.countTokenRequests('refresh_token');
    const delegated = await engine.oauth.getAccessToken(personId, { resource: 'graph' });
    expect(idp.countTokenRequests('refresh_token')).toBe(refreshes + 1);
    const claims = decodeAccessToken(delegated.accessToken);
    expect(claims.readable && claims.claims).toMatchObject({ audience: 'https://graph.microsoft.com' });
    expect(claims.readable && claims.claims.scopes).toEqual(expect.arrayContaining(['Mail.Send', 'Mail.ReadWrite']));
    // The Exchange token is still the one IMAP and SMTP get (msal keeps the two apart).
    const exchange = await engine.oauth.getAccessToken(personId);
    expect(exchange.accessToken).not.toBe(delegated.accessToken);
    const app = await engine.oauth.getAccessToken(appId, { resource: 'graph' });
    expect(idp.issuedAppTokens().get(app.accessToken)).toMatchObject({ audience: 'https://graph.microsoft.com', roles: ['Mail.Send', 'Mail.ReadWrite'] });
  });
});

describe('sending through Graph', () => {
  it('posts the queued MIME as base64 text/plain: the bytes Graph gets are the bytes queued, Message-ID kept, and the try is logged', async () => {
    const raw = mime('Ticket 1 received');
    const queued = engine.outbox.queueRaw(personId, [{ raw }], 'cli').messages[0]!;
    const sends = graph.requestsOf('POST', '/sendMail').length;
    await engine.outbox.runUntilIdle('test');
    expect(engine.outbox.get(queued.id).status).toBe('sent');
    const requests = graph.requestsOf('POST', '/sendMail');
    expect(requests.length).toBe(sends + 1);
    const request = requests.at(-1)!;
    expect(request.headers['content-type']).toBe('text/plain');
    expect(Buffer.from(request.body.toString('ascii'), 'base64').equals(raw)).toBe(true);
    expect(graph.sent.at(-1)!.mime!.equals(raw)).toBe(true);
    const token = decodeAccessToken(/^Bearer (.+)$/.exec(request.headers.authorization!)![1]!);
    expect(token.readable && token.claims.audience).toBe('https://graph.microsoft.com');
    const entry = engine.log.query({ mailboxId: personId, direction: 'send', level: 'success' }, 1)[0]!;
    expect(entry.message).toContain('Ticket 1 received');
    expect(entry.detail).toContain('sendMail through Microsoft Graph');
    expect(entry.detail).toContain(`Message-ID <${queued.messageId}>`);
  });

  it('with Sent Items copies off, removes the copy Graph\'s MIME send keeps', async () => {
    engine.mailboxes.update({ id: personId, graph: { saveToSentItems: false } });
    try {
      const queued = engine.outbox.queueRaw(personId, [{ raw: mime('No copy please') }], 'cli').messages[0]!;
      await engine.outbox.runUntilIdle('test');
      expect(engine.outbox.get(queued.id).status).toBe('sent');
      expect(graph.folderMessages(PERSON, 'sentitems').some((m) => m.internetMessageId === `<${queued.messageId}>`)).toBe(false);
      expect(graph.requestsOf('DELETE').length).toBeGreaterThan(0);
    } finally {
      engine.mailboxes.update({ id: personId, graph: { saveToSentItems: true } });
    }
  });

  it('a 429 defers the message to the server\'s Retry-After (and pauses the mailbox), the next try sends it', async () => {
    graph.throttle({ retryAfterSeconds: 2, method: 'POST', path: '/sendMail' });
    const queued = engine.outbox.queueRaw(personId, [{ raw: mime('Throttled') }], 'cli').messages[0]!;
    await engine.outbox.runUntilIdle('test');
    const deferred = engine.outbox.get(queued.id);
    expect(deferred.status).toBe('deferred');
    const attempt = deferred.attemptLog.at(-1)!;
    expect(attempt).toMatchObject({ code: 'SERVER_TEMPORARY', stage: 'SENDMAIL' });
    expect(attempt.serverReply).toContain('HTTP 429 ApplicationThrottled');
    expect(deferred.nextAttemptAt! - attempt.finishedAt).toBe(2000);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    await engine.outbox.runUntilIdle('test');
    expect(engine.outbox.get(queued.id).status).toBe('sent');
  }, 30_000);

  it('a send-as refusal fails the message with SMTP\'s code (SENDER_REJECTED) and a fix', async () => {
    const queued = engine.outbox.queueRaw(personId, [{ raw: mime('As the boss', 'boss@contoso.test') }], 'cli').messages[0]!;
    await engine.outbox.runUntilIdle('test');
    const failed = engine.outbox.get(queued.id);
    expect(failed.status).toBe('failed');
    expect(failed.attemptLog.at(-1)).toMatchObject({ code: 'SENDER_REJECTED', stage: 'SENDMAIL' });
    expect(failed.attemptLog.at(-1)!.hint).toContain('Send as');
  });

  it('an application access policy defers and pauses with GRAPH_ACCESS_POLICY_DENIED, and names the policy', async () => {
    graph.restrictApp(idp.clientId, ['someone-else@contoso.test']);
    try {
      const queued = engine.outbox.queueRaw(appId, [{ raw: mime('From the desk', APP_BOX) }], 'cli').messages[0]!;
      await engine.outbox.runUntilIdle('test');
      const detail = engine.outbox.get(queued.id);
      expect(detail.status).toBe('deferred');
      expect(detail.attemptLog.at(-1)).toMatchObject({ code: 'GRAPH_ACCESS_POLICY_DENIED' });
      expect(detail.attemptLog.at(-1)!.hint).toContain('Test-ApplicationAccessPolicy');
      const paused = engine.log.query({ mailboxId: appId, direction: 'send', code: 'GRAPH_ACCESS_POLICY_DENIED' }, 5);
      expect(paused.some((e) => e.message.startsWith('Sending from Desk is paused'))).toBe(true);
      engine.outbox.delete(queued.id);
    } finally {
      graph.restrictApp(idp.clientId, null);
    }
  });
});

describe('receiving through Graph', () => {
  it('imports new messages of the folder with $value, byte for byte, then marks them read; a second poll finds nothing new', async () => {
    const raws = [inbound('Printer'), inbound('Scanner'), inbound('Coffee machine')];
    const ids = raws.map((r) => graph.deliver(PERSON, r));
    const poll = await engine.inbox.pollNow(personId);
    expect(poll).toMatchObject({ outcome: 'ok', imported: 3, duplicates: 0, failed: 0, code: null });
    const stored = engine.inbox.list({ mailboxId: personId }).messages;
    expect(stored).toHaveLength(3);
    for (const m of stored) {
      const raw = engine.inbox.repo.raw(m.id)!;
      expect(raws.some((r) => r.equals(raw))).toBe(true);
    }
    expect(ids.every((id) => graph.messages.get(id)!.isRead)).toBe(true);
    expect(await engine.inbox.pollNow(personId)).toMatchObject({ outcome: 'ok', fetched: 0, imported: 0 });
    // `inbox show` names it as a Graph import, not by an IMAP UID.
    const shown = await runCli(['inbox', 'show', String(stored.at(-1)!.id), '--data-dir', dataDir], { env: { MAILROOM_SECRET_KEY: KEY.toString('hex') } });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/INBOX · Graph message \d+ \(imported through Microsoft Graph\)/);
    // Every $value was asked for once: the read-state changes the delta lists again are known by Graph id.
    expect(graph.requestsOf('GET', '/$value')).toHaveLength(3);
  });

  it('pages through the delta (nextLink), and a message delivered twice is one import and one duplicate', async () => {
    const inbox = new InboxService({ db: engine.db, mailboxes: engine.mailboxes, log: engine.log, tokens: engine.oauth, graph: engine.graph, graphPageSize: 2 });
    try {
      const same = inbound('Twice');
      graph.deliver(PERSON, same);
      graph.deliver(PERSON, same);
      for (const n of [1, 2, 3]) graph.deliver(PERSON, inbound(`Paged ${n}`));
      const before = graph.requestsOf('GET', '/messages/delta').length;
      const poll = await inbox.pollNow(personId);
      expect(poll).toMatchObject({ outcome: 'ok', imported: 4, duplicates: 1 });
      expect(graph.requestsOf('GET', '/messages/delta').length - before).toBe(3);
    } finally {
      await inbox.close();
    }
  });

  it('a 429 on $value fails the poll as SERVER_TEMPORARY with the Retry-After, nothing is skipped: the next poll imports the message', async () => {
    graph.throttle({ retryAfterSeconds: 1, method: 'GET', path: '/$value' });
    graph.deliver(PERSON, inbound('Throttled import'));
    const failed = await engine.inbox.pollNow(personId);
    expect(failed).toMatchObject({ outcome: 'failed', code: 'SERVER_TEMPORARY', imported: 0 });
    expect(failed.message).toContain('wait 1 s');
    // The mailbox is held until the Retry-After has passed; the next poll waits for it, then imports.
    expect(engine.graph.limiter.heldUntil(PERSON)).toBeGreaterThan(0);
    expect(await engine.inbox.pollNow(personId)).toMatchObject({ outcome: 'ok', imported: 1 });
  }, 20_000);

  it('a reset delta (410 SyncStateNotFound) is a resync: logged, nothing imported twice, the new message imported', async () => {
    graph.resetDelta(PERSON);
    graph.deliver(PERSON, inbound('After the reset'));
    const poll = await engine.inbox.pollNow(personId);
    expect(poll).toMatchObject({ outcome: 'ok', imported: 1, duplicates: 0, resynced: true });
    expect(engine.log.query({ mailboxId: personId, code: 'GRAPH_DELTA_RESET' }, 1)).toHaveLength(1);
  });

  it('move:<folder> moves only after storing; a missing folder leaves the message stored and the action failed (FOLDER_NOT_FOUND)', async () => {
    engine.mailboxes.update({ id: personId, imap: { afterImport: 'move:Processed' } });
    try {
      const id = graph.deliver(PERSON, inbound('To be moved'));
      const failedPoll = await engine.inbox.pollNow(personId);
      expect(failedPoll).toMatchObject({ imported: 1, code: 'FOLDER_NOT_FOUND' });
      expect(graph.messages.has(id)).toBe(true);
      graph.addFolder(PERSON, 'Processed');
      expect(await engine.inbox.pollNow(personId)).toMatchObject({ outcome: 'ok' });
      expect(graph.messages.has(id)).toBe(false);
      expect(graph.folderMessages(PERSON, [...graph.mailboxes.get(PERSON)!.folders.values()].find((f) => f.displayName === 'Processed')!.id)).toHaveLength(1);
      // A run killed after the move but before it recorded it leaves the action pending: the next poll finds the
      // message gone from the folder (404) and records the action as done, as IMAP's MOVE of a gone UID does.
      const stored = engine.inbox.list({ mailboxId: personId }).messages[0]!;
      engine.db.prepare("UPDATE inbox_messages SET action_state = 'pending' WHERE id = ?").run(stored.id);
      expect(await engine.inbox.pollNow(personId)).toMatchObject({ outcome: 'ok', code: null });
      expect(engine.db.prepare('SELECT action_state FROM inbox_messages WHERE id = ?').pluck().get(stored.id)).toBe('done');
    } finally {
      engine.mailboxes.update({ id: personId, imap: { afterImport: 'mark-seen' } });
    }
  });

  it('an unlicensed mailbox fails the poll with GRAPH_MAILBOX_NOT_LICENSED and a fix', async () => {
    graph.mailboxes.get(APP_BOX)!.licensed = false;
    try {
      const poll = await engine.inbox.pollNow(appId);
      expect(poll).toMatchObject({ outcome: 'failed', code: 'GRAPH_MAILBOX_NOT_LICENSED' });
      expect(poll.hint).toContain('licence');
    } finally {
      graph.mailboxes.get(APP_BOX)!.licensed = true;
    }
  });

  it('app-only: imports and deletes after storing; no more than 4 requests to the mailbox at once', async () => {
    engine.mailboxes.update({ id: appId, imap: { afterImport: 'delete' } });
    graph.responseDelayMs = 30;
    try {
      for (let n = 0; n < 12; n++) graph.deliver(APP_BOX, inbound(`Bulk ${n}`));
      const poll = await engine.inbox.pollNow(appId);
      expect(poll).toMatchObject({ outcome: 'ok', imported: 12 });
      expect(graph.folderMessages(APP_BOX)).toHaveLength(0);
      expect(graph.maxConcurrent.get(APP_BOX)).toBeLessThanOrEqual(4);
      expect(graph.maxConcurrent.get(APP_BOX)).toBeGreaterThan(1);
    } finally {
      graph.responseDelayMs = 0;
    }
  });
});

describe('transcripts and handoff over Graph', () => {
  it('keeps a transcript of the HTTP exchanges (send with debug on, Import with debug) without the token, and writes handoff copies', async () => {
    engine.outbox.saveSettings({ mailboxId: personId, debug: true });
    const handoff = tempDir('mailroom-graph-handoff-');
    engine.inbox.saveSettings({ mailboxId: personId, handoffDir: handoff });
    try {
      const queued = engine.outbox.queueRaw(personId, [{ raw: mime('With a transcript') }], 'cli').messages[0]!;
      await engine.outbox.runUntilIdle('test');
      const transcript = engine.outbox.get(queued.id).transcript!;
      const text = transcript.map((l) => l.text).join('\n');
      expect(text).toMatch(/POST https:\/\/127\.0\.0\.1:\d+\/v1\.0\/users\/support%40contoso\.test\/sendMail/);
      expect(text).toContain('HTTP 202');
      graph.deliver(PERSON, inbound('Debugged'));
      const poll = await engine.inbox.importWithDebug(personId);
      expect(poll).toMatchObject({ outcome: 'ok', imported: 1 });
      const lines = poll.transcript.map((l) => l.text).join('\n');
      expect(lines).toContain(`Import with debug of Support: Microsoft Graph (${graph.baseUrl})`);
      expect(lines).toMatch(/GET .*\/messages\/delta/);
      expect(lines).toMatch(/\$value -> HTTP 200/);
      const everything = `${text}\n${lines}\n${JSON.stringify(engine.log.query({ mailboxId: personId }, 500))}`;
      for (const token of idp.issuedAccessTokens()) expect(everything).not.toContain(token);
      expect(fs.readdirSync(handoff).filter((f) => f.endsWith('.eml'))).toHaveLength(1);
    } finally {
      engine.outbox.saveSettings({ mailboxId: personId, debug: false });
      engine.inbox.saveSettings({ mailboxId: personId, handoffDir: null });
    }
  });
});

describe('first import through Graph', () => {
  it('looks into the folder (Graph\'s counts) and can start with mail that arrives from now on', async () => {
    graph.addMailbox('fresh@contoso.test');
    const fresh = engine.mailboxes.create({ name: 'Fresh', address: 'fresh@contoso.test', preset: 'microsoft365', imap: { auth: 'oauth2-app' }, smtp: { auth: 'oauth2-app' }, receiveVia: 'graph' });
    graph.deliver('fresh@contoso.test', inbound('Old 1'));
    graph.deliver('fresh@contoso.test', inbound('Old 2'));
    expect(engine.inbox.firstImportNeeded(fresh.id)).toBe(true);
    expect(await engine.inbox.lookIntoFolder(fresh)).toMatchObject({ folder: 'INBOX', messages: 2, unseen: 2, started: false });
    expect(await engine.inbox.startFromNow(fresh.id)).toMatchObject({ leftAlone: 2 });
    expect(engine.inbox.firstImportNeeded(fresh.id)).toBe(false);
    graph.deliver('fresh@contoso.test', inbound('New 1'));
    expect(await engine.inbox.pollNow(fresh.id)).toMatchObject({ outcome: 'ok', imported: 1 });
    expect(engine.inbox.list({ mailboxId: fresh.id }).messages.map((m) => m.subject)).toEqual(['New 1']);
  });
});

describe('round-trip probes through Graph', () => {
  it('sends the probe through Graph, finds it through Graph and deletes it; never imported', async () => {
    const probe = await engine.probes.run(personId, { timeoutSeconds: 20 });
    expect(probe).toMatchObject({ status: 'delivered', folder: 'INBOX' });
    expect(graph.folderMessages(PERSON).some((m) => /Mailroom probe/i.test(m.subject ?? '') || m.mime.toString('latin1').includes('X-Mailroom-Probe'))).toBe(false);
    expect((await engine.inbox.pollNow(personId)).imported).toBe(0);
  });

  it('says when the probe lands in Junk Email', async () => {
    graph.junkSenders.set(PERSON, new Set([PERSON]));
    try {
      const probe = await engine.probes.run(personId, { timeoutSeconds: 20 });
      expect(probe).toMatchObject({ status: 'failed', folder: 'Junk Email' });
      expect(probe.diagnosis?.code).toBe('PROBE_IN_JUNK');
    } finally {
      graph.junkSenders.delete(PERSON);
    }
  });
});

describe('a shared mailbox through a person\'s sign-in', () => {
  it('asks Graph tokens with the .Shared permissions, and sends and receives for the shared address', async () => {
    graph.addMailbox('team@contoso.test', { fullAccess: [PERSON] });
    const team = engine.mailboxes.create({ name: 'Team', address: 'team@contoso.test', preset: 'microsoft365', receiveVia: 'graph', sendVia: 'graph' });
    await signIn(team.id, true);
    const token = decodeAccessToken((await engine.oauth.getAccessToken(team.id, { resource: 'graph' })).accessToken);
    expect(token.readable && token.claims.scopes).toEqual(expect.arrayContaining(['Mail.Send.Shared', 'Mail.ReadWrite.Shared']));
    const queued = engine.outbox.queueRaw(team.id, [{ raw: mime('From the team', 'team@contoso.test') }], 'cli').messages[0]!;
    await engine.outbox.runUntilIdle('test');
    expect(engine.outbox.get(queued.id).status).toBe('sent');
    graph.deliver('team@contoso.test', inbound('For the team'));
    expect(await engine.inbox.pollNow(team.id)).toMatchObject({ outcome: 'ok', imported: 1 });
  });
});

describe('a sign-in that is gone', () => {
  it('holds Graph mail as waiting-sign-in (no try spent), fails the poll with the sign-in\'s own code, and both go on after a new sign-in', async () => {
    // Conditional access revokes the session: Graph refuses the cached token, the refresh token is refused too.
    idp.revokeAll();
    const queued = engine.outbox.queueRaw(personId, [{ raw: mime('After revocation') }], 'cli').messages[0]!;
    const run = await engine.outbox.runUntilIdle('test');
    expect(run.waitingForSignIn).toBe(1);
    const waiting = engine.outbox.get(queued.id);
    expect(waiting).toMatchObject({ status: 'waiting-sign-in', attempts: 0 });
    const poll = await engine.inbox.pollNow(personId);
    expect(poll).toMatchObject({ outcome: 'failed', code: 'OAUTH_SIGN_IN_REQUIRED' });

    await signIn(personId);
    graph.deliver(PERSON, inbound('After the new sign-in'));
    await engine.outbox.runUntilIdle('test');
    expect(engine.outbox.get(queued.id).status).toBe('sent');
    expect(await engine.inbox.pollNow(personId)).toMatchObject({ outcome: 'ok', imported: 1 });
  }, 30_000);
});
