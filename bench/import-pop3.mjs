#!/usr/bin/env node
// POP3 import throughput (issue 17), measured in one run on one machine against two baselines:
//   mailroom   `mailroom inbox poll <box> --json` for a POP3 mailbox: UIDL -> RETR -> parse ->
//              store -> log committed, then QUIT (after import: leave on the server); a whole
//              process, a fresh data folder each round
//   bare       a bare POP3 fetch of the same messages with node-pop3 (USER/PASS, UIDL, RETR of
//              each, QUIT), a whole process
//   curl       one `curl pop3://.../n` process per message, a sample of 50 for its rate
// The messages (default 1,000 of about 5 KB: text and a small PDF attachment) sit in a private
// Dovecot (dovecot-pop3d) on 127.0.0.1. Rounds are interleaved so load on the machine affects
// both alike; the medians are compared. Goals: mailroom >= 50% of the bare fetch, >= 20x curl.
//   node bench/import-pop3.mjs [--messages 1000] [--rounds 5] [--curl-sample 50] [--json] [--check]
// Needs dovecot (apt-get install dovecot-pop3d), curl, and the built CLI (node scripts/build.mjs cli).
// The private Dovecot and the timing are bench/lib/dovecot-bench.mjs, shared with bench/import.mjs.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { importBenchSetup, median, startDovecot, stopDovecot, timed } from './lib/dovecot-bench.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'bin', 'mailroom.mjs');
const USER = 'bench@example.test';
const PASSWORD = 'bench-' + crypto.randomBytes(6).toString('hex');

// ---- child mode: the bare POP3 fetch with node-pop3, as its own process -----------------------
if (process.argv[2] === '--bare-fetch') {
  const [port, expected] = process.argv.slice(3).map(Number);
  const { default: Pop3Command } = await import('node-pop3');
  const client = new Pop3Command({ host: '127.0.0.1', port, user: USER, password: process.env.BENCH_PASSWORD });
  const list = await client.UIDL();
  let count = 0;
  for (const [number] of list) if ((await client.RETR(Number(number))).length) count++;
  await client.QUIT();
  if (count !== expected) throw new Error(`bare fetch got ${count} messages, expected ${expected}`);
  process.exit(0);
}

const { opts, N, ROUNDS, CURL_SAMPLE } = importBenchSetup('pop3 import bench', root, { dovecot: 'dovecot-pop3d', curl: 'curl' });

const GOAL_VS_BARE = 0.5;
const GOAL_VS_CURL = 20;
const log = (text) => opts.json || process.stderr.write(text + '\n');


const base = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-pop3-bench-'));
let dovecot;
let exitCode = 0;
try {
  log(`import bench: seeding ${N} messages into a private Dovecot...`);
  dovecot = await startDovecot({ base, protocol: 'pop3', messages: N, user: USER, password: PASSWORD });
  const { port } = dovecot;
  const env = { ...process.env, NODE_OPTIONS: '', MAILROOM_DATA_DIR: '', MAILROOM_SECRET_KEY: crypto.randomBytes(32).toString('hex'), BENCH_PASSWORD: PASSWORD };

  // One data folder with the mailbox, copied fresh for each round so every round imports all N.
  // The POP3 mailbox comes in through a settings file ("mailbox import"), its password after.
  const template = path.join(base, 'data-template');
  const settingsFile = path.join(base, 'settings.json');
  fs.writeFileSync(
    settingsFile,
    JSON.stringify({
      format: 'mailroom-settings',
      version: 1,
      exportedAt: new Date().toISOString(),
      mailboxes: [
        {
          name: 'Bench',
          address: USER,
          preset: 'generic',
          enabled: false,
          imap: { host: '127.0.0.1', port: 143, security: 'none', username: USER, auth: 'password', folder: 'INBOX', afterImport: 'mark-seen', pollIntervalSeconds: 60 },
          smtp: { host: '127.0.0.1', port: 25, security: 'none', username: USER, auth: 'password' },
          receiveVia: 'pop3',
          pop3: { host: '127.0.0.1', port, security: 'none', username: USER, auth: 'password', afterImport: 'leave' },
        },
      ],
    }),
  );
  timed(process.execPath, [cli, 'mailbox', 'import', settingsFile, '--data-dir', template, '--json'], env, 'mailroom mailbox import');
  timed(process.execPath, [cli, 'mailbox', 'update', 'Bench', '--data-dir', template, '--password-env', 'BENCH_PASSWORD', '--json'], env, 'mailroom mailbox update');

  // Warm-up: Dovecot builds its index and the page cache fills, so no contender pays for that.
  timed(process.execPath, [fileURLToPath(import.meta.url), '--bare-fetch', String(port), String(N)], env, 'bare POP3 fetch');

  const bareMs = [];
  const mailroomMs = [];
  for (let round = 1; round <= ROUNDS; round++) {
    bareMs.push(timed(process.execPath, [fileURLToPath(import.meta.url), '--bare-fetch', String(port), String(N)], env, 'bare POP3 fetch').ms);
    const dataDir = path.join(base, `data-${round}`);
    fs.cpSync(template, dataDir, { recursive: true });
    const run = timed(process.execPath, [cli, 'inbox', 'poll', 'Bench', '--data-dir', dataDir, '--json'], env, 'mailroom inbox poll');
    const result = JSON.parse(run.stdout);
    if (result.imported !== N || result.failed !== 0) throw new Error(`mailroom imported ${result.imported} and failed ${result.failed} of ${N} messages`);
    mailroomMs.push(run.ms);
    fs.rmSync(dataDir, { recursive: true, force: true });
    log(`  round ${round}: bare ${bareMs.at(-1).toFixed(0)} ms, mailroom ${mailroomMs.at(-1).toFixed(0)} ms (engine's own count: ${result.ms} ms)`);
  }

  // curl: one process per message, as a script calling curl for each mail would.
  const netrc = path.join(base, 'netrc');
  fs.writeFileSync(netrc, `machine 127.0.0.1 login ${USER} password ${PASSWORD}\n`, { mode: 0o600 });
  const curlStarted = process.hrtime.bigint();
  for (let n = 1; n <= CURL_SAMPLE; n++) {
    timed('curl', ['-sS', '--netrc-file', netrc, '-o', os.devNull, `pop3://127.0.0.1:${port}/${n}`], env, `curl message ${n}`);
  }
  const curlMs = Number(process.hrtime.bigint() - curlStarted) / 1e6;

  const rate = (count, ms) => (count * 1000) / ms;
  const mailroomRate = rate(N, median(mailroomMs));
  const bareRate = rate(N, median(bareMs));
  const curlRate = rate(CURL_SAMPLE, curlMs);
  const vsBare = mailroomRate / bareRate;
  const vsCurl = mailroomRate / curlRate;
  const ok = vsBare >= GOAL_VS_BARE && vsCurl >= GOAL_VS_CURL;
  const report = {
    messages: N,
    averageMessageBytes: Math.round(dovecot.bytes / N),
    rounds: ROUNDS,
    mailroom: { medianMs: Math.round(median(mailroomMs)), messagesPerSecond: Math.round(mailroomRate) },
    bare: { client: 'node-pop3', medianMs: Math.round(median(bareMs)), messagesPerSecond: Math.round(bareRate) },
    curl: { sample: CURL_SAMPLE, totalMs: Math.round(curlMs), messagesPerSecond: Math.round(curlRate) },
    ratios: { vsBare: Number(vsBare.toFixed(2)), vsCurl: Number(vsCurl.toFixed(1)) },
    goals: { vsBare: GOAL_VS_BARE, vsCurl: GOAL_VS_CURL, met: ok },
  };
  if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else {
    process.stdout.write(
      [
        `${N} messages of ${report.averageMessageBytes} bytes on average (text + PDF attachment), ${ROUNDS} rounds, medians of whole processes:`,
        `  mailroom inbox poll --json   ${String(report.mailroom.medianMs).padStart(6)} ms  ${String(report.mailroom.messagesPerSecond).padStart(6)} msg/s`,
        `  bare POP3 fetch (node-pop3)  ${String(report.bare.medianMs).padStart(6)} ms  ${String(report.bare.messagesPerSecond).padStart(6)} msg/s`,
        `  curl, one process a message  ${String(report.curl.totalMs).padStart(6)} ms  ${String(report.curl.messagesPerSecond).padStart(6)} msg/s  (sample of ${CURL_SAMPLE})`,
        `  mailroom / bare     = ${vsBare.toFixed(2)}  (goal >= ${GOAL_VS_BARE})`,
        `  mailroom / curl     = ${vsCurl.toFixed(1)}x  (goal >= ${GOAL_VS_CURL}x)`,
        ok ? 'Goals met.' : 'Goals NOT met.',
        '',
      ].join('\n'),
    );
  }
  if (opts.check && !ok) exitCode = 1;
} catch (error) {
  process.stderr.write(`pop3 import bench: ${error.message}\n`);
  exitCode = 1;
} finally {
  await stopDovecot(dovecot);
  fs.rmSync(base, { recursive: true, force: true });
}
process.exit(exitCode);
