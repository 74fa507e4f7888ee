/**
 * A real SMTP server for tests: nodemailer's smtp-server on a free port of
 * 127.0.0.1, with PLAIN, LOGIN and XOAUTH2 sign-in (passwords from a table,
 * tokens through a check callback), STARTTLS, implicit TLS or none, and
 * scripted rejections per command. It records every message it accepts.
 *
 *   const peer = await startSmtpPeer({ tls: 'starttls', cert: certs.leaf, users: { 'a@x.test': 'pw' } });
 *   ... peer.port ... peer.messages ...
 *   await peer.stop();
 */
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { AddressInfo } from 'node:net';
import type { CertPair } from './certs';

/** A reply an SMTP command gets instead of success. */
export interface ScriptedRejection {
  code: number;
  message: string;
}

export interface SmtpPeerOptions {
  /** `starttls` (plaintext, STARTTLS offered; the default), `implicit` (TLS from the first byte) or `none` (STARTTLS hidden). */
  tls?: 'starttls' | 'implicit' | 'none';
  /** Certificate for starttls/implicit. */
  cert?: CertPair;
  /** Offered sign-in methods. Default PLAIN, LOGIN, XOAUTH2. */
  authMethods?: Array<'PLAIN' | 'LOGIN' | 'XOAUTH2'>;
  /** Accepted users and passwords. */
  users?: Record<string, string>;
  /**
   * Decides XOAUTH2 tokens: true accepts; an object is sent (base64 JSON)
   * as the failure details, as Gmail and smtp-server do. Default: reject.
   */
  checkToken?: (user: string, token: string) => true | Record<string, string>;
  /** Accept mail without sign-in. Default false. */
  authOptional?: boolean;
  /** Offer and accept AUTH before STARTTLS. Default false (smtp-server then answers 538). */
  allowInsecureAuth?: boolean;
  /** Hide STARTTLS even though TLS is configured. */
  hideSTARTTLS?: boolean;
  /** Message size limit in bytes; smtp-server itself answers a bigger message with its 552. */
  size?: number;
  /** Scripted rejections per command (AUTH replaces the credential check). */
  reject?: Partial<Record<'CONNECT' | 'AUTH' | 'MAIL' | 'RCPT' | 'DATA', ScriptedRejection>>;
}

/** A message the peer accepted. */
export interface ReceivedMessage {
  from: string;
  to: string[];
  user: string | undefined;
  data: string;
}

export interface SmtpPeer {
  host: '127.0.0.1';
  port: number;
  messages: ReceivedMessage[];
  /** Sign-in attempts seen: method and user (never the secret). */
  authAttempts: Array<{ method: string; username: string }>;
  stop(): Promise<void>;
}

function rejection(r: ScriptedRejection): Error & { responseCode: number } {
  return Object.assign(new Error(r.message), { responseCode: r.code });
}

/** Starts the peer on a free port of 127.0.0.1. */
export async function startSmtpPeer(options: SmtpPeerOptions = {}): Promise<SmtpPeer> {
  const mode = options.tls ?? 'starttls';
  const messages: ReceivedMessage[] = [];
  const authAttempts: Array<{ method: string; username: string }> = [];
  const users = options.users ?? {};
  const serverOptions: SMTPServerOptions = {
    logger: false,
    // No reverse DNS of 127.0.0.1 before the greeting: it only adds latency.
    disableReverseLookup: true,
    secure: mode === 'implicit',
    hideSTARTTLS: mode === 'none' || Boolean(options.hideSTARTTLS),
    authMethods: options.authMethods ?? ['PLAIN', 'LOGIN', 'XOAUTH2'],
    authOptional: Boolean(options.authOptional),
    allowInsecureAuth: Boolean(options.allowInsecureAuth),
    ...(options.cert && mode !== 'none' ? { key: options.cert.key, cert: options.cert.cert } : {}),
    ...(options.size ? { size: options.size, rejectOversized: true } : {}),
    onConnect(_session, callback) {
      callback(options.reject?.CONNECT ? rejection(options.reject.CONNECT) : undefined);
    },
    onAuth(auth, _session, callback) {
      authAttempts.push({ method: auth.method, username: auth.username ?? '' });
      if (options.reject?.AUTH) return callback(rejection(options.reject.AUTH));
      if (auth.method === 'XOAUTH2') {
        const verdict = options.checkToken ? options.checkToken(auth.username ?? '', auth.accessToken ?? '') : { status: '401', schemes: 'bearer', scope: 'https://mail.google.com/' };
        if (verdict === true) return callback(null, { user: auth.username });
        return callback(null, { data: verdict } as never);
      }
      const expected = auth.username !== undefined ? users[auth.username] : undefined;
      if (expected !== undefined && auth.password === expected) return callback(null, { user: auth.username });
      return callback(rejection({ code: 535, message: 'Error: Authentication credentials invalid' }));
    },
    onMailFrom(_address, _session, callback) {
      callback(options.reject?.MAIL ? rejection(options.reject.MAIL) : undefined);
    },
    onRcptTo(_address, _session, callback) {
      callback(options.reject?.RCPT ? rejection(options.reject.RCPT) : undefined);
    },
    onData(stream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (options.reject?.DATA) return callback(rejection(options.reject.DATA));
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: typeof session.user === 'string' ? session.user : undefined,
          data: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  };
  const server = new SMTPServer(serverOptions);
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    messages,
    authAttempts,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
