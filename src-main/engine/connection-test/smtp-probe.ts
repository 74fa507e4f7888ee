/**
 * The SMTP steps after the connection is made: greeting, ehlo, starttls,
 * auth and, with a recipient, mail-from, rcpt-to and data (a small test
 * message). See line-socket.ts for why this is written by hand.
 */
import os from 'node:os';
import crypto from 'node:crypto';
import net from 'node:net';
import { detectProtocol } from './detect-protocol.js';
import { SocketFailure, type LineReader, type StepLimits } from './line-socket.js';
import { commandFailure, type ProbeConnection, type StarttlsPreamble } from './probe-connection.js';
import { base64, decodeChallenge, plainBlob, xoauth2Blob } from './sasl.js';
import { StepError, type StepRecorder } from './step-recorder.js';
import { describeTls, stepTlsOf } from './tls-details.js';
import type { ProbeCredentials } from './imap-probe.js';
import { renderWords } from '../../shared/setting-words.js';

/** One SMTP reply: its code and every line (without the code). */
export interface SmtpReply {
  code: number;
  lines: string[];
  /** The reply as the server sent it, lines joined with line breaks. */
  text: string;
}

/** What the SMTP part of a test needs. */
export interface SmtpProbeOptions extends ProbeCredentials {
  security: 'tls' | 'starttls' | 'none';
  /** Envelope sender for the test message. */
  from?: string;
  /** When set, a test message is sent to this address. */
  to?: string;
  /** The name sent with EHLO. */
  ehloName?: string;
}

/** Reads one (possibly multi-line) SMTP reply. */
export async function readSmtpReply(conn: ProbeConnection, limits: StepLimits, what: string, firstLine?: string): Promise<SmtpReply> {
  const raw: string[] = [];
  let line = firstLine ?? (await conn.readLine(limits, what));
  for (let count = 0; count < 200; count++) {
    const match = /^(\d{3})([ -])?(.*)$/.exec(line);
    if (!match) {
      throw new StepError({ kind: 'unexpected', reply: [...raw, line].join('\n'), detected: detectProtocol(line) }, `not an SMTP reply: ${line.slice(0, 120)}`);
    }
    raw.push(line);
    if (match[2] !== '-') {
      const code = Number(match[1]);
      return { code, lines: raw.map((l) => l.slice(4)), text: raw.join('\n') };
    }
    line = await conn.readLine(limits, what);
  }
  throw new StepError({ kind: 'unexpected', reply: raw.join('\n') }, 'the server sent an endless reply');
}

/** Reads one whole reply on a bare reader (no transcript) and returns its code. */
async function replyCodeOn(reader: LineReader, limits: StepLimits): Promise<number> {
  for (let count = 0; count < 200; count++) {
    const match = /^(\d{3})([ -])?/.exec(await reader.readLine(limits, 'reading a reply'));
    if (!match) return 0;
    if (match[2] !== '-') return Number(match[1]);
  }
  return 0;
}

/** The plaintext commands before an SMTP server's STARTTLS handshake, for a diagnostic second connection. */
export function smtpStarttlsPreamble(ehloName: string): StarttlsPreamble {
  return async (reader, limits) => {
    if ((await replyCodeOn(reader, limits)) !== 220) throw new Error('no greeting');
    reader.write(`EHLO ${ehloName}\r\n`);
    if ((await replyCodeOn(reader, limits)) !== 250) throw new Error('EHLO refused');
    reader.write('STARTTLS\r\n');
    if ((await replyCodeOn(reader, limits)) !== 220) throw new Error('STARTTLS refused');
  };
}

/** Sends a command and reads the reply, turning socket failures into step failures. */
async function command(conn: ProbeConnection, limits: StepLimits, line: string, shown?: string): Promise<SmtpReply> {
  conn.send(line, shown);
  try {
    return await readSmtpReply(conn, limits, `after ${shown ?? line.split(' ')[0]}`);
  } catch (error) {
    if (error instanceof SocketFailure && error.kind !== 'cancelled') throw commandFailure(error, `after ${(shown ?? line).split(' ')[0]}`);
    throw error;
  }
}

function fail(reply: SmtpReply, detail?: string): never {
  throw new StepError({ kind: 'reply', reply: reply.text, replyCode: reply.code }, detail ?? reply.text.split('\n')[0]!);
}

/** The extensions an EHLO reply advertises, upper-cased keyword -> parameters. */
export function parseExtensions(reply: SmtpReply): Map<string, string[]> {
  const extensions = new Map<string, string[]>();
  for (const line of reply.lines.slice(1)) {
    const [keyword, ...params] = line.trim().split(/\s+/);
    if (keyword) extensions.set(keyword.toUpperCase(), params.map((p) => p.toUpperCase()));
  }
  // Some old servers write "AUTH=LOGIN PLAIN".
  for (const [keyword, params] of [...extensions]) {
    if (keyword.startsWith('AUTH=')) extensions.set('AUTH', [...(extensions.get('AUTH') ?? []), keyword.slice(5), ...params]);
  }
  return extensions;
}

/** The name to say hello with: the machine's DNS name when it has one, else an address literal (RFC 5321 4.1.4). */
export function defaultEhloName(localAddress: string | undefined): string {
  const host = os.hostname();
  if (/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(host)) return host;
  if (localAddress && net.isIPv4(localAddress)) return `[${localAddress}]`;
  if (localAddress && net.isIPv6(localAddress)) return `[IPv6:${localAddress}]`;
  return '[127.0.0.1]';
}

function summarizeExtensions(extensions: Map<string, string[]>): string {
  const auth = extensions.get('AUTH');
  return [auth ? `AUTH ${auth.join(' ') || '(no methods)'}` : 'no AUTH', extensions.has('STARTTLS') ? 'STARTTLS' : '', extensions.has('SIZE') ? `SIZE ${extensions.get('SIZE')?.[0] ?? ''}`.trim() : ''].filter(Boolean).join(', ');
}

/** The small message the data step sends. */
export function testMessage(from: string, to: string, now = new Date()): string {
  const domain = from.split('@')[1] || 'mailroom.invalid';
  return [
    `From: Mailroom connection test <${from}>`,
    `To: <${to}>`,
    `Subject: Mailroom connection test`,
    `Date: ${now.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${crypto.randomUUID()}@${domain}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'This message was sent by Mailroom to test that this mailbox can send mail.',
    'It needs no answer.',
    '',
  ].join('\r\n');
}

/** Runs the SMTP steps over an open (and, for implicit TLS, encrypted) connection. */
export async function runSmtpSteps(conn: ProbeConnection, rec: StepRecorder, options: SmtpProbeOptions): Promise<void> {
  const onSocket = (what: string) => (failure: SocketFailure) => commandFailure(failure, what);

  await rec.run(
    'greeting',
    async (limits) => {
      const first = await conn.readGreeting(limits, options.security);
      const detected = detectProtocol(first);
      if (detected !== 'smtp') throw new StepError({ kind: 'unexpected', reply: first, detected }, `not an SMTP greeting: ${first.slice(0, 120)}`);
      const reply = await readSmtpReply(conn, limits, 'reading the greeting', first);
      if (reply.code !== 220) fail(reply);
      return { detail: reply.lines[0] ?? '', value: undefined };
    },
    onSocket('during the greeting'),
  );

  const ehloName = options.ehloName ?? defaultEhloName(conn.reader.current.localAddress);
  let extensions = await rec.run(
    'ehlo',
    async (limits) => {
      const reply = await command(conn, limits, `EHLO ${ehloName}`);
      if (reply.code !== 250) fail(reply);
      const extensions = parseExtensions(reply);
      return { detail: summarizeExtensions(extensions), value: extensions };
    },
    onSocket('after EHLO'),
  );

  if (options.security === 'starttls') {
    extensions = await rec.run(
      'starttls',
      async (limits) => {
        if (!extensions.has('STARTTLS')) throw new StepError({ kind: 'missing', missing: 'STARTTLS' }, 'the server does not offer STARTTLS');
        const reply = await command(conn, limits, 'STARTTLS');
        if (reply.code !== 220) fail(reply);
        const details = await conn.upgradeToTls(limits, smtpStarttlsPreamble(ehloName));
        const again = await command(conn, limits, `EHLO ${ehloName}`);
        if (again.code !== 250) fail(again);
        return { detail: describeTls(details), value: parseExtensions(again), tls: stepTlsOf(details) };
      },
      onSocket('during STARTTLS'),
    );
  } else {
    rec.notUsed('starttls', renderWords(options.security === 'tls' ? 'not used: the connection is already encrypted (security {sec:tls})' : 'not used: security {sec:none}'));
  }

  if (options.auth === 'none') {
    rec.notUsed('auth', 'not used: auth none');
  } else {
    await rec.run('auth', (limits) => authenticate(conn, limits, options, extensions), onSocket('during sign-in'));
  }

  if (!options.to) return;
  const from = options.from ?? '';
  await rec.run(
    'mail-from',
    async (limits) => {
      const reply = await command(conn, limits, `MAIL FROM:<${from}>`);
      if (reply.code !== 250) fail(reply);
      return { detail: `sender <${from}> accepted`, value: undefined };
    },
    onSocket('after MAIL FROM'),
  );
  await rec.run(
    'rcpt-to',
    async (limits) => {
      const reply = await command(conn, limits, `RCPT TO:<${options.to}>`);
      if (reply.code !== 250 && reply.code !== 251) fail(reply);
      return { detail: `recipient <${options.to}> accepted`, value: undefined };
    },
    onSocket('after RCPT TO'),
  );
  await rec.run(
    'data',
    async (limits) => {
      const start = await command(conn, limits, 'DATA');
      if (start.code !== 354) fail(start);
      const message = testMessage(from, options.to!);
      // Dot-stuffing (RFC 5321 4.5.2); the test message has no leading dots, but stay correct.
      const body = message.replace(/\r\n\./g, '\r\n..');
      conn.sendRaw(`${body}\r\n.\r\n`, [...message.split('\r\n').slice(0, -1), '.']);
      let reply: SmtpReply;
      try {
        reply = await readSmtpReply(conn, limits, 'after the message');
      } catch (error) {
        if (error instanceof SocketFailure && error.kind !== 'cancelled') throw commandFailure(error, 'after the message');
        throw error;
      }
      if (reply.code !== 250) fail(reply);
      return { detail: `test message of ${Buffer.byteLength(body)} bytes accepted: ${reply.lines[0] ?? ''}`.trim(), value: undefined };
    },
    onSocket('during DATA'),
  );
}

async function authenticate(conn: ProbeConnection, limits: StepLimits, options: SmtpProbeOptions, extensions: Map<string, string[]>): Promise<{ detail: string; value: undefined }> {
  const offered = extensions.get('AUTH');
  const user = options.user;
  if (!conn.secure && offered?.length) conn.transcript.info('Warning: signing in over an unencrypted connection (security none): anyone on the network path can read the credential.');
  if (!offered || !offered.length) {
    // Many servers only offer AUTH once the connection is encrypted.
    if (!conn.secure) throw new StepError({ kind: 'missing', missing: 'AUTH-AFTER-STARTTLS' }, 'the server offers no sign-in on an unencrypted connection');
    throw new StepError({ kind: 'missing', missing: 'AUTH' }, 'the server offers no sign-in (no AUTH in its EHLO reply)');
  }
  if (options.auth === 'xoauth2') {
    if (!offered.includes('XOAUTH2')) throw new StepError({ kind: 'missing', missing: 'XOAUTH2' }, `the server does not offer XOAUTH2 (it offers ${offered.join(' ')})`);
    const blob = xoauth2Blob(user, options.token ?? '');
    conn.transcript.redactor.add(blob);
    let reply = await command(conn, limits, `AUTH XOAUTH2 ${blob}`, `AUTH XOAUTH2 [redacted: base64 of user "${user}" and the access token]`);
    let serverError: string | undefined;
    if (reply.code === 334) {
      // The server's error details come base64-encoded; the client answers with an empty line.
      serverError = decodeChallenge(reply.lines[0] ?? '');
      if (serverError) conn.transcript.info(`The server's XOAUTH2 error details (decoded): ${serverError}`);
      reply = await command(conn, limits, '', '(empty line: ends the XOAUTH2 exchange)');
    }
    if (reply.code !== 235) {
      throw new StepError({ kind: 'reply', reply: reply.text, replyCode: reply.code, ...(serverError ? { serverError } : {}) }, reply.text.split('\n')[0]!);
    }
    return { detail: `signed in as ${user} with XOAUTH2`, value: undefined };
  }
  const password = options.password ?? '';
  if (offered.includes('PLAIN')) {
    const blob = plainBlob(user, password);
    conn.transcript.redactor.add(blob);
    let reply = await command(conn, limits, `AUTH PLAIN ${blob}`, `AUTH PLAIN [redacted: base64 of user "${user}" and the password]`);
    if (reply.code === 334) reply = await command(conn, limits, blob, `[redacted: base64 of user "${user}" and the password]`);
    if (reply.code !== 235) fail(reply);
    return { detail: `signed in as ${user} with PLAIN`, value: undefined };
  }
  if (offered.includes('LOGIN')) {
    let reply = await command(conn, limits, 'AUTH LOGIN');
    if (reply.code !== 334) fail(reply);
    reply = await command(conn, limits, base64(user), `[redacted: base64 of user name "${user}"]`);
    if (reply.code !== 334) fail(reply);
    conn.transcript.redactor.add(base64(password));
    reply = await command(conn, limits, base64(password), '[redacted: base64 of the password]');
    if (reply.code !== 235) fail(reply);
    return { detail: `signed in as ${user} with LOGIN`, value: undefined };
  }
  throw new StepError({ kind: 'missing', missing: 'PLAIN or LOGIN' }, `the server offers no password sign-in method Mailroom uses (it offers ${offered.join(' ')})`);
}
