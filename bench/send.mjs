#!/usr/bin/env node
// bench/send: how fast does Mailroom empty its outbox, next to plain
// nodemailer and curl, in one run, against the same loopback smtp-server?
//
//   Mailroom  1,000 queued messages of about 2 KB through
//             `mailroom engine run --until-idle --json` (queue -> SMTP ->
//             status, history and log rows committed), the whole process timed
//   (a)       pooled nodemailer with its default settings, the same 1,000
//             messages, the whole process timed
//   (b)       the same with TCP_NODELAY set on its sockets and long-lived
//             pooled connections (no limit of messages per connection): the
//             practical limit on loopback
//   (c)       one curl process per message, a sample of 50 giving its rate
//
// Each variant runs ROUNDS times, interleaved, and its median is used. The
// SMTP server runs in this process and counts what it accepts, so every run
// is checked to have delivered every message. Goals: Mailroom >= 70 % of (b),
// >= (a), >= 100x (c). Usage: node bench/send.mjs [--messages 1000] [--rounds 3]
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SMTPServer } from 'smtp-server';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'bin', 'mailroom.mjs');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const MESSAGES = arg('--messages', 1000);
const ROUNDS = arg('--rounds', 3);
const CURL_SAMPLE = 50;
const MAILROOM_SETTINGS = ['--connections', '5', '--messages-per-connection', '100000'];
const FROM = 'support@example.test';

if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.cjs'))) execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), 'cli'], { stdio: 'inherit' });

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-bench-send-'));
const emlDir = path.join(work, 'eml');
fs.mkdirSync(emlDir);

// ~2 KB messages, each with its own Message-ID and recipient.
const line = 'The quick brown fox jumps over the lazy dog; the help desk answers. 0123456789\r\n';
const body = line.repeat(Math.ceil(1750 / line.length));
for (let i = 0; i < MESSAGES; i++) {
  const headers = [
    `From: Support <${FROM}>`,
    `To: Customer ${i} <customer${i}@example.net>`,
    `Subject: Re: [Ticket #${100000 + i}] Printer on floor 3`,
    `Message-ID: <bench-${i}-${process.pid}@example.test>`,
    'Date: Wed, 25 Nov 2026 10:00:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 7bit',
  ];
  fs.writeFileSync(path.join(emlDir, `m${String(i).padStart(5, '0')}.eml`), headers.join('\r\n') + '\r\n\r\n' + body);
}
const emlFiles = fs.readdirSync(emlDir).sort().map((f) => path.join(emlDir, f));
const avgBytes = Math.round(emlFiles.reduce((n, f) => n + fs.statSync(f).size, 0) / emlFiles.length);

// The one SMTP server every variant sends to.
let accepted = 0;
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  size: 10 * 1024 * 1024,
  onData(stream, _session, callback) {
    stream.on('data', () => undefined);
    stream.on('end', () => {
      accepted++;
      callback(null, `OK: queued as B${accepted}`);
    });
  },
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const PORT = server.server.address().port;

function run(command, args, env = {}) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) reject(new Error(`${path.basename(command)} ${args.slice(0, 3).join(' ')} exited ${code}: ${err || out}`));
      else resolve({ ms, out });
    });
  });
}

// Baseline client: the same files through a pooled nodemailer transport.
const baselineScript = path.join(work, 'nodemailer-baseline.mjs');
fs.writeFileSync(
  baselineScript,
  `import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
const require = createRequire(${JSON.stringify(path.join(ROOT, 'package.json'))});
const nodemailer = (await import(require.resolve('nodemailer'))).default;
const [variant, port, dir] = [process.argv[2], Number(process.argv[3]), process.argv[4]];
const files = fs.readdirSync(dir).sort();
const options = { pool: true, host: '127.0.0.1', port, secure: false, ignoreTLS: true };
if (variant === 'b') {
  // Long-lived pooled connections, and sockets with TCP_NODELAY set by us.
  options.maxMessages = Infinity;
  options.getSocket = (opts, callback) => {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    socket.once('error', callback);
    socket.once('connect', () => { socket.removeListener('error', callback); callback(null, { connection: socket }); });
  };
}
const transport = nodemailer.createTransport(options);
await Promise.all(files.map((f, i) => transport.sendMail({ envelope: { from: '${FROM}', to: ['customer' + i + '@example.net'] }, raw: fs.readFileSync(dir + '/' + f) })));
transport.close();
`,
);

async function mailroomRound(round) {
  const dataDir = path.join(work, `data-${round}`);
  const env = { MAILROOM_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'), MAILROOM_DATA_DIR: '' };
  await run(process.execPath, [CLI, 'mailbox', 'add', '--data-dir', dataDir, '--name', 'Support', '--address', FROM, '--preset', 'generic', '--imap-host', '127.0.0.1', '--smtp-host', '127.0.0.1', '--smtp-port', String(PORT), '--smtp-security', 'none', '--smtp-auth', 'none', '--json'], env);
  await run(process.execPath, [CLI, 'send', '--data-dir', dataDir, '--mailbox', 'Support', '--eml-dir', emlDir, '--json'], env);
  // The same pool size as nodemailer's default (5 connections), connections kept for the whole run.
  await run(process.execPath, [CLI, 'outbox', 'settings', 'Support', '--data-dir', dataDir, ...MAILROOM_SETTINGS], env);
  const before = accepted;
  const { ms, out } = await run(process.execPath, [CLI, 'engine', 'run', '--until-idle', '--json', '--data-dir', dataDir], env);
  const summary = JSON.parse(out);
  if (summary.sent !== MESSAGES || accepted - before !== MESSAGES) throw new Error(`Mailroom round ${round}: sent ${summary.sent}, server got ${accepted - before}, expected ${MESSAGES}`);
  return { ms, engineMs: summary.ms };
}

async function nodemailerRound(variant) {
  const before = accepted;
  const { ms } = await run(process.execPath, [baselineScript, variant, String(PORT), emlDir]);
  if (accepted - before !== MESSAGES) throw new Error(`nodemailer (${variant}): the server got ${accepted - before} of ${MESSAGES}`);
  return { ms };
}

async function curlSample() {
  const before = accepted;
  const started = process.hrtime.bigint();
  for (let i = 0; i < CURL_SAMPLE; i++) {
    await run('curl', ['-s', '--url', `smtp://127.0.0.1:${PORT}`, '--mail-from', FROM, '--mail-rcpt', `customer${i}@example.net`, '--upload-file', emlFiles[i]]);
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (accepted - before !== CURL_SAMPLE) throw new Error(`curl: the server got ${accepted - before} of ${CURL_SAMPLE}`);
  return { ms: (ms / CURL_SAMPLE) * MESSAGES };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = { mailroom: [], a: [], b: [], c: [] };
const engineMs = [];
try {
  process.stdout.write(`bench/send: ${MESSAGES} messages of about ${avgBytes} bytes to smtp-server on 127.0.0.1:${PORT}, ${ROUNDS} rounds, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}, Node ${process.version}\n`);
  process.stdout.write(`  Mailroom outbox settings: ${MAILROOM_SETTINGS.join(' ')}\n`);
  for (let round = 1; round <= ROUNDS; round++) {
    const m = await mailroomRound(round);
    results.mailroom.push(m.ms);
    engineMs.push(m.engineMs);
    results.a.push((await nodemailerRound('a')).ms);
    results.b.push((await nodemailerRound('b')).ms);
    if (round === 1) results.c.push((await curlSample()).ms);
    process.stdout.write(`  round ${round}: mailroom ${m.ms.toFixed(0)} ms (engine ${m.engineMs} ms), (a) ${results.a.at(-1).toFixed(0)} ms, (b) ${results.b.at(-1).toFixed(0)} ms\n`);
  }
  const rate = (ms) => (MESSAGES / ms) * 1000;
  const r = { mailroom: rate(median(results.mailroom)), a: rate(median(results.a)), b: rate(median(results.b)), c: rate(median(results.c)) };
  const ratios = { b: r.mailroom / r.b, a: r.mailroom / r.a, c: r.mailroom / r.c };
  process.stdout.write(
    [
      `Mailroom engine run --until-idle: ${r.mailroom.toFixed(0)} msg/s (median of ${ROUNDS}; whole process ${median(results.mailroom).toFixed(0)} ms, of which sending ${median(engineMs)} ms)`,
      `(a) nodemailer pool, defaults:     ${r.a.toFixed(0)} msg/s`,
      `(b) nodemailer pool, NODELAY, long-lived connections: ${r.b.toFixed(0)} msg/s`,
      `(c) curl, one process per message: ${r.c.toFixed(1)} msg/s (sample of ${CURL_SAMPLE})`,
      `ratio Mailroom / (b) = ${ratios.b.toFixed(2)}  (goal >= 0.70) ${ratios.b >= 0.7 ? 'met' : 'NOT met'}`,
      `ratio Mailroom / (a) = ${ratios.a.toFixed(2)}  (goal >= 1.00) ${ratios.a >= 1 ? 'met' : 'NOT met'}`,
      `ratio Mailroom / (c) = ${ratios.c.toFixed(0)}  (goal >= 100) ${ratios.c >= 100 ? 'met' : 'NOT met'}`,
    ].join('\n') + '\n',
  );
  process.exitCode = ratios.b >= 0.7 && ratios.a >= 1 && ratios.c >= 100 ? 0 : 1;
} finally {
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(work, { recursive: true, force: true });
}
