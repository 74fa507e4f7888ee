/**
 * The connection-test history is newest first by when each test started,
 * whatever order the results were stored in (issue 13, item 12): a result
 * kept after later ones, and a bundle's results imported newest first.
 */
import crypto from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { ConnectionTestRepo, type NewConnectionTestResult } from '../../src-main/store/connection-test-repo';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { tempDir } from '../helpers/temp';

let engine: Mailroom;
beforeEach(() => {
  engine = openMailroom({ dataDir: tempDir(), keyProvider: staticKeyProvider(crypto.randomBytes(32)) });
});
afterEach(() => engine.close());

function result(mailboxId: number, startedAt: number, port: number): NewConnectionTestResult {
  return {
    ok: true,
    protocol: 'smtp',
    target: { host: 'smtp.example.test', port, security: 'starttls' },
    steps: [],
    diagnosis: null,
    transcript: [],
    runId: crypto.randomUUID(),
    mailboxId,
    startedAt,
    durationMs: 12,
    cancelled: false,
    auth: 'none',
    user: '',
    curlCommand: 'curl -v smtp://smtp.example.test',
    tls: null,
    dns: null,
  };
}

describe('connection-test history order', () => {
  it('lists newest first by start time, not by the order of storing', () => {
    const mailbox = engine.mailboxes.create({ name: 'Support', address: 'support@example.test', imap: { host: 'imap.example.test' }, smtp: { host: 'smtp.example.test' } });
    const repo = new ConnectionTestRepo(engine.db);
    const t = Date.UTC(2026, 10, 25, 8, 0);
    repo.insert(result(mailbox.id, t + 2_000, 587));
    repo.insert(result(mailbox.id, t - 86_400_000, 25)); // kept a day late
    repo.insert(result(mailbox.id, t + 5_000, 465));
    expect(engine.connectionTests.history(mailbox.id, 50).map((h) => h.target.port)).toEqual([465, 587, 25]);
  });

  it('keeps the order when a bundle with the history is opened', async () => {
    const mailbox = engine.mailboxes.create({ name: 'Support', address: 'support@example.test', imap: { host: 'imap.example.test' }, smtp: { host: 'smtp.example.test' } });
    const repo = new ConnectionTestRepo(engine.db);
    const t = Date.UTC(2026, 10, 25, 8, 0);
    for (const [i, port] of [25, 587, 465].entries()) repo.insert(result(mailbox.id, t + i * 1000, port));
    const { readBundle } = await import('../../src-main/engine/diagnostics/bundle');
    const { openBundleViewer } = await import('../../src-main/engine/diagnostics/viewer');
    const fs = await import('node:fs');
    const path = await import('node:path');
    const file = (await engine.diagnostics.createBundle(path.join(engine.dataDir, 'exports', 'b.zip'), { runtime: 'console' })).path;
    const viewer = openBundleViewer(await readBundle(fs.readFileSync(file)));
    try {
      const id = viewer.engine.mailboxes.list()[0]!.id;
      expect(viewer.engine.connectionTests.history(id, 50).map((h) => h.target.port)).toEqual([465, 587, 25]);
      // Stored oldest first, so even the order of the rows agrees.
      const rows = viewer.engine.db.prepare('SELECT port FROM connection_tests ORDER BY id DESC').all() as { port: number }[];
      expect(rows.map((r) => r.port)).toEqual([465, 587, 25]);
    } finally {
      viewer.close();
    }
  });
});
