// What the import benches share (bench/import.mjs for IMAP, bench/import-pop3.mjs for POP3):
// a private Dovecot seeded with the same messages, whole-process timing and medians.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';

/**
 * The import benches' flags (--messages, --rounds, --curl-sample, --json, --check) and their
 * pre-flight checks: whole numbers of at least 1, the CLI built under `root`, the tools installed.
 * Exits with 2 and a line naming what to change when one fails.
 */
export function importBenchSetup(bench, root, tools) {
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
    process.stderr.write(`${bench}: --messages, --rounds and --curl-sample must be whole numbers of at least 1\n`);
    process.exit(2);
  }
  if (!fs.existsSync(path.join(root, 'dist', 'cli', 'main.cjs'))) {
    process.stderr.write(`${bench}: the CLI is not built: run "node scripts/build.mjs cli" first\n`);
    process.exit(2);
  }
  requireTools(bench, tools);
  return { opts, N, ROUNDS, CURL_SAMPLE };
}

/** Exits with 2 and the apt package to install when a tool the bench needs is missing. */
export function requireTools(bench, tools) {
  for (const [tool, pkg] of Object.entries(tools)) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      process.stderr.write(`${bench}: ${tool} is not installed (apt-get install -y ${pkg})\n`);
      process.exit(2);
    }
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export function portOpen(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

export async function waitFor(check, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

// A valid one-page PDF, about 1.3 KB, so every message carries a real attachment.
export function smallPdf(i) {
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

/**
 * Seeds `messages` messages of about 5 KB (text and a small PDF) into a
 * private Dovecot's Maildir under `base` and starts it on a free loopback
 * port, serving `protocol` ('imap' or 'pop3') to `user` with `password`.
 * The same shape as test/helpers/dovecot.ts, in plain Node (a bench cannot
 * load the TypeScript helper).
 */
export async function startDovecot({ base, protocol, messages: N, user: USER, password: PASSWORD }) {
  const { default: MailComposerModule } = await import('nodemailer/lib/mail-composer');
  const MailComposer = MailComposerModule.default ?? MailComposerModule;
  fs.chmodSync(base, 0o755);
  for (const dir of ['Maildir/cur', 'Maildir/new', 'Maildir/tmp']) fs.mkdirSync(path.join(base, dir), { recursive: true });
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
  fs.writeFileSync(path.join(base, 'passwd'), `${USER}:{PLAIN}${PASSWORD}:65534:65534::${base}::userdb_mail=maildir:${base}/Maildir\n`, { mode: 0o644 });
  execFileSync('chown', ['-R', '65534:65534', path.join(base, 'Maildir')]);
  const dovecot = await runDovecot({ base, protocol, settings: [`mail_location = maildir:${base}/Maildir`] });
  return { ...dovecot, bytes };
}

/**
 * Writes a private Dovecot's configuration under `base` (one protocol, 'imap'
 * or 'pop3', on a free 127.0.0.1 port; plain-text sign-in against the
 * passwd-file `base`/passwd; no chroot, so it runs as an unprivileged user)
 * with `settings` added, starts it and waits for its port. For the import
 * benches and bench/watch.mjs.
 */
export async function runDovecot({ base, protocol, settings = [] }) {
  fs.mkdirSync(path.join(base, 'run'), { recursive: true });
  const port = await freePort();
  fs.writeFileSync(
    path.join(base, 'dovecot.conf'),
    [
      `base_dir = ${base}/run`,
      `state_dir = ${base}/run`,
      `log_path = ${base}/dovecot.log`,
      `protocols = ${protocol}`,
      'listen = 127.0.0.1',
      'ssl = no',
      'disable_plaintext_auth = no',
      'auth_mechanisms = plain login',
      'auth_failure_delay = 0',
      'first_valid_uid = 1',
      'default_internal_user = nobody',
      'default_login_user = nobody',
      'default_internal_group = nogroup',
      ...settings,
      `service ${protocol}-login {`,
      `  inet_listener ${protocol} {`,
      '    address = 127.0.0.1',
      `    port = ${port}`,
      '  }',
      `  inet_listener ${protocol}s {`,
      '    port = 0',
      '  }',
      '  chroot =',
      '}',
      ...(protocol === 'pop3' ? ['protocol pop3 {', '  pop3_uidl_format = %08Xu%08Xv', '}'] : []),
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
  execFileSync('dovecot', ['-c', path.join(base, 'dovecot.conf')], { stdio: 'ignore' });
  await waitFor(() => portOpen(port), `Dovecot on port ${port}`);
  return { port, pidFile: path.join(base, 'run', 'master.pid') };
}

export async function stopDovecot(dovecot) {
  if (!dovecot) return;
  try {
    process.kill(Number(fs.readFileSync(dovecot.pidFile, 'utf8').trim()), 'SIGTERM');
    await waitFor(async () => !(await portOpen(dovecot.port)), 'Dovecot to stop', 10_000);
  } catch {
    // already gone
  }
}

export function timed(command, args, env, what) {
  const started = process.hrtime.bigint();
  const result = spawnSync(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000, maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0) throw new Error(`${what} failed (exit ${result.status}): ${String(result.stderr || result.stdout).trim().split('\n').slice(0, 3).join(' ')}`);
  return { ms, stdout: String(result.stdout) };
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
