/**
 * One reading of socket and TLS errors for every path that talks to a mail
 * server: the connection tests' probes, the outbox (nodemailer) and the
 * inbox import (imapflow). Each library wraps Node's error differently
 * (nodemailer moves Node's code to `originalCode` and puts ESOCKET or ETLS
 * in `code`; some OpenSSL failures carry only EPROTO and the reason in the
 * message), so each used to decide on its own what a TLS failure was, and
 * the same fault got different codes: a server that answers a TLS
 * handshake in plaintext was TLS_MODE_MISMATCH in a connection test but
 * CONNECTION_DROPPED in an import. Here the error is read once, into the
 * error code and failure kind the diagnosis rules match on.
 */
import type { FailureKind } from './diagnose.js';

/** OpenSSL's answer when the server answered the TLS handshake with something that is not TLS (a plaintext greeting, HTTP). */
export const NOT_TLS_ERROR_CODES = ['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_HTTP_REQUEST', 'ERR_SSL_UNKNOWN_PROTOCOL'] as const;

/**
 * OpenSSL's answer when the server offers only TLS versions below Mailroom's
 * minimum: an OpenSSL server sends a protocol_version alert
 * (ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION, measured against Node's `tls`
 * server with maxVersion TLSv1); a server that picks TLS 1.0 or 1.1 in its
 * ServerHello gets "unsupported protocol" or "version too low" from the
 * client itself.
 */
export const TLS_VERSION_ERROR_CODES = ['ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'ERR_SSL_UNSUPPORTED_PROTOCOL', 'ERR_SSL_VERSION_TOO_LOW'] as const;

/** Node's verification errors for a certificate that does not chain to a trusted root. */
export const CERT_UNTRUSTED_CODES = [
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_REJECTED',
  'INVALID_CA',
  'CERT_REVOKED',
] as const;

const CERT_OTHER_CODES = ['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'HOSTNAME_MISMATCH'] as const;

/** Name-resolution failures (getaddrinfo and c-ares codes). */
export const DNS_ERROR_CODES = ['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_NODATA', 'ENODATA', 'ESERVFAIL', 'NXDOMAIN'] as const;
/** The TCP connection could not be made. */
export const CONNECT_ERROR_CODES = ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENETDOWN', 'EHOSTDOWN', 'EACCES'] as const;
/** The server (or something in between) closed or reset an open connection. */
export const CLOSED_ERROR_CODES = ['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_PREMATURE_CLOSE'] as const;

/** What a TLS failure was about. */
export type TlsFailureClass = 'version' | 'not-tls' | 'certificate' | 'handshake';

/** An error as the diagnosis rules read it. */
export interface SocketErrorReading {
  kind: FailureKind;
  /** Node's or OpenSSL's code (ERR_SSL_..., CERT_HAS_EXPIRED, ECONNREFUSED...). */
  errorCode: string;
  /** For TLS failures: which kind. */
  tls?: TlsFailureClass;
}

const has = (list: readonly string[], code: string) => list.includes(code);

/**
 * OpenSSL failures that reach JavaScript without a specific code (EPROTO,
 * or wrapped by a library) still carry OpenSSL's reason text.
 */
export function tlsErrorCodeFromMessage(message: string | undefined): string | undefined {
  if (!message) return undefined;
  if (/wrong version number/i.test(message)) return 'ERR_SSL_WRONG_VERSION_NUMBER';
  if (/packet length too long/i.test(message)) return 'ERR_SSL_PACKET_LENGTH_TOO_LONG';
  if (/http request/i.test(message) && /ssl|tls/i.test(message)) return 'ERR_SSL_HTTP_REQUEST';
  if (/alert protocol version/i.test(message)) return 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION';
  if (/unsupported protocol/i.test(message)) return 'ERR_SSL_UNSUPPORTED_PROTOCOL';
  if (/version too low/i.test(message)) return 'ERR_SSL_VERSION_TOO_LOW';
  if (/alert handshake failure/i.test(message)) return 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE';
  if (/no shared cipher|no ciphers available/i.test(message)) return 'ERR_SSL_NO_SHARED_CIPHER';
  return undefined;
}

/** Codes that say "something about TLS", whatever the library. */
function isTlsCode(code: string): boolean {
  return /^ERR_SSL_|^ERR_TLS_|CERT|SELF_SIGNED|UNABLE_TO_(VERIFY|GET)|HOSTNAME_MISMATCH|ALTNAME/.test(code);
}

/**
 * Reads a socket or TLS error: Node's code (or nodemailer's originalCode),
 * falling back to OpenSSL's reason text. Undefined when it is neither (a
 * timeout, a protocol error, a server reply): those each caller reads with
 * what it knows of its own library.
 */
export function readSocketError(error: { code?: unknown; originalCode?: unknown; message?: unknown } | null | undefined): SocketErrorReading | undefined {
  if (!error) return undefined;
  const own = typeof error.originalCode === 'string' ? error.originalCode : typeof error.code === 'string' ? error.code : undefined;
  const message = typeof error.message === 'string' ? error.message : undefined;
  // Library wrappers (ESOCKET, ETLS, EPROTO) say less than OpenSSL's reason.
  const generic = !own || own === 'ESOCKET' || own === 'ETLS' || own === 'EPROTO' || own === 'ECONNECTION';
  const code = (generic ? tlsErrorCodeFromMessage(message) : undefined) ?? own;
  if (!code) return undefined;
  if (has(DNS_ERROR_CODES, code) || code === 'EDNS') return { kind: 'dns', errorCode: code };
  if (has(CONNECT_ERROR_CODES, code)) return { kind: 'connect', errorCode: code };
  if (has(CLOSED_ERROR_CODES, code)) return { kind: 'closed', errorCode: code };
  if (has(TLS_VERSION_ERROR_CODES, code)) return { kind: 'tls', errorCode: code, tls: 'version' };
  if (has(NOT_TLS_ERROR_CODES, code)) return { kind: 'tls', errorCode: code, tls: 'not-tls' };
  if (has(CERT_UNTRUSTED_CODES, code) || has(CERT_OTHER_CODES, code)) return { kind: 'tls', errorCode: code, tls: 'certificate' };
  if (isTlsCode(code) || code === 'ETLS') return { kind: 'tls', errorCode: code, tls: 'handshake' };
  return undefined;
}
