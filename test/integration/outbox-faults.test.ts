/**
 * Every fault class of a real SMTP server (smtp-server on loopback) lands in
 * the right state with the right diagnosis from the shared rules; deferrals
 * follow the retry policy on an injected clock; the Message-ID stays the
 * same across tries.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startOutboxSmtp, type OutboxSmtp, type OutboxSmtpOptions } from '../helpers/outbox-smtp';
import { startScriptedServer, type ScriptStep, type ScriptedServer } from '../helpers/scripted-server';
import { makeTestCerts } from '../helpers/certs';
import { manualClock, openOutboxEnv, type OutboxEnvOptions, type OutboxTestEnv } from '../helpers/outbox-engine';
import { tempDir } from '../helpers/temp';
import { nominalRetryDelayMs } from '../../src-main/engine/outbox/backoff';
import { DEFAULT_OUTBOX_SETTINGS } from '../../src-main/shared/outbox';

let server: OutboxSmtp | undefined;
let scripted: ScriptedServer | undefined;
let env: OutboxTestEnv | undefined;

afterEach(async () => {
  await env?.close();
  await server?.stop();
  await scripted?.stop();
  env = undefined;
  server = undefined;
  scripted = undefined;
});

/** A scripted server (for replies smtp-server cannot give: old TLS, multi-line refusals) and an outbox pointing at it. */
async function setupScripted(script: ScriptStep[], serverOptions: { onlyTls?: 'TLSv1' | 'TLSv1.1'; implicitTls?: boolean } = {}, envOptions: Partial<OutboxEnvOptions> = {}): Promise<OutboxTestEnv> {
  const certs = makeTestCerts();
  scripted = await startScriptedServer({ script, ...(serverOptions.implicitTls ? { implicitTls: certs.leaf } : {}), ...(serverOptions.onlyTls ? { onlyTls: serverOptions.onlyTls } : {}) });
  certs.remove();
  env = openOutboxEnv(tempDir(), { port: scripted.port, clock: clock.now, random: () => 0.5, ...envOptions });
  return env;
}

const clock = manualClock();

async function setup(serverOptions: OutboxSmtpOptions, envOptions: Partial<OutboxEnvOptions> = {}): Promise<OutboxTestEnv> {
  server = await startOutboxSmtp(serverOptions);
  env = openOutboxEnv(tempDir(), { port: server.port, clock: clock.now, random: () => 0.5, ...envOptions });
  return env;
}

async function queue(e: OutboxTestEnv, to = ['alice@example.test']): Promise<number> {
  const result = await e.outbox.compose({ mailboxId: e.mailbox.id, to, subject: 'Ticket #4711', text: 'Hello from the help desk.' });
  return result.messages[0]!.id;
}

describe('outbox against a real SMTP server', () => {
  it('sends, records the acceptance reply and queue id, and keeps the Message-ID it was queued with', async () => {
    const e = await setup({});
    const id = await queue(e);
    const queuedId = e.outbox.get(id).messageId;
    const summary = await e.outbox.runUntilIdle('test');
    expect(summary).toMatchObject({ sent: 1, deferred: 0, failed: 0 });
    const m = e.outbox.get(id);
    expect(m.status).toBe('sent');
    expect(m.acceptedReply).toBe('250 OK: queued as Q1');
    expect(m.serverQueueId).toBe('Q1');
    expect(m.history.map((h) => h.status)).toEqual(['queued', 'sending', 'sent']);
    expect(server!.messages[0]!.raw).toContain(`Message-ID: <${queuedId}>`);
    expect(server!.messages[0]!.from).toBe('support@example.test');
    expect(m.attemptLog).toHaveLength(1);
    expect(m.recipients).toEqual([{ address: 'alice@example.test', status: 'accepted', reply: null }]);
    const log = e.engine.log.query({ refKind: 'outbox', refId: id });
    expect(log.some((l) => l.level === 'success' && l.message.includes('Ticket #4711'))).toBe(true);
  });

  it('421 at the greeting: deferred as SERVER_REJECTED_CONNECTION, next try after the first wait, mailbox paused', async () => {
    const e = await setup({ onConnect: () => ({ code: 421, message: '4.3.2 Service not available, closing transmission channel' }) });
    const id = await queue(e);
    await e.outbox.runUntilIdle('test');
    const m = e.outbox.get(id);
    expect(m.status).toBe('deferred');
    expect(m.lastError).toMatchObject({ code: 'SERVER_REJECTED_CONNECTION', stage: 'GREETING' });
    expect(m.lastError!.serverReply).toContain('421 4.3.2');
    expect(m.lastError!.hint).toBeTruthy();
    expect(m.nextAttemptAt).toBe(clock.now() + nominalRetryDelayMs(DEFAULT_OUTBOX_SETTINGS, 1));
    expect(e.engine.log.query({ code: 'SERVER_REJECTED_CONNECTION' }).some((l) => /paused/.test(l.message))).toBe(true);
  });

  it('451 on MAIL FROM: deferred as SERVER_TEMPORARY', async () => {
    const e = await setup({ onMailFrom: () => ({ code: 451, message: '4.7.500 Server busy. Please try again later' }) });
    const id = await queue(e);
    await e.outbox.runUntilIdle('test');
    const m = e.outbox.get(id);
    expect(m.status).toBe('deferred');
    expect(m.lastError).toMatchObject({ code: 'SERVER_TEMPORARY', stage: 'MAIL FROM' });
    expect(m.lastError!.serverReply).toContain('451 4.7.500');
  });

  it('452 on RCPT TO: deferred as SERVER_TEMPORARY, the recipient marked deferred', async () => {
    const e = await setup({ onRcptTo: () => ({ code: 452, message: '4.5.3 Too many recipients' }) });
    const id = await queue(e);
    await e.outbox.runUntilIdle('test');
    const m = e.outbox.get(id);
    expect(m.status).toBe('deferred');
    expect(m.lastError).toMatchObject({ code: 'SERVER_TEMPORARY', stage: 'RCPT TO' });
    expect(m.recipients[0]).toMatchObject({ address: 'alice@example.test', status: 'deferred' });
  });

  it('550 on RCPT TO for one of three recipients: sent to two, the third recorded as refused', async () => {
    const e = await setup({ onRcptTo: (a) => (a.startsWith('nobody') ? { code: 550, message: '5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup' } : undefined) });
    const id = await queue(e, ['alice@example.test', 'nobody@example.test', 'bob@example.test']);
    const summary = await e.outbox.runUntilIdle('test');
    expect(summary.sent).toBe(1);
    const m = e.outbox.get(id);
    expect(m.status).toBe('sent');
    expect(m.lastError).toMatchObject({ code: 'RECIPIENT_REJECTED', stage: 'RCPT TO' });
    expect(m.recipients).toEqual([
      { address: 'alice@example.test', status: 'accepted', reply: null },
      { address: 'nobody@example.test', status: 'rejected', reply: '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup' },
      { address: 'bob@example.test', status: 'accepted', reply: null },
    ]);
    expect(server!.messages[0]!.to).toEqual(['alice@example.test', 'bob@example.test']);
    expect(m.attemptLog[0]!.outcome).toBe('partial');
  });

  it('554 after DATA: failed for good as MESSAGE_REJECTED, no further try', async () => {
    const e = await setup({ onData: () => ({ code: 554, message: '5.6.0 Invalid message content' }) });
    const id = await queue(e);
    const summary = await e.outbox.runUntilIdle('test');
    expect(summary).toMatchObject({ sent: 0, deferred: 0, failed: 1 });
    const m = e.outbox.get(id);
    expect(m.status).toBe('failed');
    expect(m.nextAttemptAt).toBeNull();
    expect(m.lastError).toMatchObject({ code: 'MESSAGE_REJECTED', stage: 'DATA' });
    expect(m.lastError!.serverReply).toContain('554 5.6.0');
  });

  it('connection dropped in the middle of DATA: deferred as CONNECTION_DROPPED', async () => {
    const e = await setup({ dropInData: true });
    const id = await queue(e);
    await e.outbox.runUntilIdle('test');
    const m = e.outbox.get(id);
    expect(m.status).toBe('deferred');
    expect(m.lastError).toMatchObject({ code: 'CONNECTION_DROPPED', stage: 'DATA' });
    expect(server!.messages).toHaveLength(0);
  });

  it('a server that stops answering: deferred as TIMEOUT after the send timeout', async () => {
    const e = await setup({ onMailFrom: () => 'hang' }, { settings: { timeoutSeconds: 1 } });
    const id = await queue(e);
    const started = Date.now();
    await e.outbox.runUntilIdle('test');
    expect(Date.now() - started).toBeLessThan(5_000);
    const m = e.outbox.get(id);
    expect(m.status).toBe('deferred');
    expect(m.lastError).toMatchObject({ code: 'TIMEOUT', stage: 'MAIL FROM' });
  });

  it('authentication refused: deferred as AUTH_FAILED, the password never in the record', async () => {
    const e = await setup({ users: { 'support@example.test': 'right-password' } }, { auth: { mode: 'password', user: 'support@example.test', password: 'Wr0ng-Passw0rd!' } });
    const id = await queue(e);
    await e.outbox.runUntilIdle('test');
    const m = e.outbox.get(id);
    expect(m.status).toBe('deferred');
    expect(m.lastError).toMatchObject({ code: 'AUTH_FAILED', stage: 'AUTH' });
    expect(server!.authAttempts).toEqual([{ method: 'PLAIN', username: 'support@example.test', ok: false }]);
    const everything = JSON.stringify([m, e.engine.log.query({}, 1000)]);
    expect(everything).not.toContain('Wr0ng-Passw0rd!');
    expect(everything).not.toContain(Buffer.from('Wr0ng-Passw0rd!').toString('base64').slice(0, 12));
  });

  it('a refused session pauses the mailbox: the other queued messages are not tried', async () => {
    const e = await setup({ users: { 'support@example.test': 'right-password' } }, { auth: { mode: 'password', user: 'support@example.test', password: 'wrong-password' }, settings: { connections: 1 } });
    const ids = [await queue(e), await queue(e), await queue(e)];
    await e.outbox.runUntilIdle('test');
    const states = ids.map((id) => e.outbox.get(id));
    expect(states.filter((m) => m.attempts === 1)).toHaveLength(1);
    expect(server!.authAttempts).toHaveLength(1);
    for (const m of states.filter((x) => x.attempts === 0)) {
      expect(m.status).toBe('queued');
      expect(m.history.at(-1)!.note).toContain('paused after AUTH_FAILED');
    }
  });

  it('after a deferral the next try follows the policy, keeps the Message-ID, and fails once the tries are used up', async () => {
    const e = await setup({ onMailFrom: () => ({ code: 451, message: '4.3.0 Try again later' }) }, { settings: { maxAttempts: 3, firstRetrySeconds: 60, retryFactor: 2 } });
    const id = await queue(e);
    const start = clock.now();
    await e.outbox.runUntilIdle('test');
    expect(e.outbox.get(id).nextAttemptAt).toBe(start + 60_000);
    clock.advance(60_000);
    await e.outbox.runUntilIdle('test');
    expect(e.outbox.get(id)).toMatchObject({ status: 'deferred', attempts: 2, nextAttemptAt: start + 60_000 + 120_000 });
    clock.advance(120_000);
    await e.outbox.runUntilIdle('test');
    const m = e.outbox.get(id);
    expect(m).toMatchObject({ status: 'failed', attempts: 3, nextAttemptAt: null });
    expect(m.history.at(-1)!.note).toContain('gave up after 3 tries');
    expect(m.attemptLog.map((a) => a.number)).toEqual([1, 2, 3]);
  });

  it('keeps the redacted transcript of the last try when debug is on', async () => {
    const e = await setup({ users: { 'support@example.test': 'S3cret-Pa55word' }, onRcptTo: () => ({ code: 550, message: '5.1.1 User unknown' }) }, {
      auth: { mode: 'password', user: 'support@example.test', password: 'S3cret-Pa55word' },
      settings: { debug: true },
    });
    const id = await queue(e);
    await e.outbox.runUntilIdle('test');
    const m = e.outbox.get(id);
    expect(m.status).toBe('failed');
    const text = m.transcript!.map((l) => `${l.dir} ${l.text}`).join('\n');
    expect(text).toContain('C MAIL FROM:<support@example.test>');
    expect(text).toContain('S 550 5.1.1 User unknown');
    // The same credential redaction as the connection tests: no base64 blob after AUTH, not even nodemailer's placeholder.
    expect(text).toContain('C AUTH PLAIN [redacted PLAIN]');
    expect(text).not.toContain('S3cret-Pa55word');
    expect(text).not.toContain(Buffer.from('\0support@example.test\0S3cret-Pa55word').toString('base64'));
  });

  it('a server that speaks only TLS 1.0: deferred as TLS_VERSION_UNSUPPORTED (the code the connection test gives), mailbox paused, nothing sent', async () => {
    const e = await setupScripted([{ send: '220 old.example.test ESMTP' }, { expect: true }], { implicitTls: true, onlyTls: 'TLSv1' }, { security: 'tls', auth: { mode: 'password', user: 'support@example.test', password: 'Old-Server-Pa55' } });
    const id = await queue(e);
    await e.outbox.runUntilIdle('test');
    const m = e.outbox.get(id);
    expect(m.status).toBe('deferred');
    expect(m.lastError).toMatchObject({ code: 'TLS_VERSION_UNSUPPORTED', stage: 'TLS' });
    expect(m.lastError!.hint).toContain('upgraded or reconfigured');
    expect(scripted!.received).toEqual([]);
    expect(e.engine.log.query({ code: 'TLS_VERSION_UNSUPPORTED' }).some((l) => /paused/.test(l.message))).toBe(true);
  });

  it('Gmail\'s multi-line daily limit to MAIL FROM: read whole, SENDING_LIMIT_EXCEEDED, deferred (not failed) and the mailbox paused', async () => {
    const e = await setupScripted(
      [
        { send: '220 smtp.gmail.com ESMTP d2e1a72fcca58-76e7d551493sm9728466b3a.112 - gsmtp' },
        { expect: /^EHLO / },
        { send: ['250-smtp.gmail.com at your service', '250 ENHANCEDSTATUSCODES'] },
        { expect: /^MAIL FROM/ },
        { send: ['550-5.4.5 Daily user sending limit exceeded. For more information on Gmail', '550-5.4.5 sending limits go to', '550 5.4.5  https://support.google.com/a/answer/166852 d2e1a72fcca58-76e7d551493sm9728466b3a.112 - gsmtp'] },
        { expect: true },
        { close: true },
      ],
      {},
      { settings: { connections: 1 } },
    );
    const ids = [await queue(e), await queue(e)];
    await e.outbox.runUntilIdle('test');
    const [first, second] = ids.map((id) => e.outbox.get(id));
    expect(first!.status).toBe('deferred');
    expect(first!.lastError).toMatchObject({ code: 'SENDING_LIMIT_EXCEEDED', stage: 'MAIL FROM' });
    expect(first!.lastError!.serverReply!.split('\n')).toEqual([
      '550-5.4.5 Daily user sending limit exceeded. For more information on Gmail',
      '550-5.4.5 sending limits go to',
      '550 5.4.5  https://support.google.com/a/answer/166852 d2e1a72fcca58-76e7d551493sm9728466b3a.112 - gsmtp',
    ]);
    // The other message waits untried: every message would get the same answer until the limit resets.
    expect(second!).toMatchObject({ status: 'queued', attempts: 0 });
    expect(second!.history.at(-1)!.note).toContain('paused after SENDING_LIMIT_EXCEEDED');
  });

  it('Gmail\'s multi-line 534-5.7.9 to AUTH: read whole, BASIC_AUTH_DISABLED', async () => {
    const e = await setupScripted(
      [
        { send: '220 smtp.gmail.com ESMTP n18sm8811765wru.2 - gsmtp' },
        { expect: /^EHLO / },
        { send: ['250-smtp.gmail.com at your service', '250-AUTH LOGIN PLAIN', '250 ENHANCEDSTATUSCODES'] },
        { expect: /^AUTH PLAIN/ },
        { send: ['534-5.7.9 Application-specific password required. Learn more at', '534 5.7.9 https://support.google.com/mail/?p=InvalidSecondFactor n18sm8811765wru.2 - gsmtp'] },
        { expect: true },
        { close: true },
      ],
      {},
      { auth: { mode: 'password', user: 'support@example.test', password: 'account-password' } },
    );
    const id = await queue(e);
    await e.outbox.runUntilIdle('test');
    const m = e.outbox.get(id);
    expect(m.lastError).toMatchObject({ code: 'BASIC_AUTH_DISABLED', stage: 'AUTH' });
    expect(m.lastError!.serverReply).toBe('534-5.7.9 Application-specific password required. Learn more at\n534 5.7.9 https://support.google.com/mail/?p=InvalidSecondFactor n18sm8811765wru.2 - gsmtp');
  });
});
