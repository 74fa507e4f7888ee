/**
 * One time for the next try of a paused mailbox's message (issue 13 item 10):
 * a mailbox whose server refuses the session is paused, and every waiting
 * message of it (the one that failed, the ones sent back untried) shows the
 * time it will really be tried, the same in the list, the detail and the
 * worker's pause; a failed step reads in the connection test's words.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startOutboxSmtp, type OutboxSmtp } from '../helpers/outbox-smtp';
import { manualClock, openOutboxEnv, type OutboxTestEnv } from '../helpers/outbox-engine';
import { tempDir } from '../helpers/temp';
import { stageLabel, STEP_LABELS } from '../../src-main/shared/step-words';

let env: OutboxTestEnv | undefined;
let server: OutboxSmtp | undefined;

afterEach(async () => {
  await env?.close();
  await server?.stop();
  env = undefined;
  server = undefined;
});

/** Waits (bounded) until `check` holds. */
async function waitUntil(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the next try of a paused mailbox\'s messages', () => {
  it('list, detail and the pause give one time, after a second session failure made the pause longer than a message\'s own backoff', async () => {
    const clock = manualClock();
    server = await startOutboxSmtp({ onConnect: () => ({ code: 421, message: '4.3.2 Service not available, closing transmission channel' }) });
    env = openOutboxEnv(tempDir(), { port: server.port, clock: clock.now, random: () => 0.5, settings: { firstRetrySeconds: 60, retryFactor: 2, maxAttempts: 8 } });
    const e = env;
    const ids: number[] = [];
    for (const subject of ['First', 'Second', 'Third']) ids.push((await e.outbox.compose({ mailboxId: e.mailbox.id, to: ['alice@example.test'], subject, text: 'Hello.' })).messages[0]!.id);

    e.outbox.startSending('test');
    const paused = () => e.outbox.engineState().workers.find((w) => w.mailboxId === e.mailbox.id && w.state === 'paused');
    await waitUntil(() => Boolean(paused()) && ids.every((id) => e.outbox.get(id).status !== 'sending'), 'the first pause');
    // The pause ends; the next session fails as well and pauses longer.
    const firstPause = paused()!.pausedUntil!;
    clock.set(firstPause);
    e.outbox.resumeAll();
    await waitUntil(() => (paused()?.pausedUntil ?? 0) > firstPause && ids.every((id) => e.outbox.get(id).status !== 'sending'), 'the second pause');
    const until = paused()!.pausedUntil!;

    const list = e.outbox.list({ limit: 50 }).items.filter((m) => ids.includes(m.id));
    expect(list).toHaveLength(3);
    for (const m of list) {
      const detail = e.outbox.get(m.id);
      expect(['queued', 'deferred']).toContain(m.status);
      // Nothing is tried before the pause ends, so nothing says it will be.
      expect(m.nextAttemptAt).toBeGreaterThanOrEqual(until);
      expect(detail.nextAttemptAt).toBe(m.nextAttemptAt);
    }
    // A message that would be due before the pause's end shows the pause's end.
    expect(list.some((m) => m.nextAttemptAt === until)).toBe(true);
    const failed = list.find((m) => m.lastError)!;
    expect(failed.lastError!.stage).toBe('GREETING');
    expect(stageLabel(failed.lastError!.stage!)).toBe(STEP_LABELS.greeting);
  });

  it('names every stage an outbox try records in the connection test\'s words', () => {
    expect(stageLabel('CONNECT')).toBe('Connect (TCP)');
    expect(stageLabel('CONN')).toBe('Connect (TCP)');
    for (const [stage, step] of [['DNS', 'dns'], ['TLS', 'tls'], ['EHLO', 'ehlo'], ['STARTTLS', 'starttls'], ['AUTH', 'auth'], ['MAIL FROM', 'mail-from'], ['RCPT TO', 'rcpt-to'], ['DATA', 'data']] as const) {
      expect(stageLabel(stage)).toBe(STEP_LABELS[step]);
    }
    expect(stageLabel('MESSAGE')).toMatch(/after DATA/);
  });
});
