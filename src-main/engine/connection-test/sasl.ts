/**
 * SASL pieces the probes send (PLAIN, LOGIN, XOAUTH2) and what Mailroom can
 * read from an OAuth access token without sending it anywhere, to tell an
 * expired token or one for another account from other refusals.
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

/** What an access token says about itself, when it is a readable JWT. */
export interface AccessTokenFacts {
  /** The account it was issued to (upn, preferred_username, unique_name or email claim). */
  account?: string;
  /** Expiry, ms UTC. */
  expiresAt?: number;
}

/**
 * Reads the claims of a JWT access token without verifying it (Mailroom is
 * not the audience; the mail server verifies). Opaque tokens give {}.
 */
export function readAccessToken(token: string): AccessTokenFacts {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return {};
  try {
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
    const account = [claims.upn, claims.preferred_username, claims.unique_name, claims.email].find((v): v is string => typeof v === 'string' && v.includes('@'));
    const facts: AccessTokenFacts = {};
    if (account) facts.account = account;
    if (typeof claims.exp === 'number') facts.expiresAt = claims.exp * 1000;
    return facts;
  } catch {
    return {};
  }
}
