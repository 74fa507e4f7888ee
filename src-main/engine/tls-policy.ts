/**
 * The TLS versions Mailroom speaks to mail servers: TLS 1.2 and 1.3, in the
 * connection tests, the outbox and the inbox import alike.
 *
 * The minimum is set explicitly on every client connection rather than
 * left to Node's default, because that default can be lowered from outside
 * (`node --tls-min-v1.0`, or the same in NODE_OPTIONS). TLS 1.0 and 1.1
 * are deprecated (RFC 8996) and Microsoft 365 retires them for POP and
 * IMAP in 2026; a server that speaks nothing newer gets the diagnosis
 * TLS_VERSION_UNSUPPORTED, and the fix is on the server, never here.
 */
import type { SecureVersion } from 'node:tls';
import { MINIMUM_TLS_VERSION as MINIMUM, tlsVersionLabel } from '../shared/diagnosis-vocabulary.js';

/** The oldest TLS version Mailroom accepts from a mail server. Never lowered. */
export const MINIMUM_TLS_VERSION: SecureVersion = MINIMUM;

export { tlsVersionLabel };

/** True for versions below the minimum (what a diagnostic handshake may find). */
export function isRetiredTlsVersion(protocol: string | null | undefined): boolean {
  return protocol === 'TLSv1' || protocol === 'TLSv1.1' || protocol === 'SSLv3' || protocol === 'SSLv2';
}
