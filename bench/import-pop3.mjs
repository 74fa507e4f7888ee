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
// The Dovecot set-up is the same shape as test/helpers/dovecot.ts and bench/import.mjs; it is
// repeated here because a bench is plain Node and cannot load the TypeScript helper.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

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

const { values: opts } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '5' },
    'curl-sample': { type: 'string', default: '50' },
    json: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
  },
});
const N = Number(opts.messages);
const ROUNDS = Number(opts.rounds);
const CURL_SAMPLE = Math.min(Number(opts['curl-sample']), N);
if (![N, ROUNDS, CURL_SAMPLE].every((v) => Number.isInteger(v) && v >= 1)) {
  process.stderr.write('pop3 import bench: --messages, --rounds and --curl-sample must be whole numbers of at least 1\n');
  process.exit(2);
}
if (!fs.existsSync(path.join(root, 'dist', 'cli', 'main.mjs'))) {
  process.stderr.write('pop3 import bench: the CLI is not built: run "node scripts/build.mjs cli" first\n');
  process.exit(2);
}
for (const tool of ['dovecot', 'curl']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    process.stderr.write(`pop3 import bench: ${tool} is not installed (apt-get install -y ${tool === 'dovecot' ? 'dovecot-pop3d' : 'curl'})\n`);
    process.exit(2);
  }
}

const GOAL_VS_BARE = 0.5;
const GOAL_VS_CURL = 20;
const log = (text) => opts.json || process.stderr.write(text + '\n');

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

async function waitFor(check, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// A valid one-page PDF, about 1.3 KB, so every message carries a real attachment.
function smallPdf(i) {
  const text = `Mailroom import bench, attachment ${i}. `.repeat(20);
  const stream = `BT /F1 10 Tf 40 750 Td (${text.slice(0, 900)}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets = [];
  objects.forEach((o, k) => {
    offsets.push(body.length);
    body += `${k + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

async function startDovecot(base) {
  const { default: MailComposerModule } = await import('nodemailer/lib/mail-composer');
  const MailComposer = MailComposerModule.default ?? MailComposerModule;
  fs.chmodSync(base, 0o755);
  for (const dir of ['run', 'Maildir/cur', 'Maildir/new', 'Maildir/tmp']) fs.mkdirSync(path.join(base, dir), { recursive: true });
  let bytes = 0;
  for (let i = 1; i <= N; i++) {
    const raw = await new MailComposer({
      from: `Customer ${i} <customer${i}@example.test>`,
      to: 'Support <support@example.test>',
      subject: `Printer on floor ${i % 7} does not print (ticket ${i})`,
      messageId: `<bench-${i}@example.test>`,
      date: new Date(Date.UTC(2026, 10, 1, 8, 0, i % 60)),
      text: `Hello support,\r\n\r\n${'The printer shows an error and the queue is stuck since this morning. '.repeat(34)}\r\n\r\nRegards,\r\nCustomer ${i}\r\n`,
      attachments: [{ filename: `error-report-${i}.pdf`, content: smallPdf(i), contentType: 'application/pdf' }],
    })
      .compile()
      .build();
    bytes += raw.length;
    fs.writeFileSync(path.join(base, 'Maildir', 'cur', `${1_700_000_000 + i}.M${i}P${process.pid}.bench,S=${raw.length}:2,`), raw);
  }
  const port = await freePort();
  fs.writeFileSync(path.join(base, 'passwd'), `${USER}:{PLAIN}${PASSWORD}:65534:65534::${base}::userdb_mail=maildir:${base}/Maildir\n`, { mode: 0o644 });
  fs.writeFileSync(
    path.join(base, 'dovecot.conf'),
    [
      `base_dir = ${base}/run`,
      `state_dir = ${base}/run`,
      `log_path = ${base}/dovecot.log`,
      'protocols = pop3',
      'listen = 127.0.0.1',
      'ssl = no',
      'disable_plaintext_auth = no',
      'auth_mechanisms = plain login',
      'auth_failure_delay = 0',
      `mail_location = maildir:${base}/Maildir`,
      'first_valid_uid = 1',
      'default_internal_user = nobody',
      'default_login_user = nobody',
      'default_internal_group = nogroup',
      'service pop3-login {',
      '  inet_listener pop3 {',
      '    address = 127.0.0.1',
      `    port = ${port}`,
      '  }',
      '  inet_listener pop3s {',
      '    port = 0',
      '  }',
      '  chroot =',
      '}',
      'protocol pop3 {',
      '  pop3_uidl_format = %08Xu%08Xv',
      '}',
      'service anvil {',
      '  chroot =',
      '}',
      'passdb {',
      '  driver = passwd-file',
      `  args = ${base}/passwd`,
      '}',
      'userdb {',
      '  driver = passwd-file',
      `  args = ${base}/passwd`,
      '}',
      '',
    ].join('\n'),
  );
  execFileSync('chown', ['-R', '65534:65534', path.join(base, 'Maildir')]);
  execFileSync('dovecot', ['-c', path.join(base, 'dovecot.conf')], { stdio: 'ignore' });
  await waitFor(() => portOpen(port), `Dovecot on port ${port}`);
  return { port, bytes, pidFile: path.join(base, 'run', 'master.pid') };
}

async function stopDovecot(dovecot) {
  if (!dovecot) return;
  try {
    process.kill(Number(fs.readFileSync(dovecot.pidFile, 'utf8').trim()), 'SIGTERM');
    await waitFor(async () => !(await portOpen(dovecot.port)), 'Dovecot to stop', 10_000);
  } catch {
    // already gone
  }
}

function timed(command, args, env, what) {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${what} failed (exit ${result.status}): ${String(result.stderr || result.stdout).trim().split('\n').slice(0, 3).join(' ')}`);
  return { ms, stdout: String(result.stdout) };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-pop3-bench-'));
let dovecot;
let exitCode = 0;
try {
  log(`import bench: seeding ${N} messages into a private Dovecot...`);
  dovecot = await startDovecot(base);
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
