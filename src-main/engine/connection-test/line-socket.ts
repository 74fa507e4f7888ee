/**
 * The socket layer of the connection-test probes: connect with a deadline,
 * read CRLF lines with a deadline, upgrade to TLS (implicit or STARTTLS) and
 * say what went wrong in terms the diagnosis rules understand.
 *
 * The probes are written by hand over `net`/`tls` rather than with nodemailer
 * or imapflow: a diagnostic probe needs control over each step (stop after the
 * greeting, look at a certificate that does not verify without trusting it),
 * a timeout per step, the raw bytes a non-TLS server answered a handshake
 * with, and a transcript in which secrets are replaced before they are kept.
 * The client libraries hide exactly these things behind one `connect()`.
 */
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { Duplex } from 'node:stream';
import { tlsErrorCodeFromMessage } from '../diagnose/socket-errors.js';
import { MINIMUM_TLS_VERSION } from '../tls-policy.js';

/** How a socket operation failed. */
export type SocketFailureKind = 'timeout' | 'closed' | 'error' | 'cancelled';

/** A failed socket operation, with Node's error code when there is one. */
export class SocketFailure extends Error {
  constructor(
    readonly kind: SocketFailureKind,
    message: string,
    readonly errorCode?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SocketFailure';
  }
}

/** A deadline and a cancel signal for one step. */
export interface StepLimits {
  /** Absolute time (ms, Date.now clock) when the step times out. */
  deadline: number;
  signal?: AbortSignal;
}

function remaining(limits: StepLimits): number {
  return Math.max(0, limits.deadline - Date.now());
}

/**
 * Waits for a promise with a step's deadline and cancel signal; `onGiveUp`
 * runs when the wait is abandoned (to destroy a socket, say).
 */
export function withLimits<T>(work: Promise<T>, limits: StepLimits, what: string, onGiveUp?: () => void): Promise<T> {
  if (limits.signal?.aborted) {
    onGiveUp?.();
    return Promise.reject(new SocketFailure('cancelled', 'The test was cancelled.'));
  }
  return new Promise<T>((resolve, reject) => {
    const finish = () => {
      clearTimeout(timer);
      limits.signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      finish();
      onGiveUp?.();
      reject(new SocketFailure('cancelled', 'The test was cancelled.'));
    };
    const timer = setTimeout(() => {
      finish();
      onGiveUp?.();
      reject(new SocketFailure('timeout', `No answer within the step timeout while ${what}.`));
    }, remaining(limits));
    limits.signal?.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        finish();
        resolve(value);
      },
      (error: unknown) => {
        finish();
        reject(error);
      },
    );
  });
}

/** Opens a TCP connection to one address, within the step's limits. */
export function connectTcp(address: string, port: number, limits: StepLimits): Promise<net.Socket> {
  const socket = net.connect({ host: address, port, noDelay: true });
  const connected = new Promise<net.Socket>((resolve, reject) => {
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => reject(new SocketFailure('error', error.message, error.code, { cause: error })));
  });
  return withLimits(connected, limits, `connecting to ${address} port ${port}`, () => socket.destroy());
}

/**
 * A pass-through stream over a TCP socket that keeps the first bytes the
 * server sends. TLS is layered over it for implicit TLS, so that when the
 * handshake fails because the server spoke plaintext, the probe can tell a
 * mail greeting (wrong security mode) from HTTP or SSH (wrong port).
 */
export class TappedStream extends Duplex {
  private captured: Buffer = Buffer.alloc(0);

  constructor(private readonly inner: net.Socket, private readonly keep = 512) {
    super();
    inner.on('data', (chunk: Buffer) => {
      if (this.captured.length < this.keep) this.captured = Buffer.concat([this.captured, chunk]).subarray(0, this.keep);
      if (!this.push(chunk)) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (error) => this.destroy(error));
    inner.on('close', () => {
      if (!this.destroyed) this.push(null);
    });
  }

  /** The first bytes received from the server. */
  get firstBytes(): Buffer {
    return this.captured;
  }

  override _read(): void {
    this.inner.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.inner.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.inner.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inner.destroy();
    callback(error);
  }
}

/** The options of a TLS handshake made by a probe. */
export interface TlsHandshakeOptions {
  /** The host name the certificate must match (the name the admin typed, not the resolved address). */
  host: string;
  /** Extra CA certificates (PEM) on top of Node's roots and NODE_EXTRA_CA_CERTS. */
  ca?: string[];
}

/**
 * Runs a TLS handshake over a stream without trusting it yet: the
 * certificate is verified, but a failure is reported with the certificate
 * in hand (for the detail) instead of as a bare error. The caller refuses to
 * go on when `authorized` is false.
 */
export function startTls(stream: net.Socket | Duplex, options: TlsHandshakeOptions, limits: StepLimits): Promise<tls.TLSSocket> {
  const isIp = net.isIP(options.host.replace(/^\[|\]$/g, '')) !== 0;
  const secure = tls.connect({
    socket: stream as net.Socket,
    host: options.host.replace(/^\[|\]$/g, ''),
    // SNI must not carry an IP address (RFC 6066).
    ...(isIp ? {} : { servername: options.host }),
    rejectUnauthorized: false,
    // Explicit, so that `--tls-min-v1.0` in NODE_OPTIONS cannot lower it (see tls-policy.ts).
    minVersion: MINIMUM_TLS_VERSION,
    ...(options.ca?.length ? { secureContext: contextTrusting(options.ca) } : {}),
  });
  const handshake = new Promise<tls.TLSSocket>((resolve, reject) => {
    secure.once('secureConnect', () => {
      secure.removeAllListeners('error');
      resolve(secure);
    });
    secure.once('error', (error: NodeJS.ErrnoException) => reject(new SocketFailure('error', error.message, tlsErrorCode(error), { cause: error })));
    secure.once('close', () => reject(new SocketFailure('closed', 'The server closed the connection during the TLS handshake.', 'ECONNRESET')));
  });
  return withLimits(handshake, limits, 'negotiating TLS', () => secure.destroy());
}

let extraCa: string[] | undefined;
/**
 * The certificates of NODE_EXTRA_CA_CERTS. Node trusts them by default, but
 * a `ca` option replaces the default trust, so they are added back by hand.
 */
function extraCaFromEnvironment(): string[] {
  if (extraCa) return extraCa;
  const file = process.env.NODE_EXTRA_CA_CERTS;
  try {
    extraCa = file ? (fs.readFileSync(file, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) : [];
  } catch {
    extraCa = [];
  }
  return extraCa;
}

const contexts = new Map<string, tls.SecureContext>();
/** A secure context trusting the default roots plus `ca`; parsing ~150 roots takes milliseconds, so it is made once per CA list. */
function contextTrusting(ca: string[]): tls.SecureContext {
  const key = ca.join('\n');
  let context = contexts.get(key);
  if (!context) {
    if (contexts.size >= 8) contexts.clear();
    // A secureContext replaces the connection's own minVersion: the minimum goes here as well.
    context = tls.createSecureContext({ ca: [...tls.rootCertificates, ...extraCaFromEnvironment(), ...ca], minVersion: MINIMUM_TLS_VERSION });
    contexts.set(key, context);
  }
  return context;
}

/** Node's code, or (for OpenSSL errors that have none, or only EPROTO) the one its reason text names. */
function tlsErrorCode(error: NodeJS.ErrnoException): string | undefined {
  if (error.code && error.code !== 'EPROTO') return error.code;
  return tlsErrorCodeFromMessage(error.message) ?? error.code;
}

/** What a diagnostic handshake learned: the TLS version and cipher the server chose. */
export interface ServerTlsOffer {
  /** As Node names it: `TLSv1`, `TLSv1.1`... */
  version: string;
  cipher: string | null;
}

/**
 * A handshake that allows TLS 1.0 and 1.1 and the weak ciphers they need,
 * only to learn which version an old server speaks after the real handshake
 * refused it. Nothing is sent over it (no command, no credential): the
 * socket is closed as soon as the handshake completes. Undefined when even
 * this handshake fails.
 */
export async function diagnosticHandshake(stream: net.Socket | Duplex, host: string, limits: StepLimits): Promise<ServerTlsOffer | undefined> {
  const bare = host.replace(/^\[|\]$/g, '');
  const probe = tls.connect({
    socket: stream as net.Socket,
    host: bare,
    ...(net.isIP(bare) ? {} : { servername: host }),
    rejectUnauthorized: false,
    minVersion: 'TLSv1',
    // OpenSSL 3 refuses TLS 1.0/1.1 at its default security level.
    ciphers: 'DEFAULT@SECLEVEL=0',
  });
  const done = new Promise<ServerTlsOffer | undefined>((resolve) => {
    probe.once('secureConnect', () => {
      const cipher = probe.getCipher();
      resolve({ version: probe.getProtocol() ?? 'unknown', cipher: cipher?.standardName ?? cipher?.name ?? null });
    });
    probe.once('error', () => resolve(undefined));
    probe.once('close', () => resolve(undefined));
  });
  try {
    return await withLimits(done, limits, 'checking which TLS version the server speaks', () => probe.destroy());
  } catch {
    return undefined;
  } finally {
    probe.destroy();
  }
}

/**
 * Reads CRLF-terminated lines from a socket with a deadline per call. After
 * a STARTTLS upgrade the same reader continues on the TLS socket.
 */
export class LineReader {
  private buffer: Buffer = Buffer.alloc(0);
  private ended: { kind: SocketFailureKind; message: string; code?: string } | undefined;
  private wake: (() => void) | undefined;
  private socket: net.Socket;
  private readonly onData = (chunk: Buffer) => {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    this.notify();
  };
  private readonly onEnd = () => {
    this.ended ??= { kind: 'closed', message: 'The server closed the connection.' };
    this.notify();
  };
  private readonly onError = (error: NodeJS.ErrnoException) => {
    this.ended ??= { kind: error.code === 'ECONNRESET' || error.code === 'EPIPE' ? 'closed' : 'error', message: error.message, ...(error.code ? { code: error.code } : {}) };
    this.notify();
  };

  constructor(socket: net.Socket) {
    this.socket = socket;
    this.attach(socket);
  }

  private attach(socket: net.Socket): void {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  private detach(socket: net.Socket): void {
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('close', this.onEnd);
    socket.off('error', this.onError);
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** The socket lines are read from. */
  get current(): net.Socket {
    return this.socket;
  }

  /** True when unread bytes are waiting (a server that answers before it is asked). */
  get hasBufferedData(): boolean {
    return this.buffer.length > 0;
  }

  /** Hands the connection over to a new socket (after STARTTLS). Unread plaintext is discarded. */
  switchTo(socket: net.Socket): void {
    this.detach(this.socket);
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.ended = undefined;
    this.attach(socket);
  }

  /** Stops reading from the socket without closing it (before a TLS upgrade takes it over). */
  release(): net.Socket {
    this.detach(this.socket);
    this.socket.pause();
    return this.socket;
  }

  /** Reads one line (without CRLF). Rejects with a SocketFailure on timeout, close or error. */
  async readLine(limits: StepLimits, what: string): Promise<string> {
    for (;;) {
      const newline = this.buffer.indexOf(0x0a);
      if (newline >= 0) {
        const line = this.buffer.subarray(0, newline).toString('utf8').replace(/\r$/, '');
        this.buffer = this.buffer.subarray(newline + 1);
        return line;
      }
      if (this.ended) {
        const partial = this.buffer.toString('utf8');
        throw new SocketFailure(this.ended.kind, partial ? `${this.ended.message} It sent: ${partial.slice(0, 200)}` : this.ended.message, this.ended.code);
      }
      await withLimits(new Promise<void>((resolve) => (this.wake = resolve)), limits, what);
    }
  }

  /** Reads exactly `count` bytes (an IMAP literal). */
  async readBytes(count: number, limits: StepLimits, what: string): Promise<Buffer> {
    for (;;) {
      if (this.buffer.length >= count) {
        const out = this.buffer.subarray(0, count);
        this.buffer = this.buffer.subarray(count);
        return out;
      }
      if (this.ended) throw new SocketFailure(this.ended.kind, this.ended.message, this.ended.code);
      await withLimits(new Promise<void>((resolve) => (this.wake = resolve)), limits, what);
    }
  }

  /** Writes text to the current socket. */
  write(text: string): void {
    if (!this.socket.destroyed) this.socket.write(text);
  }

  /** Closes the connection without waiting; a read still waiting ends at once (its timer must not keep the process alive). */
  close(): void {
    this.detach(this.socket);
    this.socket.on('error', () => undefined);
    this.socket.destroy();
    this.ended ??= { kind: 'closed', message: 'The connection was closed.' };
    this.notify();
  }
}
