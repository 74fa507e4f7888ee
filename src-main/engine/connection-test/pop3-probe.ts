/**
 * The POP3 steps after the connection is made: greeting, CAPA, STLS,
 * sign-in (USER/PASS, SASL PLAIN or XOAUTH2) and STAT, plus the check that
 * the server names its messages with UIDL (the import needs it to take each
 * message once). Nothing is retrieved or deleted: the test sends no RETR,
 * TOP or DELE, and QUIT with nothing marked deleted changes nothing.
 *
 * Written by hand like the IMAP probe (see line-socket.ts): a POP3 library
 * signs in in one call, so it cannot time each step, show each line in the
 * transcript or stop between STLS and the credential.
 */
import { detectProtocol } from './detect-protocol.js';
import { SocketFailure, type StepLimits } from './line-socket.js';
import { commandFailure, type ProbeConnection, type StarttlsPreamble } from './probe-connection.js';
import type { ProbeCredentials } from './imap-probe.js';
import { decodeChallenge, plainBlob, xoauth2Blob } from './sasl.js';
import { StepError, type StepRecorder } from './step-recorder.js';
import { describeTls, stepTlsOf } from './tls-details.js';
import { renderWords } from '../../shared/setting-words.js';
import { groupDigits } from '../../shared/number-format.js';

/** What the POP3 part of a test needs. */
export interface Pop3ProbeOptions extends ProbeCredentials {
  security: 'tls' | 'starttls' | 'none';
}

/** One POP3 reply line: `+OK`, `-ERR` or a SASL continuation (`+ ...`). */
export interface Pop3Reply {
  status: 'OK' | 'ERR' | 'CONTINUE';
  /** The line as the server sent it. */
  line: string;
  /** The text after the status indicator. */
  text: string;
}

/**
 * What CAPA said (RFC 2449): capability names upper-cased, and the SASL
 * mechanisms of the `SASL` line. `null` when the server does not answer CAPA
 * (an RFC 1939 server): then nothing is known in advance.
 */
export interface Pop3Capabilities {
  names: Set<string>;
  sasl: Set<string>;
}

/** Most lines read for one multi-line answer: a runaway server cannot hold the test. */
const MAX_MULTILINE = 1000;

/** Parses one reply line. Anything else is not POP3. */
export function parsePop3Reply(line: string): Pop3Reply | undefined {
  const ok = /^\+OK\b ?(.*)$/i.exec(line);
  if (ok) return { status: 'OK', line, text: ok[1] ?? '' };
  const err = /^-ERR\b ?(.*)$/i.exec(line);
  if (err) return { status: 'ERR', line, text: err[1] ?? '' };
  if (/^\+( |$)/.test(line)) return { status: 'CONTINUE', line, text: line.slice(2) };
  return undefined;
}

/** Parses the lines of a CAPA answer (without the +OK and the final "."). */
export function parsePop3Capabilities(lines: string[]): Pop3Capabilities {
  const names = new Set<string>();
  const sasl = new Set<string>();
  for (const line of lines) {
    const [name, ...args] = line.trim().split(/\s+/);
    if (!name) continue;
    names.add(name.toUpperCase());
    if (name.toUpperCase() === 'SASL') for (const mechanism of args) sasl.add(mechanism.toUpperCase());
  }
  return { names, sasl };
}

/** A size in bytes as people read it: 980 bytes, 12.4 KB, 3.1 MB. */
export function describeBytes(bytes: number): string {
  if (bytes < 1024) return `${groupDigits(bytes)} byte${bytes === 1 ? '' : 's'}`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** The plaintext commands before a POP3 server's STLS handshake, for a diagnostic second connection. */
export const pop3StarttlsPreamble: StarttlsPreamble = async (reader, limits) => {
  if (!/^\+OK\b/i.test(await reader.readLine(limits, 'waiting for the greeting'))) throw new Error('no greeting');
  reader.write('STLS\r\n');
  if (!/^\+OK\b/i.test(await reader.readLine(limits, 'after STLS'))) throw new Error('STLS refused');
};

/** Reads one reply line; a line that is no POP3 reply fails the step as not POP3. */
async function readReply(conn: ProbeConnection, limits: StepLimits, what: string): Promise<Pop3Reply> {
  const line = await conn.readLine(limits, what);
  const reply = parsePop3Reply(line);
  if (!reply) throw new StepError({ kind: 'unexpected', reply: line }, `not a POP3 reply: ${line.slice(0, 120)}`);
  return reply;
}

/** Reads the lines of a multi-line answer up to the lone ".", dot-unstuffed. */
async function readMultiline(conn: ProbeConnection, limits: StepLimits, what: string): Promise<string[]> {
  const lines: string[] = [];
  for (let count = 0; count < MAX_MULTILINE; count++) {
    const line = await conn.readLine(limits, what);
    if (line === '.') return lines;
    lines.push(line.startsWith('..') ? line.slice(1) : line);
  }
  throw new StepError({ kind: 'unexpected', reply: lines.slice(-5).join('\n') }, `the server sent more than ${MAX_MULTILINE} lines ${what} without the closing "."`);
}

async function command(conn: ProbeConnection, limits: StepLimits, text: string, shown?: string): Promise<Pop3Reply> {
  conn.send(text, shown);
  return readReply(conn, limits, `after ${(shown ?? text).split(' ')[0]}`);
}

function fail(reply: Pop3Reply): never {
  throw new StepError({ kind: 'reply', reply: reply.line }, reply.line);
}

/** A sign-in refused before the credential went out (USER, or AUTH before its "+"). */
function refusedBeforeCredential(reply: Pop3Reply): never {
  throw new StepError({ kind: 'reply', reply: reply.line, credentialSent: false }, reply.line);
}

async function capabilities(conn: ProbeConnection, limits: StepLimits): Promise<Pop3Capabilities | null> {
  const reply = await command(conn, limits, 'CAPA');
  if (reply.status === 'ERR') return null;
  if (reply.status !== 'OK') fail(reply);
  return parsePop3Capabilities(await readMultiline(conn, limits, 'after CAPA'));
}

function describeCapabilities(caps: Pop3Capabilities | null): string {
  if (!caps) return 'the server does not answer CAPA (an RFC 1939 server): what it supports shows only when it is used';
  return [...caps.names].map((name) => (name === 'SASL' ? `SASL ${[...caps.sasl].join(' ')}`.trim() : name)).join(' ');
}

/** Runs the POP3 steps over an open (and, for implicit TLS, encrypted) connection. */
export async function runPop3Steps(conn: ProbeConnection, rec: StepRecorder, options: Pop3ProbeOptions): Promise<void> {
  const onSocket = (what: string) => (failure: SocketFailure) => commandFailure(failure, what);

  await rec.run(
    'greeting',
    async (limits) => {
      const line = await conn.readGreeting(limits, options.security, 'pop3');
      if (/^-ERR\b/i.test(line)) throw new StepError({ kind: 'reply', reply: line }, line);
      if (!/^\+OK\b/i.test(line)) {
        const detected = detectProtocol(line);
        throw new StepError({ kind: 'unexpected', reply: line, detected }, `not a POP3 greeting: ${line.slice(0, 120)}`);
      }
      return { detail: line.replace(/^\+OK\s*/i, '') || '(no greeting text)', value: undefined };
    },
    onSocket('during the greeting'),
  );

  let caps = await rec.run(
    'capability',
    async (limits) => {
      const found = await capabilities(conn, limits);
      return { detail: describeCapabilities(found), value: found };
    },
    onSocket('after CAPA'),
  );

  if (options.security === 'starttls') {
    caps = await rec.run(
      'starttls',
      async (limits) => {
        if (caps && !caps.names.has('STLS')) throw new StepError({ kind: 'missing', missing: 'STARTTLS' }, 'the server does not offer STLS (no STLS in its CAPA list)');
        const reply = await command(conn, limits, 'STLS');
        if (reply.status !== 'OK') fail(reply);
        const details = await conn.upgradeToTls(limits, pop3StarttlsPreamble);
        // What the server said before TLS must not be trusted after it (RFC 2595 section 4).
        const after = await capabilities(conn, limits);
        return { detail: describeTls(details), value: after, tls: stepTlsOf(details) };
      },
      onSocket('during STLS'),
    );
  } else {
    rec.notUsed('starttls', renderWords(options.security === 'tls' ? 'not used: the connection is already encrypted (security {sec:tls})' : 'not used: security {sec:none}'));
  }

  if (options.auth === 'none') {
    rec.notUsed('auth', 'not used: auth none');
  } else {
    await rec.run('auth', (limits) => authenticate(conn, limits, options, caps), onSocket('during sign-in'));
  }

  await rec.run(
    'stat',
    async (limits) => {
      const reply = await command(conn, limits, 'STAT');
      if (reply.status !== 'OK') fail(reply);
      const match = /^(\d+)\s+(\d+)/.exec(reply.text);
      if (!match) throw new StepError({ kind: 'unexpected', reply: reply.line }, `STAT answered without a message count and size: ${reply.line.slice(0, 120)}`);
      const count = Number(match[1]);
      const size = Number(match[2]);
      const uidl = await checkUidl(conn, limits, caps, count);
      return { detail: `${groupDigits(count)} message${count === 1 ? '' : 's'}, ${describeBytes(size)}; ${uidl}`, value: undefined };
    },
    onSocket('after STAT'),
  );

  conn.send('QUIT');
}

/**
 * The import tells messages apart by their UIDL. A server that lists UIDL
 * in CAPA is taken at its word; otherwise one UIDL command asks (an RFC
 * 1939 server without CAPA may still support it).
 */
async function checkUidl(conn: ProbeConnection, limits: StepLimits, caps: Pop3Capabilities | null, count: number): Promise<string> {
  if (caps?.names.has('UIDL')) return 'UIDL offered (the import takes each message once)';
  const reply = await command(conn, limits, count > 0 ? 'UIDL 1' : 'UIDL');
  if (reply.status === 'OK') {
    if (count === 0) await readMultiline(conn, limits, 'after UIDL');
    conn.transcript.info(`UIDL works although ${caps ? 'the CAPA list does not name it' : 'the server does not answer CAPA'}.`);
    return 'UIDL works (the import takes each message once)';
  }
  throw new StepError({ kind: 'missing', missing: 'UIDL', reply: reply.line }, `the server does not support UIDL (${reply.line.slice(0, 120)}): the import could not tell which messages it already took`);
}

async function authenticate(conn: ProbeConnection, limits: StepLimits, options: Pop3ProbeOptions, caps: Pop3Capabilities | null): Promise<{ detail: string; value: undefined }> {
  const user = options.user;
  if (!conn.secure) conn.transcript.info('Warning: signing in over an unencrypted connection (security none): anyone on the network path can read the credential.');
  if (options.auth === 'xoauth2') {
    if (caps && !caps.sasl.has('XOAUTH2')) throw new StepError({ kind: 'missing', missing: 'XOAUTH2' }, 'the server does not offer SASL XOAUTH2 (not in the SASL line of its CAPA list)');
    const blob = xoauth2Blob(user, options.token ?? '');
    conn.transcript.redactor.add(blob);
    // Microsoft documents the two-step form for POP (AUTH XOAUTH2, then the token after "+").
    let reply = await command(conn, limits, 'AUTH XOAUTH2');
    if (reply.status === 'ERR') refusedBeforeCredential(reply);
    if (reply.status === 'CONTINUE') {
      conn.send(blob, `[redacted: base64 of user "${user}" and the access token]`);
      reply = await readReply(conn, limits, 'after the XOAUTH2 token');
    }
    let serverError: string | undefined;
    if (reply.status === 'CONTINUE') {
      // The server's error details come base64-encoded; the client answers with an empty line.
      serverError = decodeChallenge(reply.text);
      if (serverError) conn.transcript.info(`The server's XOAUTH2 error details (decoded): ${serverError}`);
      conn.send('', '(empty line: ends the XOAUTH2 exchange)');
      reply = await readReply(conn, limits, 'after the XOAUTH2 exchange');
    }
    if (reply.status !== 'OK') throw new StepError({ kind: 'reply', reply: reply.line, ...(serverError ? { serverError } : {}) }, reply.line);
    return { detail: `signed in as ${user} with XOAUTH2`, value: undefined };
  }
  const password = options.password ?? '';
  if (caps?.sasl.has('PLAIN')) {
    // SASL PLAIN carries UTF-8 user names and passwords; USER/PASS has no defined character set.
    const blob = plainBlob(user, password);
    conn.transcript.redactor.add(blob);
    let reply = await command(conn, limits, 'AUTH PLAIN');
    if (reply.status === 'ERR') refusedBeforeCredential(reply);
    if (reply.status === 'CONTINUE') {
      conn.send(blob, `[redacted: base64 of user "${user}" and the password]`);
      reply = await readReply(conn, limits, 'after the PLAIN credentials');
    }
    if (reply.status !== 'OK') fail(reply);
    return { detail: `signed in as ${user} with SASL PLAIN`, value: undefined };
  }
  const userReply = await command(conn, limits, `USER ${user}`);
  if (userReply.status !== 'OK') refusedBeforeCredential(userReply);
  const reply = await command(conn, limits, `PASS ${password}`, 'PASS [redacted password]');
  if (reply.status !== 'OK') fail(reply);
  return { detail: `signed in as ${user} with USER/PASS`, value: undefined };
}
