#!/usr/bin/env node
// The mail-flow watch at scale: 50 mailboxes on a private Dovecot with a loopback smtp-server as
// their SMTP (it delivers what it accepts into Dovecot by IMAP APPEND, so every probe really
// travels), `mailroom engine run` holding an IDLE connection to each and probing each every
// minute, and nothing else arriving. After a warm-up, for --minutes (default 10), it samples the
// engine process's resident memory and CPU time (/proc), then times the health query (the
// overview of all mailboxes, as the screen and `mailroom health` read it) in this process.
// Goals: RSS <= 300 MB, average CPU <= 2% of one core, health query < 50 ms (median of 20).
//   node bench/watch.mjs [--mailboxes 50] [--minutes 10] [--warmup 90] [--json] [--check]
// Needs dovecot (apt-get install dovecot-imapd), Linux (/proc), and the built CLI
// (node scripts/build.mjs cli). The private Dovecot is bench/lib/dovecot-bench.mjs's, as the import benches'.
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { importEngine, ROOT } from './engine-bundle.mjs';
import { runDovecot, stopDovecot } from './lib/dovecot-bench.mjs';

const { values: opts } = parseArgs({
  options: {
    mailboxes: { type: 'string', default: '50' },
    minutes: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '90' },
    json: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
  },
});
const N = Number(opts.mailboxes);
const MINUTES = Number(opts.minutes);
const WARMUP_S = Number(opts.warmup);
if (![N, MINUTES, WARMUP_S].every((v) => Number.isFinite(v) && v > 0) || !Number.isInteger(N)) {
  process.stderr.write('watch bench: --mailboxes, --minutes and --warmup must be positive numbers\n');
  process.exit(2);
}
const GOALS = { rssMb: 300, cpuPercent: 2, healthQueryMs: 50 };
const cli = path.join(ROOT, 'bin', 'mailroom.mjs');
if (!fs.existsSync(path.join(ROOT, 'dist', 'cli', 'main.cjs'))) {
  process.stderr.write('watch bench: the CLI is not built: run "node scripts/build.mjs cli" first\n');
  process.exit(2);
}
const log = (text) => opts.json || process.stderr.write(text + '\n');
const PASSWORD = 'bench-' + crypto.randomBytes(6).toString('hex');
const KEY = crypto.randomBytes(32).toString('hex');
const users = Array.from({ length: N }, (_, i) => `desk${String(i + 1).padStart(2, '0')}@example.test`);

async function startDovecot(base) {
  fs.chmodSync(base, 0o755);
  const lines = [];
  for (const user of users) {
    const home = path.join(base, 'mail', user);
    for (const dir of ['cur', 'new', 'tmp', '.Junk/cur', '.Junk/new', '.Junk/tmp']) fs.mkdirSync(path.join(home, dir), { recursive: true });
    lines.push(`${user}:{PLAIN}${PASSWORD}:65534:65534::${home}::userdb_mail=maildir:${home}`);
  }
  fs.writeFileSync(path.join(base, 'passwd'), lines.join('\n') + '\n', { mode: 0o644 });
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', '65534:65534', path.join(base, 'mail')]);
  // An IDLE connection per mailbox, a probe search per mailbox, and the bench's own deliveries.
  return runDovecot({ base, protocol: 'imap', settings: ['default_process_limit = 500', 'default_client_limit = 2000', 'mail_max_userip_connections = 20'] });
}

/** The loopback MTA: accepts for every user and delivers into Dovecot by IMAP APPEND. */
async function startMta(imapPort) {
  const { SMTPServer } = await import('smtp-server');
  const { ImapFlow } = await import('imapflow');
  let delivered = 0;
  const deliver = async (user, raw) => {
    const client = new ImapFlow({ host: '127.0.0.1', port: imapPort, secure: false, doSTARTTLS: false, auth: { user, pass: PASSWORD }, logger: false });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.append('INBOX', raw);
      delivered++;
    } finally {
      await client.logout().catch(() => undefined);
    }
  };
  const server = new SMTPServer({
    logger: false,
    disableReverseLookup: true,
    authOptional: true,
    hideSTARTTLS: true,
    onData(stream, session, callback) {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        const recipients = session.envelope.rcptTo.map((r) => r.address);
        callback();
        for (const user of recipients) void deliver(user, Buffer.concat(chunks)).catch(() => undefined);
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: server.server.address().port, delivered: () => delivered, stop: () => new Promise((resolve) => server.close(resolve)) };
}

/** utime + stime of a process, in seconds, and its resident memory in MB (Linux /proc). */
function processUsage(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const hz = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return { cpuSeconds: ticks / hz, rssMb: rssKb / 1024 };
}

const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-watch-bench-'));
const dataDir = path.join(base, 'data');
let dovecot;
let mta;
let child;
let cleanup = () => undefined;
try {
  dovecot = await startDovecot(base);
  mta = await startMta(dovecot.port);
  log(`watch bench: ${N} mailboxes on Dovecot :${dovecot.port}, SMTP :${mta.port}; warm-up ${WARMUP_S} s, then ${MINUTES} min`);
  const bundle = await importEngine('src-main/engine/mailroom.ts');
  cleanup = bundle.cleanup;
  const { openMailroom } = bundle.mod;
  process.env.MAILROOM_SECRET_KEY = KEY;
  let engine = openMailroom({ dataDir });
  for (const user of users) {
    const m = engine.mailboxes.create({
      name: user.split('@')[0],
      address: user,
      preset: 'generic',
      imap: { host: '127.0.0.1', port: dovecot.port, security: 'none', username: user, afterImport: 'mark-seen' },
      smtp: { host: '127.0.0.1', port: mta.port, security: 'none', auth: 'none' },
      password: PASSWORD,
    });
    engine.health.saveProbeSettings({ mailboxId: m.id, enabled: true, intervalSeconds: 60, timeoutSeconds: 50 });
  }
  engine.close();

  child = spawn(process.execPath, [cli, 'engine', 'run', '--data-dir', dataDir], { env: { ...process.env, MAILROOM_SECRET_KEY: KEY }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
  if (child.exitCode !== null) throw new Error(`engine run exited early (${child.exitCode}): ${stderr}`);

  const start = processUsage(child.pid);
  const startAt = Date.now();
  let peakRss = start.rssMb;
  const samples = Math.max(1, Math.round((MINUTES * 60) / 10));
  for (let i = 0; i < samples; i++) {
    await new Promise((r) => setTimeout(r, 10_000));
    peakRss = Math.max(peakRss, processUsage(child.pid).rssMb);
  }
  const end = processUsage(child.pid);
  const elapsed = (Date.now() - startAt) / 1000;
  const cpuPercent = ((end.cpuSeconds - start.cpuSeconds) / elapsed) * 100;

  // The health query, as the screen and `mailroom health` run it, while the engine keeps running.
  engine = openMailroom({ dataDir });
  const times = [];
  let overview;
  for (let i = 0; i < 21; i++) {
    const t = process.hrtime.bigint();
    overview = engine.health.overview({ record: false });
    if (i > 0) times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const probes = engine.health.probes(startAt);
  engine.close();
  const result = {
    mailboxes: N,
    minutes: Math.round((elapsed / 60) * 10) / 10,
    rssMb: Math.round(end.rssMb),
    peakRssMb: Math.round(peakRss),
    cpuPercent: Math.round(cpuPercent * 100) / 100,
    healthQueryMs: Math.round(median(times) * 10) / 10,
    probes: { delivered: probes.filter((p) => p.status === 'delivered').length, failed: probes.filter((p) => p.status === 'failed').length },
    healthy: overview.healthy,
    summary: overview.summary.slice(0, 200),
    goals: GOALS,
  };
  result.met = result.peakRssMb <= GOALS.rssMb && result.cpuPercent <= GOALS.cpuPercent && result.healthQueryMs < GOALS.healthQueryMs;
  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else {
    log(`engine RSS ${result.rssMb} MB (peak ${result.peakRssMb}; goal <= ${GOALS.rssMb}), CPU ${result.cpuPercent}% of one core (goal <= ${GOALS.cpuPercent}%), health query ${result.healthQueryMs} ms (goal < ${GOALS.healthQueryMs})`);
    log(`probes in the measured period: ${result.probes.delivered} delivered, ${result.probes.failed} failed; ${result.summary}`);
    log(result.met ? 'goals met' : 'GOALS NOT MET');
  }
  if (opts.check && !result.met) process.exitCode = 1;
} finally {
  if (child && child.exitCode === null) {
    child.kill('SIGINT');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('close', r)));
  }
  await mta?.stop();
  await stopDovecot(dovecot);
  cleanup();
  fs.rmSync(base, { recursive: true, force: true });
}
