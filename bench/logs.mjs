// bench/logs: one filtered page of the Logs screen at 10,000 and at 1,000,000
// entries, in the same run. Goal: the larger costs at most 2x the smaller.
// Usage: node bench/logs.mjs [--large N]
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { importEngine } from './engine-bundle.mjs';

const largeArg = process.argv.indexOf('--large');
const SIZES = [10_000, largeArg > 0 ? Number(process.argv[largeArg + 1]) : 1_000_000];
const RUNS = 200;
const { mod, cleanup } = await importEngine('src-main/engine/mailroom.ts');

const LEVELS = ['success', 'success', 'success', 'info', 'warning', 'error'];
const DIRECTIONS = ['send', 'receive', 'send', 'receive', 'test', 'auth', 'system'];

function fill(engine, count, mailboxIds) {
  const insert = engine.db.prepare(
    'INSERT INTO log_entries (at, mailbox_id, mailbox_name, direction, level, code, message, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const start = Date.now() - 30 * 864e5;
  const batch = engine.db.transaction((from, to) => {
    for (let i = from; i < to; i++) {
      const level = LEVELS[i % LEVELS.length];
      const mailboxId = mailboxIds[i % mailboxIds.length];
      insert.run(start + i * 2, mailboxId, `Mailbox ${mailboxId}`, DIRECTIONS[i % DIRECTIONS.length], level, level === 'error' ? 'AUTH_FAILED' : null, `Entry ${i}: message text`, level === 'error' ? '535 5.7.8 Username and Password not accepted' : null);
    }
  });
  for (let from = 0; from < count; from += 50_000) batch(from, Math.min(count, from + 50_000));
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const results = [];
for (const size of SIZES) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-bench-logs-'));
  const engine = mod.openMailroom({ dataDir: dir, keyProvider: { source: 'bench', getKey: () => crypto.randomBytes(32) } });
  const ids = [];
  for (let i = 0; i < 8; i++) ids.push(engine.mailboxes.create({ name: `Mailbox ${i}`, address: `m${i}@gmail.com` }).id);
  const t0 = Date.now();
  fill(engine, size, ids);
  engine.db.pragma('optimize');
  const fillMs = Date.now() - t0;
  // The filters an admin uses most: one mailbox's errors; one direction's warnings; the newest page of everything.
  const filters = [
    { mailboxId: ids[3], level: 'error' },
    { direction: 'send', level: 'warning' },
    {},
  ];
  for (let i = 0; i < 20; i++) for (const f of filters) engine.log.page(f, undefined, 200);
  const samples = [];
  for (let i = 0; i < RUNS; i++) {
    const f = filters[i % filters.length];
    const t = process.hrtime.bigint();
    const first = engine.log.page(f, undefined, 200);
    engine.log.page(f, first.nextBeforeId ?? undefined, 200);
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  results.push({ size, fillMs, medianMs: median(samples) });
  engine.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
cleanup();

for (const r of results) console.log(`${String(r.size).padStart(9)} entries: two filtered pages of 200 in ${r.medianMs.toFixed(3)} ms (median of ${RUNS}; filled in ${(r.fillMs / 1000).toFixed(1)} s)`);
const ratio = results[1].medianMs / results[0].medianMs;
console.log(`ratio ${results[1].size} / ${results[0].size}: ${ratio.toFixed(2)}x (goal: at most 2x) ${ratio <= 2 ? 'MET' : 'NOT MET'}`);
