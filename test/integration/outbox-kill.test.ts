/**
 * Crash safety: a child process runs `mailroom engine run --until-idle` over
 * 1,000 queued messages and is killed with SIGKILL in the middle; a second
 * run finishes the job. The server got every message at least once, with at
 * most as many duplicates as the in-flight pool holds (LANE_DEPTH messages
 * per connection: on the wire, queued behind it, or delivered and waiting
 * for their group commit), and no row is lost or left behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI } from '../helpers/paths';
import { runCli } from '../helpers/cli';
import { startOutboxSmtp, type OutboxSmtp } from '../helpers/outbox-smtp';
import { openOutboxEnv } from '../helpers/outbox-engine';
import { LANE_DEPTH } from '../../src-main/engine/outbox/smtp-lane';

const MESSAGES = 1000;
const CONNECTIONS = 5;
const KILL_AT = 300;
let upstream: OutboxSmtp;
let dir: string;
let child: ChildProcess | undefined;
const received = new Map<string, number>();
let receivedAtKill = 0;
let killed = false;

beforeAll(async () => {
  upstream = await startOutboxSmtp({
    onData: (raw) => {
      const id = /^Message-ID:\s*<([^>]+)>/im.exec(raw.toString('latin1'))?.[1] ?? '?';
      received.set(id, (received.get(id) ?? 0) + 1);
      const total = [...received.values()].reduce((a, b) => a + b, 0);
      if (total === KILL_AT && child && !killed) {
        killed = true;
        receivedAtKill = total;
        child.kill('SIGKILL');
      }
      return undefined;
    },
  });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-kill-'));
  const env = openOutboxEnv(dir, { port: upstream.port, settings: { connections: CONNECTIONS, messagesPerConnection: 100 } });
  const eml = (i: number) => Buffer.from(`From: support@example.test\r\nTo: customer${i}@example.net\r\nSubject: Ticket ${i}\r\nMessage-ID: <kill-${i}@example.test>\r\n\r\n${'Body line.\r\n'.repeat(150)}`);
  env.outbox.queueRaw(env.mailbox.id, Array.from({ length: MESSAGES }, (_, i) => ({ raw: eml(i), sourceName: `m${i}.eml` })), 'eml');
  await env.close();
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await upstream?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function statusCounts(): Record<string, number> {
  const db = new Database(path.join(dir, 'mailroom.db'), { readonly: true });
  try {
    return Object.fromEntries((db.prepare('SELECT status, COUNT(*) AS n FROM outbox_messages GROUP BY status').all() as { status: string; n: number }[]).map((r) => [r.status, r.n]));
  } finally {
    db.close();
  }
}

describe('outbox kill test', () => {
  it('loses nothing and duplicates at most the in-flight pool when the engine is killed mid-run', async () => {
    child = spawn(process.execPath, [CLI, 'engine', 'run', '--until-idle', '--json', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MAILROOM_DATA_DIR: '' } });
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child!.on('exit', (code, signal) => resolve({ code, signal })));
    expect(exit.signal).toBe('SIGKILL');
    expect(receivedAtKill).toBe(KILL_AT);

    const atKill = statusCounts();
    // Some messages were recorded as sent, some were left `sending` by the dead process.
    expect(atKill.sent ?? 0).toBeGreaterThan(0);
    expect((atKill.sent ?? 0) + (atKill.sending ?? 0) + (atKill.queued ?? 0)).toBe(MESSAGES);

    const rerun = await runCli(['engine', 'run', '--until-idle', '--json', '--data-dir', dir], { timeoutMs: 120_000 });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.json.failed).toBe(0);
    expect(rerun.json.deferred).toBe(0);

    // Every message reached the server at least once.
    for (let i = 0; i < MESSAGES; i++) expect(received.get(`kill-${i}@example.test`) ?? 0, `message ${i}`).toBeGreaterThanOrEqual(1);
    const total = [...received.values()].reduce((a, b) => a + b, 0);
    const duplicates = total - MESSAGES;
    expect(duplicates).toBeLessThanOrEqual(CONNECTIONS * LANE_DEPTH);
    // Every duplicate is a message the dead process had left `sending`.
    expect(duplicates).toBeLessThanOrEqual(atKill.sending ?? 0);

    // No row lost, none stuck.
    expect(statusCounts()).toEqual({ sent: MESSAGES });
    const db = new Database(path.join(dir, 'mailroom.db'), { readonly: true });
    try {
      const recovered = db.prepare(`SELECT COUNT(DISTINCT outbox_id) AS n FROM outbox_history WHERE note LIKE 'queued again: Mailroom stopped%'`).get() as { n: number };
      expect(recovered.n).toBe(atKill.sending ?? 0);
      const warning = db.prepare(`SELECT message FROM log_entries WHERE code = 'OUTBOX_RECOVERED'`).get() as { message: string } | undefined;
      if (atKill.sending) expect(warning?.message).toContain(`${atKill.sending} message`);
    } finally {
      db.close();
    }
    process.stdout.write(`kill test: ${receivedAtKill} received at the kill, ${atKill.sent ?? 0} recorded sent, ${atKill.sending ?? 0} left sending, ${duplicates} duplicate(s) after the rerun\n`);
  }, 180_000);
});
