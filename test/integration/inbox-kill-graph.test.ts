/**
 * The import kill test over Microsoft Graph (issue 16): `mailroom inbox poll`
 * importing 1,000 messages through Graph's delta query (after import: move
 * to Archive) is killed with SIGKILL twice, mid-import, and run again to the
 * end. As over IMAP (inbox-kill.test.ts): at each kill nothing Graph moved is
 * missing from the store and nothing is lost; at the end every message is
 * stored exactly once, byte for byte, and every one was moved.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMailroom } from '../../src-main/engine/mailroom';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { startGraphPeer, type GraphPeer } from '../helpers/graph-peer';
import { startTestIdp, type TestIdp } from '../helpers/oauth-idp';
import { CLI } from '../helpers/paths';

const USER = 'kill@contoso.test';
const COUNT = 1000;
const KEY = crypto.randomBytes(32);
let idp: TestIdp;
let graph: GraphPeer;
let dataDir: string;

function message(i: number): string {
  return [`From: Customer ${i} <c${i}@example.test>`, `To: ${USER}`, `Subject: Kill test ${i}`, `Message-ID: <kill-${i}@example.test>`, 'Date: Tue, 25 Nov 2025 10:00:00 +0000', 'Content-Type: text/plain; charset=utf-8', '', `Nachricht ${i}. `.repeat(120), ''].join('\r\n');
}

beforeAll(async () => {
  idp = await startTestIdp();
  graph = await startGraphPeer({ idp });
  graph.addMailbox(USER);
  for (let i = 1; i <= COUNT; i++) graph.deliver(USER, message(i));
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-kill-graph-'));
  const engine = openMailroom({ dataDir, keyProvider: staticKeyProvider(KEY), fetch: idp.fetch, graphBaseUrl: graph.baseUrl });
  try {
    engine.oauth.appOnly.saveSettings({ tenant: idp.tenantId, clientId: idp.clientId, authorityHost: idp.authorityHost, credential: 'secret', clientSecret: idp.app.clientSecret, secretExpiresOn: '2099-12-31' });
    engine.mailboxes.create({ name: 'Kill', address: USER, preset: 'microsoft365', imap: { auth: 'oauth2-app', afterImport: 'move:Archive' }, smtp: { auth: 'oauth2-app' }, receiveVia: 'graph' });
  } finally {
    engine.close();
  }
}, 60_000);

afterAll(async () => {
  await graph?.stop();
  await idp?.stop();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

function storedIds(): string[] {
  const db = new Database(path.join(dataDir, 'mailroom.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT message_id FROM inbox_messages WHERE status != 'duplicate'").pluck().all() as string[]).map((id) => `<${id}>`);
  } finally {
    db.close();
  }
}

function storedCount(): number {
  try {
    const db = new Database(path.join(dataDir, 'mailroom.db'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT COUNT(*) FROM inbox_messages').pluck().get() as number;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

const serverIds = (folder: string) => graph.folderMessages(USER, folder).map((m) => m.internetMessageId ?? '');

function startImporter() {
  const child = spawn(process.execPath, [CLI, 'inbox', 'poll', 'Kill', '--data-dir', dataDir, '--json'], {
    env: { ...process.env, MAILROOM_DATA_DIR: '', MAILROOM_SECRET_KEY: KEY.toString('hex'), NODE_EXTRA_CA_CERTS: idp.certs.caFile, MAILROOM_GRAPH_URL: graph.baseUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

async function killAt(rows: number): Promise<void> {
  const importer = startImporter();
  const deadline = Date.now() + 90_000;
  let done = false;
  void importer.exited.then(() => (done = true));
  while (!done && storedCount() < rows) {
    if (Date.now() > deadline) throw new Error(`the importer did not reach ${rows} rows in 90 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
  importer.child.kill('SIGKILL');
  const exit = await importer.exited;
  expect(exit.signal, `the importer finished before it could be killed at ${rows} rows: ${importer.stdout()} ${importer.stderr()}`).toBe('SIGKILL');
}

function checkInvariants(): { stored: string[]; inbox: string[]; archive: string[] } {
  const stored = storedIds();
  const inbox = serverIds('inbox');
  const archive = serverIds('archive');
  expect(new Set(stored).size, 'a message was stored twice').toBe(stored.length);
  const storedSet = new Set(stored);
  expect(archive.filter((id) => !storedSet.has(id)), 'messages moved on the server before they were stored').toEqual([]);
  const everywhere = new Set([...stored, ...inbox, ...archive]);
  for (let i = 1; i <= COUNT; i++) expect(everywhere.has(`<kill-${i}@example.test>`), `kill-${i} is lost`).toBe(true);
  return { stored, inbox, archive };
}

describe('kill test over Microsoft Graph', () => {
  it('survives SIGKILL twice during a 1,000-message import: every message stored once, none moved before it was stored', async () => {
    await killAt(200);
    const first = checkInvariants();
    expect(first.stored.length).toBeGreaterThanOrEqual(200);
    expect(first.stored.length).toBeLessThan(COUNT);

    await killAt(first.stored.length + 300);
    const second = checkInvariants();
    expect(second.stored.length).toBeGreaterThan(first.stored.length);

    const last = startImporter();
    const exit = await last.exited;
    expect(exit.code, `${last.stdout()} ${last.stderr()}`).toBe(0);
    const result = JSON.parse(last.stdout());
    expect(result).toMatchObject({ duplicates: 0, failed: 0 });
    expect(result.imported).toBe(COUNT - second.stored.length);

    const final = checkInvariants();
    expect(final.stored).toHaveLength(COUNT);
    expect(final.inbox).toEqual([]);
    expect(final.archive.sort()).toEqual([...final.stored].sort());

    const db = new Database(path.join(dataDir, 'mailroom.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT COUNT(*) FROM inbox_messages').pluck().get()).toBe(COUNT);
      expect(db.prepare("SELECT COUNT(*) FROM inbox_messages WHERE action_state != 'done'").pluck().get()).toBe(0);
      expect(db.prepare('SELECT COUNT(*) FROM graph_messages').pluck().get()).toBe(COUNT);
      // Byte for byte: each stored copy is the MIME Graph held.
      const raws = db.prepare('SELECT m.message_id AS id, b.raw AS raw FROM inbox_messages m JOIN inbox_blobs b ON b.sha256 = m.raw_sha256').all() as { id: string; raw: Buffer }[];
      expect(raws).toHaveLength(COUNT);
      for (const r of raws) expect(r.raw.toString('utf8')).toBe(message(Number(/kill-(\d+)@/.exec(r.id)![1])));
      // Each run carried on from the page link the last one committed: no resynchronisation was needed.
      expect(db.prepare("SELECT COUNT(*) FROM log_entries WHERE code = 'GRAPH_DELTA_RESET'").pluck().get()).toBe(0);
      const polls = db.prepare('SELECT outcome, code FROM inbox_polls ORDER BY id').all();
      expect(polls).toEqual([
        { outcome: 'failed', code: 'POLL_INTERRUPTED' },
        { outcome: 'failed', code: 'POLL_INTERRUPTED' },
        { outcome: 'ok', code: null },
      ]);
    } finally {
      db.close();
    }
  }, 300_000);
});
