#!/usr/bin/env node
// Times full healthy connection tests by the Mailroom CLI next to `curl -v`
// doing the same steps, in one run, against loopback servers:
//   SMTP: smtp-server with STARTTLS + AUTH; connect, greeting, EHLO, STARTTLS,
//         AUTH, MAIL FROM, RCPT TO, DATA (a small message).
//   IMAP: a private Dovecot with TLS + password; connect, TLS, greeting,
//         CAPABILITY, sign-in, SELECT/EXAMINE INBOX.
// Runs alternate between Mailroom and curl so machine load hits both alike.
// Two Mailroom figures: the CLI (a cold Node process per test, as a script
// runs it) and the engine inside an already running app (what the desktop
// app and the browser console wait for when "Test connection" is pressed).
// Prints the medians and Mailroom/curl ratios. Goal: under 2x curl.
//
//   node bench/connection-test.mjs [--runs N]      (default 15; build first: node scripts/build.mjs cli)
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Math.max(1, Number(process.argv[runsArg + 1]) || 15) : 15;
const USER = 'bench@example.test';
const PASSWORD = 'bench-Pa55word';

if (!fs.existsSync(path.join(root, 'dist', 'cli', 'main.cjs'))) {
  console.error('bench: build the CLI first: node scripts/build.mjs cli');
  process.exit(2);
}

// The test helpers (certificates, smtp-server peer, private Dovecot) are TypeScript: bundle them once.
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-bench-'));
fs.chmodSync(work, 0o755);
await build({
  absWorkingDir: root,
  entryPoints: {
    certs: 'test/helpers/certs.ts',
    smtp: 'test/helpers/smtp-peer.ts',
    dovecot: 'test/helpers/dovecot.ts',
    engine: 'src-main/engine/connection-test/run-test.ts',
    resolver: 'src-main/engine/connection-test/dns-resolver.ts',
  },
  outdir: path.join(work, 'helpers'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  packages: 'external',
  logLevel: 'warning',
});
// Bundled helpers resolve packages from the repository's node_modules.
fs.symlinkSync(path.join(root, 'node_modules'), path.join(work, 'node_modules'), 'junction');
const load = (name) => import(pathToFileURL(path.join(work, 'helpers', `${name}.js`)).href);
const [{ makeTestCerts }, { startSmtpPeer }, { startDovecot }, { runConnectionTest }, { systemResolver }] = await Promise.all([
  load('certs'),
  load('smtp'),
  load('dovecot'),
  load('engine'),
  load('resolver'),
]);

const certs = makeTestCerts();
const smtp = await startSmtpPeer({ tls: 'starttls', cert: certs.leaf, users: { [USER]: PASSWORD }, authMethods: ['PLAIN', 'LOGIN'] });
const dovecot = await startDovecot({ users: { [USER]: PASSWORD }, ssl: { cert: certs.leaf } });

const dataDir = path.join(work, 'data');
const message = path.join(work, 'message.eml');
fs.writeFileSync(message, `From: <${USER}>\r\nTo: <admin@example.test>\r\nSubject: Mailroom connection test\r\n\r\nThis message was sent by the bench.\r\n`);
// curl reads the password from a netrc file, Mailroom from the environment: neither on the command line.
const netrc = path.join(work, 'netrc');
fs.writeFileSync(netrc, `machine 127.0.0.1 login ${USER} password ${PASSWORD}\n`, { mode: 0o600 });
const env = { ...process.env, MAILROOM_BENCH_PASSWORD: PASSWORD, NODE_EXTRA_CA_CERTS: certs.ca.certPath };

const cli = path.join(root, 'bin', 'mailroom.mjs');
const engineSpec = {
  smtp: { protocol: 'smtp', host: '127.0.0.1', port: smtp.port, security: 'starttls', auth: 'password', user: USER, password: PASSWORD, from: USER, to: 'admin@example.test', timeoutMs: 15000, ca: [certs.ca.cert] },
  imap: { protocol: 'imap', host: '127.0.0.1', port: dovecot.tlsPort, security: 'tls', auth: 'password', user: USER, password: PASSWORD, folder: 'INBOX', timeoutMs: 15000, ca: [certs.ca.cert] },
};
const resolver = systemResolver();
const cases = {
  smtp: {
    mailroom: [process.execPath, [cli, 'test', 'smtp', '--host', '127.0.0.1', '--port', String(smtp.port), '--security', 'starttls', '--user', USER, '--password-env', 'MAILROOM_BENCH_PASSWORD', '--from', USER, '--to', 'admin@example.test', '--json', '--data-dir', dataDir]],
    curl: ['curl', ['-v', '-sS', '--url', `smtp://127.0.0.1:${smtp.port}`, '--ssl-reqd', '--cacert', certs.ca.certPath, '--netrc-file', netrc, '--mail-from', USER, '--mail-rcpt', 'admin@example.test', '--upload-file', message]],
  },
  imap: {
    mailroom: [process.execPath, [cli, 'test', 'imap', '--host', '127.0.0.1', '--port', String(dovecot.tlsPort), '--security', 'tls', '--user', USER, '--password-env', 'MAILROOM_BENCH_PASSWORD', '--json', '--data-dir', dataDir]],
    curl: ['curl', ['-v', '-sS', '--url', `imaps://127.0.0.1:${dovecot.tlsPort}/INBOX`, '--cacert', certs.ca.certPath, '--netrc-file', netrc, '--request', 'NOOP']],
  },
};

async function timeEngine(name) {
  const started = performance.now();
  const outcome = await runConnectionTest(engineSpec[name], { resolver });
  const ms = performance.now() - started;
  if (!outcome.ok) throw new Error(`engine ${name} test failed: ${JSON.stringify(outcome.diagnosis)}`);
  return ms;
}

async function timeOnce([file, args], check) {
  const started = performance.now();
  const { stdout, stderr } = await run(file, args, { env, maxBuffer: 16 * 1024 * 1024 });
  const ms = performance.now() - started;
  check(stdout, stderr);
  return ms;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const results = {};
try {
  for (const [name, c] of Object.entries(cases)) {
    const times = { mailroom: [], engine: [], curl: [] };
    const mailroomOk = (stdout) => {
      const report = JSON.parse(stdout);
      if (!report.ok) throw new Error(`Mailroom ${name} test failed: ${JSON.stringify(report.diagnosis)}`);
    };
    const curlOk = (_stdout, stderr) => {
      if (name === 'smtp' && !/< 250 /.test(stderr)) throw new Error(`curl ${name} did not complete`);
      if (name === 'imap' && !/OK \[READ-WRITE\]/.test(stderr)) throw new Error(`curl ${name} did not select INBOX`);
    };
    // One warm-up of each (file cache, Dovecot's first login).
    await timeOnce(c.mailroom, mailroomOk);
    await timeEngine(name);
    await timeOnce(c.curl, curlOk);
    for (let i = 0; i < RUNS; i++) {
      times.mailroom.push(await timeOnce(c.mailroom, mailroomOk));
      times.engine.push(await timeEngine(name));
      times.curl.push(await timeOnce(c.curl, curlOk));
    }
    results[name] = { mailroom: median(times.mailroom), engine: median(times.engine), curl: median(times.curl) };
  }
} finally {
  await smtp.stop();
  await dovecot.stop();
  certs.remove();
  fs.rmSync(work, { recursive: true, force: true });
}

const emptyNode = [];
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  await run(process.execPath, ['-e', '0']);
  emptyNode.push(performance.now() - t);
}
const nodeStart = median(emptyNode);
console.log(`connection-test bench: ${RUNS} runs each, medians of wall-clock time; curl ${(await run('curl', ['--version'])).stdout.split(' ')[1]}, node ${process.version} (an empty node process takes ${nodeStart.toFixed(0)} ms)`);
const verdict = (ratio) => (ratio < 2 ? 'goal < 2x met' : 'goal < 2x NOT met');
for (const [name, r] of Object.entries(results)) {
  const cliRatio = r.mailroom / r.curl;
  const engineRatio = r.engine / r.curl;
  console.log(`  ${name.toUpperCase()}  curl -v ${r.curl.toFixed(0).padStart(4)} ms | mailroom CLI ${r.mailroom.toFixed(0).padStart(4)} ms = ${cliRatio.toFixed(2)}x (${verdict(cliRatio)}) | engine in a running app ${r.engine.toFixed(0).padStart(4)} ms = ${engineRatio.toFixed(2)}x (${verdict(engineRatio)})`);
}
