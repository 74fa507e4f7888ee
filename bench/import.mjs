#!/usr/bin/env node
// Inbox import throughput, measured in one run on one machine against two baselines:
//   mailroom   `mailroom inbox poll <box> --json`: fetch -> parse -> store -> log committed, then
//              the after-import action (mark-seen); a whole process, a fresh data folder each round
//   imapflow   a bare imapflow fetch of the same messages (UID FETCH 1:* BODY[]), a whole process
//   curl       one `curl imap://.../INBOX;UID=n` process per message, a sample of 50 for its rate
// The messages (default 1,000 of about 5 KB: text and a small PDF attachment) sit in a private
// Dovecot on 127.0.0.1. Rounds are interleaved so load on the machine affects both alike; the
// medians are compared. Goals: mailroom >= 50% of bare imapflow, >= 20x curl per message.
//   node bench/import.mjs [--messages 1000] [--rounds 5] [--curl-sample 50] [--json] [--check]
// Needs dovecot (apt-get install dovecot-imapd), curl, and the built CLI (node scripts/build.mjs cli).
// The private Dovecot (the same shape as test/helpers/dovecot.ts, in plain Node) and the timing are
// bench/lib/dovecot-bench.mjs, shared with bench/import-pop3.mjs.
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

// ---- child mode: the bare imapflow fetch, as its own process ----------------------------------
if (process.argv[2] === '--bare-fetch') {
  const [port, expected] = process.argv.slice(3).map(Number);
  const { ImapFlow } = await import('imapflow');
  const client = new ImapFlow({ host: '127.0.0.1', port, secure: false, doSTARTTLS: false, auth: { user: USER, pass: process.env.BENCH_PASSWORD }, logger: false });
  await client.connect();
  const lock = await client.getMailboxLock('INBOX');
  let count = 0;
  for await (const m of client.fetch('1:*', { uid: true, source: true, internalDate: true }, { uid: true })) if (m.source?.length) count++;
  lock.release();
  await client.logout();
  if (count !== expected) throw new Error(`bare fetch got ${count} messages, expected ${expected}`);
  process.exit(0);
}

const { opts, N, ROUNDS, CURL_SAMPLE } = importBenchSetup('import bench', root, { dovecot: 'dovecot-imapd', curl: 'curl' });

const GOAL_VS_IMAPFLOW = 0.5;
const GOAL_VS_CURL = 20;
const log = (text) => opts.json || process.stderr.write(text + '\n');


const base = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-import-bench-'));
let dovecot;
let exitCode = 0;
try {
  log(`import bench: seeding ${N} messages into a private Dovecot...`);
  dovecot = await startDovecot({ base, protocol: 'imap', messages: N, user: USER, password: PASSWORD });
  const { port } = dovecot;
  const env = { ...process.env, NODE_OPTIONS: '', MAILROOM_DATA_DIR: '', MAILROOM_SECRET_KEY: crypto.randomBytes(32).toString('hex'), BENCH_PASSWORD: PASSWORD };

  // One data folder with the mailbox, copied fresh for each round so every round imports all N.
  const template = path.join(base, 'data-template');
  timed(
    process.execPath,
    [cli, 'mailbox', 'add', '--data-dir', template, '--name', 'Bench', '--address', USER, '--preset', 'generic', '--imap-host', '127.0.0.1', '--imap-port', String(port), '--imap-security', 'none', '--after-import', 'mark-seen', '--smtp-host', '127.0.0.1', '--smtp-security', 'none', '--password-env', 'BENCH_PASSWORD', '--import-existing', 'yes', '--json'],
    env,
    'mailroom mailbox add',
  );

  // Warm-up: Dovecot builds its index and the page cache fills, so no contender pays for that.
  timed(process.execPath, [fileURLToPath(import.meta.url), '--bare-fetch', String(port), String(N)], env, 'bare imapflow fetch');

  const bareMs = [];
  const mailroomMs = [];
  for (let round = 1; round <= ROUNDS; round++) {
    bareMs.push(timed(process.execPath, [fileURLToPath(import.meta.url), '--bare-fetch', String(port), String(N)], env, 'bare imapflow fetch').ms);
    const dataDir = path.join(base, `data-${round}`);
    fs.cpSync(template, dataDir, { recursive: true });
    const run = timed(process.execPath, [cli, 'inbox', 'poll', 'Bench', '--data-dir', dataDir, '--json'], env, 'mailroom inbox poll');
    const result = JSON.parse(run.stdout);
    if (result.imported !== N || result.failed !== 0) throw new Error(`mailroom imported ${result.imported} and failed ${result.failed} of ${N} messages`);
    mailroomMs.push(run.ms);
    fs.rmSync(dataDir, { recursive: true, force: true });
    log(`  round ${round}: imapflow ${bareMs.at(-1).toFixed(0)} ms, mailroom ${mailroomMs.at(-1).toFixed(0)} ms (engine's own count: ${result.ms} ms)`);
  }

  // curl: one process per message, as a script calling curl for each mail would.
  const netrc = path.join(base, 'netrc');
  fs.writeFileSync(netrc, `machine 127.0.0.1 login ${USER} password ${PASSWORD}\n`, { mode: 0o600 });
  const curlStarted = process.hrtime.bigint();
  for (let uid = 1; uid <= CURL_SAMPLE; uid++) {
    timed('curl', ['-sS', '--netrc-file', netrc, '-o', os.devNull, `imap://127.0.0.1:${port}/INBOX;UID=${uid}`], env, `curl UID ${uid}`);
  }
  const curlMs = Number(process.hrtime.bigint() - curlStarted) / 1e6;

  const rate = (count, ms) => (count * 1000) / ms;
  const mailroomRate = rate(N, median(mailroomMs));
  const bareRate = rate(N, median(bareMs));
  const curlRate = rate(CURL_SAMPLE, curlMs);
  const vsImapflow = mailroomRate / bareRate;
  const vsCurl = mailroomRate / curlRate;
  const ok = vsImapflow >= GOAL_VS_IMAPFLOW && vsCurl >= GOAL_VS_CURL;
  const report = {
    messages: N,
    averageMessageBytes: Math.round(dovecot.bytes / N),
    rounds: ROUNDS,
    mailroom: { medianMs: Math.round(median(mailroomMs)), messagesPerSecond: Math.round(mailroomRate) },
    imapflow: { medianMs: Math.round(median(bareMs)), messagesPerSecond: Math.round(bareRate) },
    curl: { sample: CURL_SAMPLE, totalMs: Math.round(curlMs), messagesPerSecond: Math.round(curlRate) },
    ratios: { vsImapflow: Number(vsImapflow.toFixed(2)), vsCurl: Number(vsCurl.toFixed(1)) },
    goals: { vsImapflow: GOAL_VS_IMAPFLOW, vsCurl: GOAL_VS_CURL, met: ok },
  };
  if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else {
    process.stdout.write(
      [
        `${N} messages of ${report.averageMessageBytes} bytes on average (text + PDF attachment), ${ROUNDS} rounds, medians of whole processes:`,
        `  mailroom inbox poll --json   ${String(report.mailroom.medianMs).padStart(6)} ms  ${String(report.mailroom.messagesPerSecond).padStart(6)} msg/s`,
        `  bare imapflow fetch          ${String(report.imapflow.medianMs).padStart(6)} ms  ${String(report.imapflow.messagesPerSecond).padStart(6)} msg/s`,
        `  curl, one process a message  ${String(report.curl.totalMs).padStart(6)} ms  ${String(report.curl.messagesPerSecond).padStart(6)} msg/s  (sample of ${CURL_SAMPLE})`,
        `  mailroom / imapflow = ${vsImapflow.toFixed(2)}  (goal >= ${GOAL_VS_IMAPFLOW})`,
        `  mailroom / curl     = ${vsCurl.toFixed(1)}x  (goal >= ${GOAL_VS_CURL}x)`,
        ok ? 'Goals met.' : 'Goals NOT met.',
        '',
      ].join('\n'),
    );
  }
  if (opts.check && !ok) exitCode = 1;
} catch (error) {
  process.stderr.write(`import bench: ${error.message}\n`);
  exitCode = 1;
} finally {
  await stopDovecot(dovecot);
  fs.rmSync(base, { recursive: true, force: true });
}
process.exit(exitCode);
