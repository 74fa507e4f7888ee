/**
 * The POP3 client of the import (RFC 1939, CAPA/PIPELINING RFC 2449, STLS
 * RFC 2595, SASL AUTH RFC 5034, XOAUTH2 as Exchange Online takes it).
 *
 * Why by hand and not `node-pop3` (installed, 0.11, the maintained POP3
 * client on npm): checked against Dovecot 2.3, its RETR gives the message
 * as a string decoded as UTF-8 (8-bit bytes of a legacy message come back
 * as U+FFFD, so the stored raw message would not be what the server sent)
 * and leaves the dot-stuffing in (a body line ".x" comes back "..x"); it
 * finds a reply's end only at the end of a socket chunk (a "." line split
 * across two chunks is missed; a chunk that is just "." ends the message),
 * and it has no STLS, CAPA or SASL (no XOAUTH2 for Microsoft 365). The
 * import needs the exact bytes (they are hashed for dedupe and handed off
 * as .eml), per-step control (UIDL before anything is fetched, DELE only
 * after the store has the message durably, QUIT to commit) and pipelined
 * RETRs for speed. So this module reads the wire as bytes and undoes the
 * dot-stuffing itself; it is small and tested against Dovecot.
 *
 * Errors: a refused command throws a `Pop3Error` with kind 'reply' and the
 * server's line; a socket, TLS or timeout failure throws one with Node's
 * error code, which engine/diagnose/socket-errors.ts reads like any other.
 * Secrets (PASS, AUTH blobs) never reach `onLine`: the transcript hook sees
 * them replaced.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { SecurityMode } from '../../shared/mailbox.js';
import { MINIMUM_TLS_VERSION } from '../tls-policy.js';
import { buildXOAuth2, decodeXOAuth2Challenge } from '../auth/xoauth2.js';

/** Where in a POP3 session something failed, in the connection test's step names. */
export type Pop3Step = 'tcp' | 'tls' | 'greeting' | 'capabilities' | 'starttls' | 'auth' | 'uidl' | 'retr' | 'dele' | 'quit';

/** How a POP3 operation failed, mechanically (the diagnosis rules' FailureKind). */
export type Pop3FailureKind = 'reply' | 'closed' | 'timeout' | 'tls' | 'connect' | 'dns' | 'unexpected' | 'missing';

/** A POP3 failure: a refused command (`reply` is the server's line) or a broken connection (`code` is Node's). */
export class Pop3Error extends Error {
  /** Node's error code for socket/TLS errors (ECONNRESET, CERT_HAS_EXPIRED...), POP3_* otherwise. */
  readonly code: string;
  readonly kind: Pop3FailureKind;
  readonly step: Pop3Step;
  /** The server's -ERR line (status included), when it answered. */
  readonly reply: string | undefined;
  /** For kind 'missing': what the server does not offer (STLS, UIDL, SASL XOAUTH2...). */
  readonly missing: string | undefined;
  /** The server's decoded XOAUTH2 error (JSON), when it sent one. */
  readonly oauthError: string | undefined;
  /** Sign-in refused (the import retries once with a fresh OAuth token). */
  readonly authenticationFailed: boolean;

  constructor(
    kind: Pop3FailureKind,
    step: Pop3Step,
    message: string,
    options: { code?: string; reply?: string; missing?: string; oauthError?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'Pop3Error';
    this.kind = kind;
    this.step = step;
    this.code = options.code ?? (kind === 'reply' ? 'POP3_REPLY' : kind === 'timeout' ? 'ETIMEDOUT' : kind === 'closed' ? 'ECONNRESET' : 'POP3_FAILURE');
    this.reply = options.reply;
    this.missing = options.missing;
    this.oauthError = options.oauthError;
    this.authenticationFailed = step === 'auth' && kind === 'reply';
  }
}

/** What a POP3 session signs in with. Secrets: never log them. */
export interface Pop3Credentials {
  user: string;
  pass?: string;
  accessToken?: string;
}

/** Options of one POP3 connection. */
export interface Pop3ConnectOptions {
  host: string;
  port: number;
  security: SecurityMode;
  /** Extra TLS options (tests pass their CA). The minimum TLS version always applies. */
  tls?: tls.ConnectionOptions;
  /** Longest silence of the server while a reply is awaited (default 60 s). */
  idleTimeoutMs?: number;
  /** Each line sent ('C') or received ('S'), secrets replaced; message bodies are summarised, not passed. */
  onLine?: (direction: 'C' | 'S', text: string) => void;
}

/** One entry of the UIDL list. */
export interface Pop3Listing {
  /** The message number in this session. */
  number: number;
  /** The server's unique id of the message (RFC 1939: 1-70 printable characters; a longer one is taken as sent, up to 1,000). */
  uidl: string;
}

const CRLF = Buffer.from('\r\n');
const TERMINATOR = Buffer.from('\r\n.\r\n');
/** RETRs sent ahead of the replies when the server offers PIPELINING. */
const PIPELINE_DEPTH = 32;

/** An open, signed-in-or-not POP3 session. Use `Pop3Client.connect`. */
export class Pop3Client {
  private socket: net.Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private ended: Pop3Error | undefined;
  /** CAPA's answer (upper-case keywords, e.g. UIDL, PIPELINING, STLS, "SASL PLAIN XOAUTH2"); null when CAPA was refused. */
  capabilities: string[] | null = null;
  /** The server's greeting line. */
  greeting = '';
  private step: Pop3Step = 'greeting';
  private readonly idleTimeoutMs: number;

  private constructor(socket: net.Socket, private readonly options: Pop3ConnectOptions) {
    this.socket = socket;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.attach(socket);
  }

  private readonly onData = (chunk: Buffer) => {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    this.notify();
  };
  private readonly onClose = () => {
    this.ended ??= new Pop3Error('closed', this.step, 'The server closed the connection.', { code: 'ECONNRESET' });
    this.notify();
  };
  private readonly onError = (error: NodeJS.ErrnoException) => {
    const code = error.code ?? 'ECONNRESET';
    const tlsFailure = /^ERR_SSL_|^ERR_TLS_|CERT|SELF_SIGNED|UNABLE_TO_/.test(code);
    this.ended ??= new Pop3Error(tlsFailure ? 'tls' : 'closed', this.step, error.message, { code, cause: error });
    this.notify();
  };

  private attach(socket: net.Socket): void {
    socket.on('data', this.onData);
    socket.on('end', this.onClose);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
  }

  private detach(socket: net.Socket): void {
    socket.off('data', this.onData);
    socket.off('end', this.onClose);
    socket.off('close', this.onClose);
    socket.off('error', this.onError);
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Waits for more bytes (or the end), with the idle timeout. */
  private async more(): Promise<void> {
    if (this.ended) throw this.ended;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        this.wake = resolve;
        timer = setTimeout(() => {
          const error = new Pop3Error('timeout', this.step, `The server sent nothing for ${Math.round(this.idleTimeoutMs / 1000)} s.`, { code: 'ETIMEDOUT' });
          this.ended ??= error;
          this.socket.destroy();
          reject(error);
        }, this.idleTimeoutMs);
      });
    } finally {
      clearTimeout(timer);
    }
    if (this.ended && !this.buffer.length) throw this.ended;
  }

  /** Connects: TCP (and TLS for POP3S), greeting, CAPA, STLS for 'starttls' (then CAPA again). */
  static async connect(options: Pop3ConnectOptions): Promise<Pop3Client> {
    const host = options.host.replace(/^\[|\]$/g, '');
    const tlsOptions = (): tls.ConnectionOptions => ({
      host,
      ...(net.isIP(host) ? {} : { servername: host }),
      ...(options.tls ?? {}),
      // The minimum goes last, so that no option lowers it (see tls-policy.ts).
      minVersion: MINIMUM_TLS_VERSION,
    });
    const socket: net.Socket =
      options.security === 'tls' ? tls.connect({ ...tlsOptions(), port: options.port }) : net.connect({ host, port: options.port, noDelay: true });
    const client = new Pop3Client(socket, options);
    client.step = 'tcp';
    await new Promise<void>((resolve, reject) => {
      const fail = (error: NodeJS.ErrnoException) => {
        const code = error.code ?? 'ECONNRESET';
        const kind: Pop3FailureKind = /ENOTFOUND|EAI_/.test(code) ? 'dns' : /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|EADDRNOTAVAIL/.test(code) ? 'connect' : options.security === 'tls' && code !== 'ECONNRESET' ? 'tls' : 'closed';
        reject(new Pop3Error(kind, kind === 'tls' ? 'tls' : 'tcp', error.message, { code, cause: error }));
      };
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Pop3Error('timeout', 'tcp', `No connection to ${options.host} port ${options.port} within 30 s.`, { code: 'ETIMEDOUT' }));
      }, 30_000);
      socket.once(options.security === 'tls' ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', fail);
        resolve();
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        fail(error);
      });
    });
    try {
      client.step = 'greeting';
      const greeting = await client.readStatus();
      client.greeting = greeting.line;
      if (!greeting.ok) throw new Pop3Error('reply', 'greeting', `The server refused the session: ${greeting.line}`, { reply: greeting.line });
      await client.readCapabilities();
      if (options.security === 'starttls') {
        client.step = 'starttls';
        if (client.capabilities && !client.capabilities.includes('STLS')) {
          throw new Pop3Error('missing', 'starttls', 'The server does not offer STLS (POP3 STARTTLS).', { missing: 'STLS' });
        }
        const reply = await client.command('STLS');
        if (!reply.ok) throw new Pop3Error('missing', 'starttls', `The server refused STLS: ${reply.line}`, { reply: reply.line, missing: 'STLS' });
        await client.upgrade(tlsOptions());
        await client.readCapabilities();
      }
      return client;
    } catch (error) {
      client.destroy();
      throw error;
    }
  }

  private async upgrade(options: tls.ConnectionOptions): Promise<void> {
    const plain = this.socket;
    this.detach(plain);
    const secure = tls.connect({ ...options, socket: plain });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => {
        secure.off('error', reject);
        resolve();
      });
      secure.once('error', (error: NodeJS.ErrnoException) => reject(new Pop3Error('tls', 'starttls', error.message, { code: error.code ?? 'ERR_SSL_HANDSHAKE', cause: error })));
    });
    this.socket = secure;
    this.buffer = Buffer.alloc(0);
    this.attach(secure);
  }

  private async readCapabilities(): Promise<void> {
    this.step = 'capabilities';
    const { reply, body } = await this.multiline('CAPA');
    this.capabilities = reply.ok
      ? body
          .toString('latin1')
          .split('\r\n')
          .filter(Boolean)
          .map((line) => line.trim().toUpperCase())
      : null;
  }

  /** True when CAPA lists the keyword (null capabilities: unknown, so false). */
  offers(keyword: string): boolean {
    return Boolean(this.capabilities?.some((c) => c === keyword || c.startsWith(`${keyword} `)));
  }

  /** The SASL mechanisms CAPA lists. */
  saslMechanisms(): string[] {
    const line = this.capabilities?.find((c) => c.startsWith('SASL '));
    return line ? line.slice(5).split(/\s+/).filter(Boolean) : [];
  }

  private async line(): Promise<Buffer> {
    for (;;) {
      const end = this.buffer.indexOf(CRLF);
      if (end >= 0) {
        const line = this.buffer.subarray(0, end);
        this.buffer = this.buffer.subarray(end + 2);
        return line;
      }
      await this.more();
    }
  }

  private async readStatus(): Promise<{ ok: boolean; continuation: boolean; line: string; text: string }> {
    const line = (await this.line()).toString('latin1');
    this.options.onLine?.('S', line);
    if (line.startsWith('+OK')) return { ok: true, continuation: false, line, text: line.slice(4) };
    if (line.startsWith('-ERR')) return { ok: false, continuation: false, line, text: line.slice(5) };
    if (line === '+' || line.startsWith('+ ')) return { ok: true, continuation: true, line, text: line.slice(2) };
    throw new Pop3Error('unexpected', this.step, `The server's answer is not POP3: ${JSON.stringify(line.slice(0, 200))}`, { code: 'POP3_UNEXPECTED', reply: line.slice(0, 200) });
  }

  private send(line: string, shown = line): void {
    this.options.onLine?.('C', shown);
    this.socket.write(`${line}\r\n`);
  }

  /** Sends a one-line command and reads its status line. */
  async command(line: string, shown = line): Promise<{ ok: boolean; continuation: boolean; line: string; text: string }> {
    if (this.ended) throw this.ended;
    this.send(line, shown);
    return this.readStatus();
  }

  /** Reads a multi-line body up to the "." line, dot-stuffing undone, as the exact bytes. */
  private async readBody(): Promise<Buffer> {
    // The body may be empty: the "." line comes at once.
    for (;;) {
      if (this.buffer.length >= 3 && this.buffer[0] === 0x2e && this.buffer[1] === 0x0d && this.buffer[2] === 0x0a) {
        this.buffer = this.buffer.subarray(3);
        return Buffer.alloc(0);
      }
      if (this.buffer.length >= 3) break;
      await this.more();
    }
    let searchFrom = 0;
    for (;;) {
      const end = this.buffer.indexOf(TERMINATOR, searchFrom);
      if (end >= 0) {
        const body = this.buffer.subarray(0, end + 2);
        this.buffer = this.buffer.subarray(end + TERMINATOR.length);
        return unstuff(body);
      }
      searchFrom = Math.max(0, this.buffer.length - TERMINATOR.length + 1);
      await this.more();
    }
  }

  /** Sends a command whose +OK answer has a multi-line body. */
  async multiline(line: string): Promise<{ reply: { ok: boolean; line: string }; body: Buffer }> {
    const reply = await this.command(line);
    if (!reply.ok) return { reply, body: Buffer.alloc(0) };
    return { reply, body: await this.readBody() };
  }

  /**
   * Signs in: XOAUTH2 with an access token; with a password, SASL PLAIN when
   * CAPA offers it, else USER/PASS. A refusal throws with the server's line
   * (kind 'reply', step 'auth', authenticationFailed).
   */
  async signIn(credentials: Pop3Credentials): Promise<void> {
    this.step = 'auth';
    if (credentials.accessToken !== undefined) {
      const blob = buildXOAuth2(credentials.user, credentials.accessToken);
      let reply = await this.command(`AUTH XOAUTH2 ${blob}`, 'AUTH XOAUTH2 [redacted XOAUTH2]');
      let oauthError: string | undefined;
      if (reply.continuation) {
        // Exchange and Dovecot send the error as a base64 JSON challenge; an empty line ends the exchange.
        oauthError = decodeXOAuth2Challenge(reply.text);
        reply = await this.command('');
      }
      if (!reply.ok) {
        throw new Pop3Error('reply', 'auth', `The server refused the XOAUTH2 sign-in: ${reply.line}`, { reply: reply.line, ...(oauthError ? { oauthError } : {}) });
      }
      return;
    }
    const pass = credentials.pass ?? '';
    if (this.saslMechanisms().includes('PLAIN')) {
      const blob = Buffer.from(`\u0000${credentials.user}\u0000${pass}`, 'utf8').toString('base64');
      const reply = await this.command(`AUTH PLAIN ${blob}`, 'AUTH PLAIN [redacted PLAIN]');
      if (reply.continuation) await this.command('*');
      if (!reply.ok || reply.continuation) throw new Pop3Error('reply', 'auth', `The server refused the sign-in: ${reply.line}`, { reply: reply.line });
      return;
    }
    const user = await this.command(`USER ${credentials.user}`);
    if (!user.ok) throw new Pop3Error('reply', 'auth', `The server refused the user name: ${user.line}`, { reply: user.line });
    const reply = await this.command(`PASS ${pass}`, 'PASS [redacted password]');
    if (!reply.ok) throw new Pop3Error('reply', 'auth', `The server refused the sign-in: ${reply.line}`, { reply: reply.line });
  }

  /** STAT: how many messages the maildrop holds and their size in bytes. */
  async stat(): Promise<{ count: number; size: number }> {
    this.step = 'uidl';
    const reply = await this.command('STAT');
    const m = /^\+OK (\d+) (\d+)/.exec(reply.line);
    if (!reply.ok || !m) throw new Pop3Error(reply.ok ? 'unexpected' : 'reply', 'uidl', `The server did not count the messages: ${reply.line}`, { reply: reply.line });
    return { count: Number(m[1]), size: Number(m[2]) };
  }

  /**
   * The UIDL list. A server without UIDL (an -ERR to the command) throws kind
   * 'missing', missing 'UIDL': without it an import cannot tell which
   * messages it has already taken.
   */
  async uidl(): Promise<Pop3Listing[]> {
    this.step = 'uidl';
    const { reply, body } = await this.multiline('UIDL');
    if (!reply.ok) throw new Pop3Error('missing', 'uidl', `The server does not give message ids (UIDL): ${reply.line}`, { code: 'POP3_NO_UIDL', reply: reply.line, missing: 'UIDL' });
    const out: Pop3Listing[] = [];
    for (const line of body.toString('latin1').split('\r\n')) {
      if (!line) continue;
      const m = /^(\d+)\s+(\S{1,1000})\s*$/.exec(line);
      if (!m) throw new Pop3Error('unexpected', 'uidl', `The server's UIDL list has a malformed line: ${JSON.stringify(line.slice(0, 100))}`, { code: 'POP3_UNEXPECTED', reply: line.slice(0, 100) });
      out.push({ number: Number(m[1]), uidl: m[2]! });
    }
    return out;
  }

  /** TOP n 0: a message's header section (dot-stuffing undone), or null when the server refuses (the message is gone). */
  async top(number: number): Promise<Buffer | null> {
    this.step = 'retr';
    const { reply, body } = await this.multiline(`TOP ${number} 0`);
    return reply.ok ? body : null;
  }

  /**
   * RETRs the messages, in order, yielding each one's exact bytes as it
   * arrives. With PIPELINING, up to 32 RETRs are in flight, sent 16 at a time;
   * the caller's pace (the loop body) holds the next sends back. A refused RETR (the
   * message was deleted by another session meanwhile) yields `raw: null`.
   */
  async *retrieve(numbers: readonly number[]): AsyncGenerator<{ number: number; raw: Buffer | null; reply: string }> {
    this.step = 'retr';
    const depth = this.offers('PIPELINING') ? PIPELINE_DEPTH : 1;
    let sent = 0;
    let received = 0;
    const transcript = this.options.onLine;
    // Refilled half a window at a time, in one write: a write per RETR cost a system call per
    // message (3 % of a 1,000-message import) and woke the server as often.
    const refillAt = Math.floor(depth / 2);
    while (received < numbers.length) {
      if (sent < numbers.length && sent - received <= refillAt) {
        let commands = '';
        while (sent < numbers.length && sent - received < depth) {
          const n = numbers[sent++]!;
          transcript?.('C', `RETR ${n}`);
          commands += `RETR ${n}\r\n`;
        }
        this.socket.write(commands);
      }
      const number = numbers[received++]!;
      const status = (await this.line()).toString('latin1');
      if (status.startsWith('+OK')) {
        const raw = await this.readBody();
        transcript?.('S', `${status} [${raw.length} bytes of message ${number}]`);
        yield { number, raw, reply: status };
      } else if (status.startsWith('-ERR')) {
        transcript?.('S', status);
        yield { number, raw: null, reply: status };
      } else {
        throw new Pop3Error('unexpected', 'retr', `The server's answer to RETR is not POP3: ${JSON.stringify(status.slice(0, 200))}`, { code: 'POP3_UNEXPECTED', reply: status.slice(0, 200) });
      }
    }
  }

  /**
   * Marks messages deleted (the server removes them only at QUIT). Returns
   * the refusals by message number (the server's line); a broken connection
   * throws.
   */
  async dele(numbers: readonly number[]): Promise<Map<number, string>> {
    this.step = 'dele';
    const depth = this.offers('PIPELINING') ? PIPELINE_DEPTH : 1;
    const refused = new Map<number, string>();
    let sent = 0;
    let received = 0;
    while (received < numbers.length) {
      while (sent < numbers.length && sent - received < depth) this.send(`DELE ${numbers[sent++]}`);
      const reply = await this.readStatus();
      const n = numbers[received++]!;
      if (!reply.ok) refused.set(n, reply.line);
    }
    return refused;
  }

  /**
   * QUIT: the server commits the deletions (the UPDATE state). Throws when
   * the server refuses (-ERR: the deletions were not made) or the
   * connection breaks first (nothing was deleted).
   */
  async quit(): Promise<void> {
    this.step = 'quit';
    try {
      const reply = await this.command('QUIT');
      if (!reply.ok) throw new Pop3Error('reply', 'quit', `The server could not remove the deleted messages: ${reply.line}`, { reply: reply.line });
    } finally {
      this.socket.end();
      setTimeout(() => this.socket.destroy(), 1_000).unref();
    }
  }

  /** Drops the connection without QUIT: messages marked deleted stay on the server. */
  destroy(): void {
    this.ended ??= new Pop3Error('closed', this.step, 'The connection was closed.', { code: 'ECONNABORTED' });
    this.socket.destroy();
  }

  /** True while the connection is open. */
  get usable(): boolean {
    return !this.ended && !this.socket.destroyed;
  }
}

/** Undoes POP3 dot-stuffing: a line that starts with "." loses that dot (RFC 1939 section 3). */
export function unstuff(body: Buffer): Buffer {
  const first = body[0] === 0x2e ? 1 : 0;
  let at = body.indexOf('\r\n.', first);
  if (at < 0) return first ? body.subarray(1) : body;
  const parts: Buffer[] = [];
  let from = first;
  while (at >= 0) {
    parts.push(body.subarray(from, at + 2));
    from = at + 3;
    at = body.indexOf('\r\n.', from);
  }
  parts.push(body.subarray(from));
  return Buffer.concat(parts);
}
