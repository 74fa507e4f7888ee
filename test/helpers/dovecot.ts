/**
 * A private Dovecot (2.3, Debian's dovecot-imapd) for integration tests: one
 * instance per test file, on free ports of 127.0.0.1, with its own config,
 * passwd-file and Maildirs in a temporary folder. The system service is
 * never used.
 *
 *   const dovecot = await startDovecot({
 *     users: { 'support@example.test': 'secret' },
 *     ssl: { cert: certs.leaf },                 // STARTTLS on `port`, implicit TLS on `tlsPort`
 *     oauth2IntrospectionUrl: 'http://127.0.0.1:4000/introspect', // adds XOAUTH2/OAUTHBEARER
 *     folders: ['Support', 'Archive'],          // created for every user
 *     messages: [{ user: 'support@example.test', raw: 'Subject: hi\r\n\r\nbody\r\n' }],
 *   });
 *   ... dovecot.port, dovecot.tlsPort ...
 *   await dovecot.append('support@example.test', 'INBOX', rawMessage); // after start, over IMAP
 *   await dovecot.stop();
 *
 * POP3 (Debian's dovecot-pop3d): `pop3: true` adds a POP3 listener on
 * `pop3Port` (plaintext, with STLS when ssl is on) and an implicit-TLS one on
 * `pop3TlsPort` (POP3S, with ssl). POP3 sees the same INBOX Maildir as IMAP;
 * `inboxCount(user)` counts the messages there (to check what a POP3 DELE
 * removed). `pop3: { lockSession: true }` makes a second POP3 session of the
 * same user fail with `-ERR [IN-USE] ...` while one is open.
 *
 * XOAUTH2: Dovecot POSTs `token=<access token>` to the introspection URL
 * and expects `{"active": true, "username": "<user>"}` for a good token
 * (anything else fails the sign-in); the user must also be in `users`
 * (any password) for the mailbox to exist.
 *
 * Pitfalls handled here (measured on this machine): Dovecot's processes run
 * as nobody, so the folders are chmod 755 and the Maildirs owned by 65534;
 * `dovecot -c` daemonizes but keeps the caller's stdio open, so stdio is
 * ignored; stopping is SIGTERM to run/master.pid, then waiting for the port
 * to close; auth_failure_delay = 0 so a failed login costs no 2 s; and
 * anvil's auth-penalty socket is mode 0, else every later login from
 * 127.0.0.1 waits 2-15 s after a failed one.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { CertPair } from './certs';

export interface DovecotMessage {
  user: string;
  /** Default INBOX. */
  folder?: string;
  /** The raw RFC 5322 message (CRLF line ends); a Buffer for exact bytes (a string is written as UTF-8). */
  raw: string | Buffer;
  /** Maildir flags, e.g. 'S' for \Seen. */
  flags?: string;
}

export interface DovecotOptions {
  /** Users and their passwords. */
  users: Record<string, string>;
  /** TLS: STARTTLS on `port` and implicit TLS on `tlsPort`, with this certificate. */
  ssl?: { cert: CertPair };
  /**
   * disable_plaintext_auth = yes. Note: Dovecot treats a connection whose
   * local and remote address are equal (127.0.0.1 -> 127.0.0.1) as secured,
   * so on loopback it still allows plaintext sign-in and never shows
   * LOGINDISABLED. Default false.
   */
  requireTlsForAuth?: boolean;
  /** Adds an OAuth 2.0 passdb (XOAUTH2, OAUTHBEARER) that checks tokens at this URL. */
  oauth2IntrospectionUrl?: string;
  /** Folders (besides INBOX) created for every user. ASCII names; '/' separates levels. */
  folders?: string[];
  /** Messages written into the Maildirs before start. */
  messages?: DovecotMessage[];
  /**
   * Adds the POP3 service: `pop3Port` (plaintext, STLS with ssl) and
   * `pop3TlsPort` (implicit TLS, with ssl). UIDLs are Dovecot 2.3's default
   * `%08Xu%08Xv` (IMAP UID + UIDVALIDITY). `lockSession` sets
   * pop3_lock_session = yes (a second session is refused with [IN-USE],
   * after Dovecot has waited about 10 s for the lock).
   */
  pop3?: boolean | { lockSession?: boolean };
}

export interface Dovecot {
  host: '127.0.0.1';
  /** IMAP port: plaintext, with STARTTLS when ssl is on. */
  port: number;
  /** Implicit-TLS IMAP port (0 without ssl). */
  tlsPort: number;
  /** POP3 port: plaintext, with STLS when ssl is on (0 without `pop3`). */
  pop3Port: number;
  /** Implicit-TLS POP3 port, POP3S (0 without `pop3` and ssl). */
  pop3TlsPort: number;
  baseDir: string;
  /** How many messages the user's INBOX holds on disk (new + cur), e.g. after a POP3 DELE + QUIT. */
  inboxCount(user: string): number;
  /** The raw messages in the user's INBOX on disk (new + cur), read as another program would. */
  inboxMessages(user: string): Buffer[];
  /** Appends a message over IMAP (the server must be running). */
  append(user: string, folder: string, raw: string): Promise<void>;
  /** Dovecot's log so far (for failing tests). */
  log(): string;
  stop(): Promise<void>;
}

const NOBODY = 65534;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * True once the plaintext port greets with "Dovecot ready.": right after start
 * Dovecot accepts connections before its auth process answers, and greets
 * with "* OK Waiting for authentication process to respond.." instead.
 */
function greetsReady(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const done = (ready: boolean) => {
      socket.destroy();
      resolve(ready);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (text.includes('\n')) done(/Dovecot ready\./.test(text));
    });
    socket.once('error', () => done(false));
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Dovecot: timed out ${what}`);
}

function chownTree(dir: string): void {
  if (process.getuid?.() !== 0) return;
  fs.chownSync(dir, NOBODY, NOBODY);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p);
    else fs.chownSync(p, NOBODY, NOBODY);
  }
}

function makeMaildir(dir: string): void {
  for (const sub of ['cur', 'new', 'tmp']) fs.mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o755 });
}

/** Maildir++ folder directory for a folder name ('A/B' -> '.A.B'). */
function folderDir(mailDir: string, folder: string): string {
  return folder.toUpperCase() === 'INBOX' ? mailDir : path.join(mailDir, `.${folder.split('/').join('.')}`);
}

function userDirName(user: string): string {
  return user.replace(/[^A-Za-z0-9@._-]/g, '_');
}

/** Starts a private Dovecot. */
export async function startDovecot(options: DovecotOptions): Promise<Dovecot> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-dovecot-'));
  fs.chmodSync(base, 0o755);
  const runDir = path.join(base, 'run');
  fs.mkdirSync(runDir, { mode: 0o755 });
  const mailRoot = path.join(base, 'mail');
  fs.mkdirSync(mailRoot, { mode: 0o755 });

  const passwd: string[] = [];
  for (const [user, password] of Object.entries(options.users)) {
    if (/[:\r\n]/.test(user) || /[\r\n]/.test(password)) throw new Error(`Dovecot test user ${user}: no ':' or line breaks`);
    const mailDir = path.join(mailRoot, userDirName(user));
    makeMaildir(mailDir);
    for (const folder of options.folders ?? []) makeMaildir(folderDir(mailDir, folder));
    if (options.folders?.length) fs.writeFileSync(path.join(mailDir, 'subscriptions'), options.folders.join('\n') + '\n');
    passwd.push(`${user}:{PLAIN}${password}:${NOBODY}:${NOBODY}::${mailDir}::userdb_mail=maildir:${mailDir}`);
  }
  for (const [i, message] of (options.messages ?? []).entries()) {
    const mailDir = path.join(mailRoot, userDirName(message.user));
    const dir = folderDir(mailDir, message.folder ?? 'INBOX');
    makeMaildir(dir);
    const name = `${Math.floor(Date.now() / 1000)}.M${i}P${process.pid}R${crypto.randomBytes(4).toString('hex')}.mailroom-test:2,${message.flags ?? ''}`;
    fs.writeFileSync(path.join(dir, 'cur', name), message.raw);
  }
  fs.writeFileSync(path.join(base, 'passwd'), passwd.join('\n') + '\n', { mode: 0o644 });
  chownTree(mailRoot);

  const oauthConf = path.join(base, 'dovecot-oauth2.conf.ext');
  if (options.oauth2IntrospectionUrl) {
    fs.writeFileSync(
      oauthConf,
      [
        `introspection_url = ${options.oauth2IntrospectionUrl}`,
        'introspection_mode = post',
        'username_attribute = username',
        'active_attribute = active',
        'active_value = true',
        '',
      ].join('\n'),
      { mode: 0o644 },
    );
  }

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const tlsPort = options.ssl ? await freePort() : 0;
    const pop3Port = options.pop3 ? await freePort() : 0;
    const pop3TlsPort = options.pop3 && options.ssl ? await freePort() : 0;
    const pop3LockSession = typeof options.pop3 === 'object' && Boolean(options.pop3.lockSession);
    const conf = path.join(base, 'dovecot.conf');
    fs.writeFileSync(
      conf,
      [
        `base_dir = ${runDir}`,
        `state_dir = ${runDir}`,
        `log_path = ${path.join(base, 'dovecot.log')}`,
        `info_log_path = ${path.join(base, 'dovecot.log')}`,
        `protocols = imap${options.pop3 ? ' pop3' : ''}`,
        'listen = 127.0.0.1',
        options.ssl ? `ssl = yes\nssl_cert = <${options.ssl.cert.certPath}\nssl_key = <${options.ssl.cert.keyPath}` : 'ssl = no',
        `disable_plaintext_auth = ${options.requireTlsForAuth ? 'yes' : 'no'}`,
        `auth_mechanisms = plain login${options.oauth2IntrospectionUrl ? ' xoauth2 oauthbearer' : ''}`,
        'auth_failure_delay = 0',
        'mail_location = maildir:~/',
        'first_valid_uid = 1',
        'default_internal_user = nobody',
        'default_login_user = nobody',
        'default_internal_group = nogroup',
        'login_greeting = Dovecot ready.',
        'service imap-login {',
        `  inet_listener imap {\n    address = 127.0.0.1\n    port = ${port}\n  }`,
        `  inet_listener imaps {\n    address = 127.0.0.1\n    port = ${tlsPort}\n    ssl = ${options.ssl ? 'yes' : 'no'}\n  }`,
        '  chroot =',
        // One long-lived login process, already connected to auth: a new process per connection
        // could greet "Waiting for authentication process to respond.." on a busy machine.
        '  service_count = 0',
        '  process_min_avail = 1',
        '}',
        // Mode 0 keeps the auth process off anvil's penalty socket: no growing delay for every login from 127.0.0.1 after a failed one.
        'service anvil {\n  chroot =\n  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}',
        'protocol imap {\n  mail_max_userip_connections = 100\n}',
        ...(options.pop3
          ? [
              'service pop3-login {',
              `  inet_listener pop3 {\n    address = 127.0.0.1\n    port = ${pop3Port}\n  }`,
              `  inet_listener pop3s {\n    address = 127.0.0.1\n    port = ${pop3TlsPort}\n    ssl = ${options.ssl ? 'yes' : 'no'}\n  }`,
              '  chroot =',
              '  service_count = 0',
              '  process_min_avail = 1',
              '}',
              // Dovecot 2.3's default UIDL format, spelled out so a test can rely on it.
              `protocol pop3 {\n  mail_max_userip_connections = 100\n  pop3_uidl_format = %08Xu%08Xv\n  pop3_lock_session = ${pop3LockSession ? 'yes' : 'no'}\n}`,
            ]
          : []),
        `passdb {\n  driver = passwd-file\n  args = ${path.join(base, 'passwd')}\n}`,
        options.oauth2IntrospectionUrl ? `passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = ${oauthConf}\n}` : '',
        `userdb {\n  driver = passwd-file\n  args = ${path.join(base, 'passwd')}\n}`,
        '',
      ].join('\n'),
      { mode: 0o644 },
    );
    await new Promise<void>((resolve, reject) => {
      const child = spawn('dovecot', ['-c', conf], { stdio: 'ignore' });
      child.once('error', reject);
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`dovecot exited with ${code}: ${readLog(base)}`))));
    }).catch((error) => {
      lastError = error;
    });
    if (lastError) {
      // A port taken between choosing and binding: try again with new ports.
      await stopMaster(runDir, port);
      lastError = undefined;
      continue;
    }
    try {
      await waitFor(() => portOpen(port), 10_000, `waiting for port ${port}`);
      await waitFor(() => greetsReady(port), 10_000, `waiting for the auth process (greeting on port ${port})`);
      if (tlsPort) await waitFor(() => portOpen(tlsPort), 10_000, `waiting for port ${tlsPort}`);
      if (pop3Port) await waitFor(() => greetsReady(pop3Port), 10_000, `waiting for the POP3 greeting on port ${pop3Port}`);
      if (pop3TlsPort) await waitFor(() => portOpen(pop3TlsPort), 10_000, `waiting for port ${pop3TlsPort}`);
    } catch (error) {
      lastError = error;
      await stopMaster(runDir, port);
      continue;
    }
    return {
      host: '127.0.0.1',
      port,
      tlsPort,
      pop3Port,
      pop3TlsPort,
      baseDir: base,
      inboxCount: (user) => {
        const mailDir = path.join(mailRoot, userDirName(user));
        return ['new', 'cur'].reduce((n, sub) => n + fs.readdirSync(path.join(mailDir, sub)).filter((f) => !f.startsWith('.')).length, 0);
      },
      inboxMessages: (user) => {
        const mailDir = path.join(mailRoot, userDirName(user));
        const out: Buffer[] = [];
        for (const sub of ['new', 'cur']) {
          for (const f of fs.readdirSync(path.join(mailDir, sub))) {
            if (f.startsWith('.')) continue;
            try {
              out.push(fs.readFileSync(path.join(mailDir, sub, f)));
            } catch {
              // Renamed (new -> cur) or expunged meanwhile: read in its new place or gone.
            }
          }
        }
        return out;
      },
      append: (user, folder, raw) => appendOverImap(port, user, options.users[user] ?? '', folder, raw, Boolean(options.requireTlsForAuth)),
      log: () => readLog(base),
      stop: async () => {
        await stopMaster(runDir, port, tlsPort, pop3Port, pop3TlsPort);
        fs.rmSync(base, { recursive: true, force: true });
      },
    };
  }
  const log = readLog(base);
  fs.rmSync(base, { recursive: true, force: true });
  throw new Error(`Dovecot did not start: ${String(lastError)}\n${log}`);
}

function readLog(base: string): string {
  try {
    return fs.readFileSync(path.join(base, 'dovecot.log'), 'utf8');
  } catch {
    return '';
  }
}

async function stopMaster(runDir: string, ...ports: number[]): Promise<void> {
  let pid: number | undefined;
  try {
    pid = Number(fs.readFileSync(path.join(runDir, 'master.pid'), 'utf8').trim());
  } catch {
    return;
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const alive = () => {
    try {
      process.kill(pid!, 0);
      return true;
    } catch {
      return false;
    }
  };
  await waitFor(async () => !alive(), 10_000, 'stopping').catch(() => undefined);
  for (const port of ports.filter(Boolean)) await waitFor(async () => !(await portOpen(port)), 5_000, `closing port ${port}`).catch(() => undefined);
}

/** APPENDs one message with a small raw IMAP exchange (LOGIN, APPEND literal, LOGOUT). */
async function appendOverImap(port: number, user: string, password: string, folder: string, raw: string, needsTls: boolean): Promise<void> {
  if (needsTls) throw new Error('append() needs password sign-in on the plaintext port: start without requireTlsForAuth, or seed with `messages`');
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  let buffer = '';
  const waitFor = (pattern: RegExp) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`append: no ${pattern} from Dovecot; got ${buffer}`)), 10_000);
      const check = () => {
        const m = pattern.exec(buffer);
        if (m) {
          clearTimeout(timer);
          socket.off('data', onData);
          buffer = buffer.slice(m.index + m[0].length);
          resolve(m[0]);
        }
      };
      const onData = (d: string) => {
        buffer += d;
        check();
      };
      socket.on('data', onData);
      socket.once('error', reject);
      check();
    });
  const q = (s: string) => `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  try {
    await waitFor(/^\* OK.*\r\n/m);
    socket.write(`a1 LOGIN ${q(user)} ${q(password)}\r\n`);
    const login = await waitFor(/^a1 (OK|NO|BAD).*\r\n/m);
    if (!login.startsWith('a1 OK')) throw new Error(`append: LOGIN failed: ${login}`);
    const bytes = Buffer.byteLength(raw);
    socket.write(`a2 APPEND ${q(folder)} {${bytes}}\r\n`);
    await waitFor(/^\+.*\r\n/m);
    socket.write(`${raw}\r\n`);
    const appended = await waitFor(/^a2 (OK|NO|BAD).*\r\n/m);
    if (!appended.startsWith('a2 OK')) throw new Error(`append: APPEND failed: ${appended}`);
    socket.write('a3 LOGOUT\r\n');
  } finally {
    socket.end();
  }
}
