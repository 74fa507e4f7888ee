/**
 * The senders as the desktop app and the console run them (EngineRuntime):
 * mail queued by another process is picked up; a disabled mailbox does not
 * send until it is enabled; a mailbox paused by a refused sign-in sends at
 * once when its password is corrected; Send now ends a pause; stopping lets
 * the message on the wire finish.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli';
import { startOutboxSmtp, type OutboxSmtp } from '../helpers/outbox-smtp';
import { openOutboxEnv, type OutboxTestEnv } from '../helpers/outbox-engine';
import { EngineRuntime } from '../../src-main/engine/runtime';

let upstream: OutboxSmtp;
let env: OutboxTestEnv;
let runtime: EngineRuntime;
let dir: string;

beforeEach(async () => {
  upstream = await startOutboxSmtp({ users: { 'support@example.test': 'right-password' } });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-runtime-'));
  env = openOutboxEnv(dir, { port: upstream.port, auth: { mode: 'password', user: 'support@example.test', password: 'right-password' } });
  runtime = new EngineRuntime(env.engine, { runtime: 'test', relay: false, inbox: false });
});

afterEach(async () => {
  await runtime.stop(1000);
  await env.close();
  await upstream.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const queue = (subject: string) => env.engine.outbox.compose({ mailboxId: env.mailbox.id, to: ['alice@example.net'], subject, text: 'x' }).then((r) => r.messages[0]!.id);

describe('engine runtime', () => {
  it('sends at once what is queued in this process, and within seconds what another process queues', async () => {
    const status = await runtime.start();
    expect(status).toMatchObject({ sending: true, sendingElsewhere: null });
    const id = await queue('Queued here');
    await expect.poll(() => env.engine.outbox.get(id).status, { timeout: 10_000 }).toBe('sent');
    const cli = await runCli(['send', '--mailbox', 'Support', '--to', 'bob@example.net', '--subject', 'Queued by the CLI', '--text', 'x', '--json', '--data-dir', dir], { env: { MAILROOM_SECRET_KEY: '' } });
    expect(cli.code, cli.stderr).toBe(0);
    const other = cli.json.messages[0].id as number;
    await expect.poll(() => env.engine.outbox.get(other).status, { timeout: 10_000 }).toBe('sent');
    expect(upstream.messages.map((m) => m.to[0])).toEqual(['alice@example.net', 'bob@example.net']);
  });

  it('does not send from a disabled mailbox until it is enabled', async () => {
    env.engine.mailboxes.update({ id: env.mailbox.id, enabled: false });
    await runtime.start();
    const id = await queue('Waits');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(env.engine.outbox.get(id).status).toBe('queued');
    env.engine.mailboxes.update({ id: env.mailbox.id, enabled: true });
    await expect.poll(() => env.engine.outbox.get(id).status, { timeout: 10_000 }).toBe('sent');
  });

  it('pauses after a refused sign-in and sends at once when the password is corrected', async () => {
    env.engine.mailboxes.update({ id: env.mailbox.id, password: 'wrong-password' });
    await runtime.start();
    const first = await queue('First');
    const second = await queue('Second');
    await expect.poll(() => env.engine.outbox.engineState().workers[0]?.state, { timeout: 10_000 }).toBe('paused');
    expect(env.engine.outbox.engineState().workers[0]!.lastError!.code).toBe('AUTH_FAILED');
    expect(upstream.authAttempts.filter((a) => !a.ok).length).toBeLessThanOrEqual(2);
    env.engine.mailboxes.update({ id: env.mailbox.id, password: 'right-password' });
    await expect.poll(() => [env.engine.outbox.get(first).status, env.engine.outbox.get(second).status], { timeout: 10_000 }).toEqual(['sent', 'sent']);
  });

  it('a try still signing in with the old password when the password is corrected neither pauses the mailbox nor waits out a backoff', async () => {
    // The interleaving of the race, made deterministic: the server holds its
    // answer to the first sign-in (wrong password) until the password has
    // been corrected, then refuses it.
    await upstream.stop();
    let held!: () => void;
    const authHeld = new Promise<void>((resolve) => (held = resolve));
    upstream = await startOutboxSmtp({
      users: { 'support@example.test': 'right-password' },
      onAuth: (attempt) => {
        if (attempt !== 1) return undefined;
        held();
        return 'hang';
      },
    });
    env.engine.mailboxes.update({ id: env.mailbox.id, password: 'wrong-password', smtp: { port: upstream.port } });
    await runtime.start();
    const id = await queue('Old password on the wire');
    await authHeld;
    env.engine.mailboxes.update({ id: env.mailbox.id, password: 'right-password' });
    const corrected = Date.now();
    upstream.releaseHanging();
    await expect.poll(() => env.engine.outbox.get(id).status, { timeout: 10_000 }).toBe('sent');
    const m = env.engine.outbox.get(id);
    expect(m.attemptLog.map((a) => [a.outcome, a.code])).toEqual([['deferred', 'AUTH_FAILED'], ['sent', null]]);
    expect(upstream.authAttempts.map((a) => a.ok)).toEqual([false, true]);
    expect(env.engine.outbox.engineState().workers[0]!.state).not.toBe('paused');
    // Nothing says the mailbox was paused after its settings changed.
    const paused = env.engine.log.query({ text: 'is paused' }, 50).filter((e) => e.at >= corrected);
    expect(paused).toEqual([]);
  });

  it('a failure decided with the old password but not yet committed when the password is corrected is due at once', async () => {
    // The other interleaving: the try has failed and its outcome waits for its
    // group commit when the settings change. The change is made right after
    // the outcome enters the sender's batch, before the commit.
    env.engine.outbox.saveSettings({ mailboxId: env.mailbox.id, connections: 1 });
    env.engine.mailboxes.update({ id: env.mailbox.id, password: 'wrong-password' });
    const sender = env.engine.outbox.sender;
    const record = sender.record.bind(sender);
    let corrected = false;
    sender.record = (outcome, committed) => {
      record(outcome, committed);
      if (!corrected && outcome.failure?.code === 'AUTH_FAILED') {
        corrected = true;
        env.engine.mailboxes.update({ id: env.mailbox.id, password: 'right-password' });
      }
    };
    await runtime.start();
    const id = await queue('Outcome in the batch');
    await expect.poll(() => env.engine.outbox.get(id).status, { timeout: 10_000 }).toBe('sent');
    expect(corrected).toBe(true);
    expect(env.engine.outbox.get(id).attemptLog.map((a) => a.outcome)).toEqual(['deferred', 'sent']);
    expect(env.engine.outbox.engineState().workers[0]!.state).not.toBe('paused');
  });

  it('Send now ends a pause', async () => {
    upstream.authAttempts.length = 0;
    env.engine.mailboxes.update({ id: env.mailbox.id, password: 'wrong-password' });
    await runtime.start();
    const id = await queue('Try again');
    await expect.poll(() => env.engine.outbox.get(id).status, { timeout: 10_000 }).toBe('deferred');
    const attempts = upstream.authAttempts.length;
    env.engine.outbox.sendNow(id);
    await expect.poll(() => upstream.authAttempts.length, { timeout: 10_000 }).toBeGreaterThan(attempts);
    await expect.poll(() => env.engine.outbox.get(id).attempts, { timeout: 10_000 }).toBe(2);
  });

  it('lets the message on the wire finish when it stops', async () => {
    await upstream.stop();
    upstream = await startOutboxSmtp({ users: { 'support@example.test': 'right-password' }, onData: () => 'hang' });
    env.engine.mailboxes.update({ id: env.mailbox.id, smtp: { port: upstream.port } });
    await runtime.start();
    const id = await queue('On the wire');
    await expect.poll(() => env.engine.outbox.get(id).status, { timeout: 10_000 }).toBe('sending');
    const stopping = runtime.stop(10_000);
    setTimeout(() => upstream.releaseHanging(), 300);
    await stopping;
    expect(env.engine.outbox.get(id).status).toBe('sent');
  });
});
