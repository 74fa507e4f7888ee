/**
 * SASL pieces the probes send (PLAIN, LOGIN, XOAUTH2). What an access token
 * says about itself is read by engine/auth/token-claims.ts.
 */

/** base64 of the SASL PLAIN message: authorization id (empty), user, password. */
export function plainBlob(user: string, password: string): string {
  return Buffer.from(`\u0000${user}\u0000${password}`, 'utf8').toString('base64');
}

/** base64 of the XOAUTH2 initial response: `user=<u>^Aauth=Bearer <t>^A^A`. */
export function xoauth2Blob(user: string, token: string): string {
  return Buffer.from(`user=${user}\u0001auth=Bearer ${token}\u0001\u0001`, 'utf8').toString('base64');
}

/** base64 of a text (LOGIN user name and password). */
export function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/**
 * Decodes a server's base64 SASL challenge when it is printable text (the
 * XOAUTH2 error JSON, LOGIN's "Username:"); undefined otherwise.
 */
export function decodeChallenge(encoded: string): string | undefined {
  const text = encoded.trim();
  if (!text || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const decoded = Buffer.from(text, 'base64').toString('utf8');
  return /^[\x20-\x7e\t]+$/.test(decoded) ? decoded : undefined;
}
