/**
 * The outbox kill test over Microsoft Graph (issue 16): a child process runs
 * `mailroom engine run --until-idle` for a mailbox that sends through Graph
 * (app-only, tokens from the test IdP, the Graph peer over HTTPS trusted
 * through NODE_EXTRA_CA_CERTS) and is killed with SIGKILL in the middle; a
 * second run finishes the job. As over SMTP (outbox-kill.test.ts): every
 * message reached Graph at least once, byte for byte, with at most as many
 * duplicates as the in-flight pool holds, and no row is lost or left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMailroom } from '../../src-main/engine/mailroom';
import { LANE_DEPTH } from '../../src-main/engine/outbox/smtp-lane';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { runCli } from '../helpers/cli';
import { startGraphPeer, type GraphPeer } from '../helpers/graph-peer';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';
import { CLI } from '../helpers/paths';

const MAILBOX = 'desk@contoso.test';
const MESSAGES = 400;
const CONNECTIONS = 4;
const KILL_AT = 120;
const KEY = crypto.randomBytes(32);
let idp: TestIdp;
let graph: GraphPeer;
let dir: string;
let child: ChildProcess | undefined;
let killed = false;
const eml = (i: number) => Buffer.from(`From: ${MAILBOX}\r\nTo: customer${i}@example.net\r\nSubject: Ticket ${i}\r\nMessage-ID: <graph-kill-${i}@example.test>\r\n\r\n${'Body line, grüße.\r\n'.repeat(60)}`, 'utf8');

const env = () => ({ ...process.env, MAILROOM_DATA_DIR: '', MAILROOM_SECRET_KEY: KEY.toString('hex'), NODE_EXTRA_CA_CERTS: idp.certs.caFile, MAILROOM_GRAPH_URL: graph.baseUrl });

beforeAll(async () => {
  idp = await startTestIdp();
  graph = await startGraphPeer({ idp });
  graph.addMailbox(MAILBOX);
  graph.afterRequest = () => {
    if (graph.sent.length === KILL_AT && child && !killed) {
      killed = true;
      child.kill('SIGKILL');
    }
  };
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-kill-graph-'));
  const engine = openMailroom({ dataDir: dir, keyProvider: staticKeyProvider(KEY), fetch: idp.fetch, graphBaseUrl: graph.baseUrl });
  try {
    engine.oauth.appOnly.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, credential: 'secret', clientSecret: idp.app.clientSecret, secretExpiresOn: '2099-12-31' });
    const mailbox = engine.mailboxes.create({ name: 'Desk', address: MAILBOX, preset: 'microsoft365', imap: { auth: 'oauth2-app' }, smtp: { auth: 'oauth2-app' }, sendVia: 'graph' });
    engine.outbox.saveSettings({ mailboxId: mailbox.id, connections: CONNECTIONS, timeoutSeconds: 30 });
    engine.outbox.queueRaw(mailbox.id, Array.from({ length: MESSAGES }, (_, i) => ({ raw: eml(i), sourceName: `m${i}.eml` })), 'eml');
  } finally {
    engine.close();
  }
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await graph?.stop();
  await idp?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function statusCounts(): Record<string, number> {
  const db = new Database(path.join(dir, 'mailroom.db'), { readonly: true });
  try {
    return Object.fromEntries((db.prepare('SELECT status, COUNT(*) AS n FROM outbox_messages GROUP BY status').all() as { status: string; n: number }[]).map((r) => [r.status, r.n]));
  } finally {
    db.close();
  }
}

describe('outbox kill test over Microsoft Graph', () => {
  it('loses nothing and duplicates at most the in-flight pool when the engine is killed mid-run', async () => {
    child = spawn(process.execPath, [CLI, 'engine', 'run', '--until-idle', '--json', '--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'], env: env() });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child!.on('exit', (code, signal) => resolve({ code, signal })));
    expect(exit.signal, stderr).toBe('SIGKILL');

    const atKill = statusCounts();
    expect(atKill.sent ?? 0).toBeGreaterThan(0);
    expect((atKill.sent ?? 0) + (atKill.sending ?? 0) + (atKill.queued ?? 0)).toBe(MESSAGES);

    const rerun = await runCli(['engine', 'run', '--until-idle', '--json', '--data-dir', dir], { timeoutMs: 120_000, env: env() });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.json.failed).toBe(0);
    expect(rerun.json.deferred).toBe(0);

    // Every message reached Graph at least once, byte for byte as it was queued.
    const queued = new Map<string, Buffer>();
    const db = new Database(path.join(dir, 'mailroom.db'), { readonly: true });
    try {
      for (const row of db.prepare('SELECT m.message_id AS id, b.raw AS raw FROM outbox_messages m JOIN outbox_bodies b ON b.outbox_id = m.id').all() as { id: string; raw: Buffer }[]) queued.set(row.id, row.raw);
    } finally {
      db.close();
    }
    const received = new Map<string, number>();
    for (const s of graph.sent) {
      const id = /^Message-ID:\s*<([^>]+)>/im.exec(s.mime!.toString('latin1'))![1]!;
      received.set(id, (received.get(id) ?? 0) + 1);
      expect(s.mime!.equals(queued.get(id)!), `message ${id} changed on the way`).toBe(true);
    }
    for (let i = 0; i < MESSAGES; i++) expect(received.get(`graph-kill-${i}@example.test`) ?? 0, `message ${i}`).toBeGreaterThanOrEqual(1);
    const duplicates = graph.sent.length - MESSAGES;
    expect(duplicates).toBeLessThanOrEqual(CONNECTIONS * LANE_DEPTH);
    expect(duplicates).toBeLessThanOrEqual(atKill.sending ?? 0);
    expect(statusCounts()).toEqual({ sent: MESSAGES });
    // Never more than Outlook's 4 requests at once to the mailbox.
    expect(graph.maxConcurrent.get(MAILBOX)).toBeLessThanOrEqual(4);
    process.stdout.write(`graph kill test: ${KILL_AT} received at the kill, ${atKill.sent ?? 0} recorded sent, ${atKill.sending ?? 0} left sending, ${duplicates} duplicate(s) after the rerun\n`);
  }, 180_000);
});
