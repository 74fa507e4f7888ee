/**
 * The IMAP steps after the connection is made: greeting, capability,
 * starttls, auth and select (a read-only EXAMINE of the folder, so the test
 * changes nothing in the mailbox). See line-socket.ts for why this is
 * written by hand.
 */
import { detectProtocol } from './detect-protocol.js';
import { SocketFailure, type StepLimits } from './line-socket.js';
import { commandFailure, type ProbeConnection, type StarttlsPreamble } from './probe-connection.js';
import { decodeChallenge, plainBlob, xoauth2Blob } from './sasl.js';
import { StepError, type StepRecorder } from './step-recorder.js';
import { describeTls, stepTlsOf } from './tls-details.js';
import { renderWords } from '../../shared/setting-words.js';

/** The plaintext commands before an IMAP server's STARTTLS handshake (the probe's own order), for a diagnostic second connection. */
export const imapStarttlsPreamble: StarttlsPreamble = async (reader, limits) => {
  if (!/^\* (OK|PREAUTH)\b/i.test(await reader.readLine(limits, 'waiting for the greeting'))) throw new Error('no greeting');
  for (const [tag, command] of [['P1', 'CAPABILITY'], ['P2', 'STARTTLS']] as const) {
    reader.write(`${tag} ${command}\r\n`);
    let answered = false;
    for (let count = 0; count < 100 && !answered; count++) {
      const line = await reader.readLine(limits, `after ${command}`);
      if (line.startsWith(`${tag} `)) {
        if (!/^\w+ OK\b/i.test(line)) throw new Error(`${command} refused`);
        answered = true;
      }
    }
    if (!answered) throw new Error(`no answer to ${command}`);
  }
};

/** Credentials of a test. Secrets only ever reach the socket and the redactor. */
export interface ProbeCredentials {
  auth: 'password' | 'xoauth2' | 'none';
  user: string;
  password?: string;
  token?: string;
}

/** What the IMAP part of a test needs. */
export interface ImapProbeOptions extends ProbeCredentials {
  security: 'tls' | 'starttls' | 'none';
  folder: string;
}

/** The outcome of one tagged IMAP command. */
export interface ImapResponse {
  /** The tag of the command answered. */
  tag: string;
  status: 'OK' | 'NO' | 'BAD' | 'CONTINUE';
  /** Untagged lines received before the end. */
  untagged: string[];
  /** The tagged (or continuation) line. */
  final: string;
  /** Untagged lines and the final line, as the server sent them. */
  text: string;
}

/**
 * Encodes a folder name as IMAP's modified UTF-7 (RFC 3501 5.1.3), so
 * names with accents or other scripts can be selected.
 */
export function encodeModifiedUtf7(name: string): string {
  return name.replace(/&/g, '&-').replace(/[^\x20-\x7e]+/g, (run) => {
    const utf16 = Buffer.alloc(run.length * 2);
    for (let i = 0; i < run.length; i++) utf16.writeUInt16BE(run.charCodeAt(i), i * 2);
    return `&${utf16.toString('base64').replace(/=+$/, '').replace(/\//g, ',')}-`;
  });
}

/** An IMAP astring: an atom when safe, else a quoted string. Callers reject CR/LF before. */
export function imapString(value: string): string {
  if (/^[A-Za-z0-9._@+-]+$/.test(value) && value.toUpperCase() !== 'NIL') return value;
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** Parses the capability list out of a CAPABILITY response or a [CAPABILITY ...] code. */
export function parseCapabilities(lines: string[]): Set<string> {
  const caps = new Set<string>();
  for (const line of lines) {
    const match = /^\* CAPABILITY (.*)$/i.exec(line) ?? /\[CAPABILITY ([^\]]*)\]/i.exec(line);
    if (match?.[1]) for (const cap of match[1].trim().split(/\s+/)) caps.add(cap.toUpperCase());
  }
  return caps;
}

class TagCounter {
  private next = 1;
  take(): string {
    return `M${this.next++}`;
  }
}

/** Reads until the tagged response (or a continuation request) for `tag`. */
async function readResponse(conn: ProbeConnection, tag: string, limits: StepLimits, what: string): Promise<ImapResponse> {
  const untagged: string[] = [];
  try {
    for (let count = 0; count < 10_000; count++) {
      let line = await conn.readLine(limits, what);
      // A literal {n} continues the line with n raw bytes (RFC 3501 4.3).
      for (let literal = /\{(\d+)\+?\}$/.exec(line); literal; literal = /\{(\d+)\+?\}$/.exec(line)) {
        const size = Number(literal[1]);
        const bytes = await conn.reader.readBytes(size, limits, what);
        const rest = await conn.reader.readLine(limits, what);
        line = `${line.slice(0, literal.index)}"${bytes.toString('utf8').slice(0, 200).replace(/[\r\n]+/g, ' ')}"${rest}`;
      }
      if (line.startsWith('+')) return { tag, status: 'CONTINUE', untagged, final: line, text: [...untagged, line].join('\n') };
      if (line.startsWith(`${tag} `)) {
        const status = line.slice(tag.length + 1).split(' ')[0]!.toUpperCase();
        return { tag, status: status === 'OK' || status === 'NO' || status === 'BAD' ? status : 'BAD', untagged, final: line, text: [...untagged, line].join('\n') };
      }
      if (!line.startsWith('* ')) throw new StepError({ kind: 'unexpected', reply: line }, `not an IMAP response: ${line.slice(0, 120)}`);
      untagged.push(line);
    }
    throw new StepError({ kind: 'unexpected', reply: untagged.slice(-5).join('\n') }, 'the server sent an endless response');
  } catch (error) {
    if (error instanceof SocketFailure && error.kind !== 'cancelled') {
      // A BYE before the close says why; keep it as the reply.
      const bye = untagged.filter((l) => /^\* BYE/i.test(l));
      if (bye.length && error.kind === 'closed') throw new StepError({ kind: 'reply', reply: bye.join('\n') }, bye[0]!);
      throw commandFailure(error, what);
    }
    throw error;
  }
}

async function command(conn: ProbeConnection, tags: TagCounter, limits: StepLimits, text: string, shown?: string): Promise<ImapResponse> {
  const tag = tags.take();
  conn.send(`${tag} ${text}`, shown === undefined ? undefined : `${tag} ${shown}`);
  return readResponse(conn, tag, limits, `after ${(shown ?? text).split(' ')[0]}`);
}

function fail(response: ImapResponse): never {
  throw new StepError({ kind: 'reply', reply: response.text }, response.final);
}

/** Runs the IMAP steps over an open (and, for implicit TLS, encrypted) connection. */
export async function runImapSteps(conn: ProbeConnection, rec: StepRecorder, options: ImapProbeOptions): Promise<void> {
  const tags = new TagCounter();
  const onSocket = (what: string) => (failure: SocketFailure) => commandFailure(failure, what);

  await rec.run(
    'greeting',
    async (limits) => {
      const line = await conn.readGreeting(limits, options.security);
      if (/^\* BYE\b/i.test(line)) throw new StepError({ kind: 'reply', reply: line }, line);
      if (!/^\* (OK|PREAUTH)\b/i.test(line)) {
        const detected = detectProtocol(line);
        throw new StepError({ kind: 'unexpected', reply: line, detected }, `not an IMAP greeting: ${line.slice(0, 120)}`);
      }
      return { detail: line.replace(/^\* (OK|PREAUTH)\s*/i, '').replace(/^\[CAPABILITY [^\]]*\]\s*/i, ''), value: undefined };
    },
    onSocket('during the greeting'),
  );

  const capabilityStep = async (limits: StepLimits): Promise<Set<string>> => {
    const response = await command(conn, tags, limits, 'CAPABILITY');
    if (response.status !== 'OK') fail(response);
    return parseCapabilities(response.untagged);
  };

  let caps = await rec.run(
    'capability',
    async (limits) => {
      const found = await capabilityStep(limits);
      return { detail: [...found].join(' '), value: found };
    },
    onSocket('after CAPABILITY'),
  );

  if (options.security === 'starttls') {
    caps = await rec.run(
      'starttls',
      async (limits) => {
        if (!caps.has('STARTTLS')) throw new StepError({ kind: 'missing', missing: 'STARTTLS' }, 'the server does not offer STARTTLS');
        const response = await command(conn, tags, limits, 'STARTTLS');
        if (response.status !== 'OK') fail(response);
        const details = await conn.upgradeToTls(limits, imapStarttlsPreamble);
        // Capabilities before TLS must not be trusted after it (RFC 3501 6.2.1).
        const after = await capabilityStep(limits);
        return { detail: describeTls(details), value: after, tls: stepTlsOf(details) };
      },
      onSocket('during STARTTLS'),
    );
  } else {
    rec.notUsed('starttls', renderWords(options.security === 'tls' ? 'not used: the connection is already encrypted (security {sec:tls})' : 'not used: security {sec:none}'));
  }

  if (options.auth === 'none') {
    rec.notUsed('auth', 'not used: auth none');
  } else {
    await rec.run('auth', (limits) => authenticate(conn, tags, limits, options, caps), onSocket('during sign-in'));
  }

  await rec.run(
    'select',
    async (limits) => {
      const encoded = encodeModifiedUtf7(options.folder);
      const response = await command(conn, tags, limits, `EXAMINE ${imapString(encoded)}`);
      if (response.status !== 'OK') fail(response);
      const exists = response.untagged.map((l) => /^\* (\d+) EXISTS/i.exec(l)?.[1]).find(Boolean);
      return { detail: `${options.folder}: ${exists ?? 'an unknown number of'} message${exists === '1' ? '' : 's'} (opened read-only)`, value: undefined };
    },
    onSocket('after EXAMINE'),
  );

  const tag = tags.take();
  conn.send(`${tag} LOGOUT`);
}

async function authenticate(conn: ProbeConnection, tags: TagCounter, limits: StepLimits, options: ImapProbeOptions, caps: Set<string>): Promise<{ detail: string; value: undefined }> {
  const user = options.user;
  const saslIr = caps.has('SASL-IR');
  if (!conn.secure && !caps.has('LOGINDISABLED')) conn.transcript.info('Warning: signing in over an unencrypted connection (security none): anyone on the network path can read the credential.');
  if (options.auth === 'xoauth2') {
    if (!caps.has('AUTH=XOAUTH2')) throw new StepError({ kind: 'missing', missing: 'XOAUTH2' }, 'the server does not offer AUTH=XOAUTH2');
    const blob = xoauth2Blob(user, options.token ?? '');
    conn.transcript.redactor.add(blob);
    const shown = `[redacted: base64 of user "${user}" and the access token]`;
    let response = saslIr ? await command(conn, tags, limits, `AUTHENTICATE XOAUTH2 ${blob}`, `AUTHENTICATE XOAUTH2 ${shown}`) : await command(conn, tags, limits, 'AUTHENTICATE XOAUTH2');
    const pendingTag = response.tag;
    if (response.status === 'CONTINUE' && !saslIr) {
      conn.send(blob, shown);
      response = await readResponse(conn, pendingTag, limits, 'after the XOAUTH2 token');
    }
    let serverError: string | undefined;
    if (response.status === 'CONTINUE') {
      // The server's error details come base64-encoded; the client answers with an empty line.
      serverError = decodeChallenge(response.final.replace(/^\+\s?/, ''));
      if (serverError) conn.transcript.info(`The server's XOAUTH2 error details (decoded): ${serverError}`);
      conn.send('', '(empty line: ends the XOAUTH2 exchange)');
      response = await readResponse(conn, pendingTag, limits, 'after the XOAUTH2 exchange');
    }
    if (response.status !== 'OK') throw new StepError({ kind: 'reply', reply: response.text, ...(serverError ? { serverError } : {}) }, response.final);
    return { detail: `signed in as ${user} with XOAUTH2`, value: undefined };
  }
  const password = options.password ?? '';
  if (caps.has('LOGINDISABLED') && !caps.has('AUTH=PLAIN')) {
    throw new StepError({ kind: 'missing', missing: 'LOGINDISABLED' }, 'the server disables password sign-in on this connection (LOGINDISABLED)');
  }
  if (caps.has('AUTH=PLAIN') && saslIr) {
    const blob = plainBlob(user, password);
    conn.transcript.redactor.add(blob);
    const response = await command(conn, tags, limits, `AUTHENTICATE PLAIN ${blob}`, `AUTHENTICATE PLAIN [redacted: base64 of user "${user}" and the password]`);
    if (response.status !== 'OK') fail(response);
    return { detail: `signed in as ${user} with AUTHENTICATE PLAIN`, value: undefined };
  }
  if (caps.has('LOGINDISABLED')) throw new StepError({ kind: 'missing', missing: 'LOGINDISABLED' }, 'the server disables password sign-in on this connection (LOGINDISABLED)');
  if (/[^\x20-\x7e]/.test(user + password)) {
    // Quoted strings are 7-bit; a literal carries anything (RFC 3501 4.3).
    const response = await loginWithLiterals(conn, tags, limits, user, password, caps.has('LITERAL+'));
    if (response.status !== 'OK') fail(response);
  } else {
    const response = await command(conn, tags, limits, `LOGIN ${imapString(user)} ${imapString(password)}`, `LOGIN ${imapString(user)} [redacted: password]`);
    if (response.status !== 'OK') fail(response);
  }
  return { detail: `signed in as ${user} with LOGIN`, value: undefined };
}

async function loginWithLiterals(conn: ProbeConnection, tags: TagCounter, limits: StepLimits, user: string, password: string, nonSync: boolean): Promise<ImapResponse> {
  const tag = tags.take();
  const userBytes = Buffer.byteLength(user);
  const passBytes = Buffer.byteLength(password);
  const plus = nonSync ? '+' : '';
  conn.send(`${tag} LOGIN {${userBytes}${plus}}`);
  if (!nonSync) {
    const go = await readResponse(conn, tag, limits, 'waiting to send the user name');
    if (go.status !== 'CONTINUE') return go;
  }
  conn.send(`${user} {${passBytes}${plus}}`, `${user} {${passBytes}${plus}}`);
  if (!nonSync) {
    const go = await readResponse(conn, tag, limits, 'waiting to send the password');
    if (go.status !== 'CONTINUE') return go;
  }
  conn.send(password, '[redacted: password]');
  return readResponse(conn, tag, limits, 'after LOGIN');
}
