/**
 * One open connection of a test, shared by the SMTP and IMAP probes: send
 * and read lines with the transcript kept, upgrade to TLS with the
 * certificate checked, and the greeting wait that notices a TLS-only port.
 */
import net from 'node:net';
import type tls from 'node:tls';
import type { TlsDetails } from '../../shared/diagnosis.js';
import type { DetectedProtocol } from '../diagnose/diagnose.js';
import { NOT_TLS_ERROR_CODES, readSocketError } from '../diagnose/socket-errors.js';
import { detectProtocol } from './detect-protocol.js';
import { connectTcp, diagnosticHandshake, LineReader, SocketFailure, startTls, TappedStream, withLimits, type ServerTlsOffer, type StepLimits } from './line-socket.js';
import { StepError } from './step-recorder.js';
import { describeRefusedVersion, describeTls, readTlsDetails, stepTlsOf } from './tls-details.js';
import type { Transcript } from './transcript.js';
import { tlsVersionLabel } from '../tls-policy.js';

/** Where the connection goes, and what to trust. */
export interface ConnectionTarget {
  /** The host name as typed (for SNI and the certificate check). */
  host: string;
  /** The address actually connected to. */
  address: string;
  port: number;
  /** Extra CA certificates (PEM). */
  ca?: string[];
}

/**
 * A TLS handshake that failed, as step facts. The error is read by the
 * same function the outbox and the inbox use (diagnose/socket-errors.ts).
 * `serverTls` is what a diagnostic handshake learned after a refusal on the
 * version (see learnServerTls).
 */
export function tlsFailure(error: SocketFailure, detected?: DetectedProtocol, serverTls?: ServerTlsOffer): StepError {
  if (error.kind === 'timeout') return new StepError({ kind: 'timeout' }, 'no answer to the TLS handshake');
  const reading = readSocketError({ code: error.errorCode, message: error.message });
  const errorCode = reading?.errorCode ?? error.errorCode;
  if (detected && detected !== 'tls') {
    return new StepError({ kind: 'tls', ...(errorCode ? { errorCode } : {}), detected }, `not TLS: the server answered like ${detected === 'unknown' ? 'something else' : detected.toUpperCase()} (${errorCode ?? error.message})`);
  }
  if (reading?.tls === 'version') {
    return new StepError(
      { kind: 'tls', errorCode: reading.errorCode, ...(serverTls ? { serverTls } : {}) },
      describeRefusedVersion(serverTls),
      { version: serverTls?.version ?? null, cipher: serverTls?.cipher ?? null, supported: false },
    );
  }
  if (error.kind === 'closed') return new StepError({ kind: 'closed', errorCode: error.errorCode ?? 'ECONNRESET' }, 'the server closed the connection during the TLS handshake');
  return new StepError({ kind: reading?.kind ?? 'tls', ...(errorCode ? { errorCode } : {}) }, `TLS handshake failed: ${errorCode ?? error.message}`);
}

/** True when a failed handshake was refused on the TLS version (worth a diagnostic handshake). */
export function refusedOnVersion(error: SocketFailure): boolean {
  return readSocketError({ code: error.errorCode, message: error.message })?.tls === 'version';
}

/**
 * Plaintext commands that lead a new connection up to its TLS handshake
 * (greeting, EHLO, STARTTLS for SMTP; greeting, STARTTLS for IMAP). None
 * for implicit TLS.
 */
export type StarttlsPreamble = (reader: LineReader, limits: StepLimits) => Promise<void>;

/**
 * After a handshake was refused on the version: a second connection offers
 * TLS 1.0 and 1.1 as well, only to learn which version and cipher the
 * server speaks, so the diagnosis can name them. Nothing but the handshake
 * (and, for STARTTLS, the plaintext commands before it) goes over it; it is
 * closed at once. Bounded by the step's deadline and at most 10 seconds.
 */
export async function learnServerTls(target: ConnectionTarget, limits: StepLimits, transcript: Transcript, preamble?: StarttlsPreamble): Promise<ServerTlsOffer | undefined> {
  const bounded: StepLimits = { deadline: Math.min(limits.deadline, Date.now() + 10_000), ...(limits.signal ? { signal: limits.signal } : {}) };
  let socket: net.Socket | undefined;
  try {
    socket = await connectTcp(target.address, target.port, bounded);
    if (preamble) {
      const reader = new LineReader(socket);
      await preamble(reader, bounded);
      reader.release();
    }
    const offer = await diagnosticHandshake(socket, target.host, bounded);
    transcript.info(
      offer
        ? `A second connection, allowed to use old TLS only to find out, saw the server choose ${tlsVersionLabel(offer.version)} (${offer.version}${offer.cipher ? `, cipher ${offer.cipher}` : ''}); it was closed at once, nothing was sent over it.`
        : 'A second connection, allowed to use old TLS only to find out, could not complete a handshake either.',
    );
    return offer;
  } catch {
    return undefined;
  } finally {
    socket?.destroy();
  }
}

/** A socket failure in a plain command step, as step facts. */
export function commandFailure(error: SocketFailure, what: string): StepError {
  if (error.kind === 'timeout') return new StepError({ kind: 'timeout' }, `no answer ${what}`);
  return new StepError({ kind: 'closed', ...(error.errorCode ? { errorCode: error.errorCode } : {}) }, `connection closed ${what}: ${error.message}`);
}

const SIDE_PROBE_DELAY_MS = 1500;
const NOT_TLS = new Set<string>(NOT_TLS_ERROR_CODES);

/** An open connection of a probe. */
export class ProbeConnection {
  readonly reader: LineReader;
  /** TLS session details once the connection is encrypted. */
  tls: TlsDetails | undefined;

  constructor(socket: net.Socket, readonly target: ConnectionTarget, readonly transcript: Transcript, secure: TlsDetails | undefined) {
    this.reader = new LineReader(socket);
    this.tls = secure;
  }

  /** True once TLS protects the connection. */
  get secure(): boolean {
    return this.tls !== undefined;
  }

  /** Sends one line; `shown` replaces it in the transcript when it carries a secret. */
  send(line: string, shown?: string): void {
    this.transcript.client(shown ?? line);
    this.reader.write(`${line}\r\n`);
  }

  /** Sends raw bytes (message data), shown as the given transcript lines. */
  sendRaw(data: string, shownLines: string[]): void {
    for (const line of shownLines) this.transcript.client(line);
    this.reader.write(data);
  }

  /** Reads one line from the server, kept in the transcript. */
  async readLine(limits: StepLimits, what: string): Promise<string> {
    const line = await this.reader.readLine(limits, what);
    this.transcript.server(line);
    return line;
  }

  /**
   * Upgrades the connection after STARTTLS. The certificate must verify:
   * otherwise the step fails here, before any credential is sent.
   */
  async upgradeToTls(limits: StepLimits, preamble?: StarttlsPreamble): Promise<TlsDetails> {
    const socket = this.reader.release();
    let secure: tls.TLSSocket;
    try {
      secure = await startTls(socket, { host: this.target.host, ...(this.target.ca ? { ca: this.target.ca } : {}) }, limits);
    } catch (error) {
      socket.destroy();
      if (error instanceof SocketFailure) {
        if (error.kind === 'cancelled') throw error;
        this.transcript.info(`TLS handshake failed: ${error.errorCode ?? error.message}`);
        const offer = refusedOnVersion(error) ? await learnServerTls(this.target, limits, this.transcript, preamble) : undefined;
        throw tlsFailure(error, undefined, offer);
      }
      throw error;
    }
    this.reader.switchTo(secure);
    const details = readTlsDetails(secure);
    this.transcript.info(`TLS: ${describeTls(details)}`);
    this.tls = details;
    verifyOrFail(details);
    return details;
  }

  /**
   * Waits for the first line of a plaintext greeting. When nothing comes
   * for a while, a second connection tries a TLS handshake on the same
   * port: if that works, the port expects implicit TLS and the step fails
   * at once with that finding instead of waiting out the timeout.
   */
  async readGreetingLine(limits: StepLimits, expected?: DetectedProtocol): Promise<string> {
    const first = this.reader.readLine(limits, 'waiting for the greeting');
    let sideTimer: NodeJS.Timeout | undefined;
    // The side connection ends with the greeting wait, whichever way it ends.
    const sideStop = new AbortController();
    const onParentAbort = () => sideStop.abort();
    limits.signal?.addEventListener('abort', onParentAbort, { once: true });
    const side = new Promise<DetectedProtocol>((resolve) => {
      sideTimer = setTimeout(() => {
        this.transcript.info(`No greeting after ${SIDE_PROBE_DELAY_MS} ms; checking with a second connection whether port ${this.target.port} expects TLS first.`);
        probeWhatPortSpeaks(this.target, { deadline: limits.deadline, signal: sideStop.signal }).then((found) => {
          // A slow greeting of the protocol under test is no finding: keep waiting for it.
          if (found !== expected && (found === 'tls' || found === 'http' || found === 'ssh' || found === 'ftp' || found === 'pop3')) resolve(found);
          // Otherwise keep waiting for the greeting on the first connection.
        });
      }, Math.min(SIDE_PROBE_DELAY_MS, Math.max(0, limits.deadline - Date.now() - 50)));
    });
    try {
      const winner = await Promise.race([first.then((line) => ({ line })), side.then((detected) => ({ detected }))]);
      if ('detected' in winner) {
        first.catch(() => undefined);
        this.transcript.info(winner.detected === 'tls' ? `Port ${this.target.port} completed a TLS handshake: it expects TLS from the first byte.` : `Port ${this.target.port} answers like ${winner.detected.toUpperCase()}.`);
        throw new StepError({ kind: winner.detected === 'tls' ? 'timeout' : 'unexpected', detected: winner.detected }, winner.detected === 'tls' ? 'no plaintext greeting: the port expects TLS first' : `not a mail port: it answers like ${winner.detected.toUpperCase()}`);
      }
      this.transcript.server(winner.line);
      return winner.line;
    } finally {
      clearTimeout(sideTimer);
      sideStop.abort();
      limits.signal?.removeEventListener('abort', onParentAbort);
    }
  }

  /**
   * Reads the first line of the server's greeting (over TLS directly; in
   * plaintext with the implicit-TLS side check) and turns socket failures
   * into the greeting step's errors: a timeout, or a close without greeting.
   */
  async readGreeting(limits: StepLimits, security: 'tls' | 'starttls' | 'none', expected?: DetectedProtocol): Promise<string> {
    try {
      return security === 'tls' ? await this.readLine(limits, 'waiting for the greeting') : await this.readGreetingLine(limits, expected);
    } catch (error) {
      if (error instanceof SocketFailure && error.kind === 'timeout') throw new StepError({ kind: 'timeout' }, 'no greeting before the step timeout');
      if (error instanceof SocketFailure && error.kind !== 'cancelled') throw new StepError({ kind: 'closed', ...(error.errorCode ? { errorCode: error.errorCode } : {}) }, 'the server closed the connection without a greeting');
      throw error;
    }
  }

  /** Closes the connection (after QUIT/LOGOUT has been sent, or on failure). */
  close(): void {
    this.reader.close();
  }
}

/** Fails the step when a certificate did not verify. */
export function verifyOrFail(details: TlsDetails): void {
  if (details.trusted) return;
  throw new StepError({ kind: 'tls', errorCode: details.verificationError ?? 'UNKNOWN_VERIFICATION_ERROR' }, `certificate not accepted (${details.verificationError}): ${describeTls(details)}`, stepTlsOf(details));
}

/**
 * Opens a side connection and offers a TLS handshake, to learn what the
 * port speaks: `tls` when a handshake completes (whatever the
 * certificate), a protocol name when it answered the handshake in
 * plaintext, undefined when it stayed silent or closed.
 */
export async function probeWhatPortSpeaks(target: ConnectionTarget, limits: StepLimits): Promise<DetectedProtocol | undefined> {
  let socket: net.Socket | undefined;
  try {
    socket = await connectTcp(target.address, target.port, limits);
    const tapped = new TappedStream(socket);
    try {
      const secure = await startTls(tapped, { host: target.host }, limits);
      secure.destroy();
      return 'tls';
    } catch (error) {
      if (error instanceof SocketFailure && error.errorCode && NOT_TLS.has(error.errorCode) && tapped.firstBytes.length) return detectProtocol(tapped.firstBytes);
      if (error instanceof SocketFailure && error.errorCode && /CERT|SELF_SIGNED|UNABLE_TO|ALTNAME/.test(error.errorCode)) return 'tls';
      return undefined;
    } finally {
      tapped.destroy();
    }
  } catch {
    return undefined;
  } finally {
    socket?.destroy();
  }
}

/** Waits with a step's limits for work that has no socket of its own (DNS). */
export const waitWithLimits = withLimits;
