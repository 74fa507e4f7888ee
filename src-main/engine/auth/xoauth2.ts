/**
 * SASL XOAUTH2, as Exchange Online, Gmail and Dovecot's oauth2 passdb take it:
 * base64("user=" user ^A "auth=Bearer " token ^A ^A).
 * The result is a secret: never log it, never put it in a transcript.
 */
import { AppError } from '../../shared/errors.js';

/** Builds the base64 XOAUTH2 initial response for a user and an access token. */
export function buildXOAuth2(user: string, accessToken: string): string {
  if (!user || /[\x00-\x1f]/.test(user)) {
    throw new AppError('VALIDATION_FAILED', 'The XOAUTH2 user name is empty or contains control characters.', {
      hint: 'Set the mailbox\'s user name to the mailbox address (or its UPN).',
    });
  }
  if (!accessToken || /[\x00-\x20]/.test(accessToken)) {
    throw new AppError('OAUTH_TOKEN_REJECTED', 'The access token is empty or malformed.', { hint: 'Sign in with Microsoft again.' });
  }
  return Buffer.from(`user=${user}\x01auth=Bearer ${accessToken}\x01\x01`, 'utf8').toString('base64');
}

/** Reads an XOAUTH2 initial response back (for servers and tests). Returns undefined when it is not one. */
export function parseXOAuth2(base64: string): { user: string; accessToken: string } | undefined {
  const text = Buffer.from(base64, 'base64').toString('utf8');
  const match = /^user=([^\x01]*)\x01auth=Bearer ([^\x01]+)\x01\x01$/.exec(text);
  return match ? { user: match[1]!, accessToken: match[2]! } : undefined;
}

/**
 * The JSON error a server sends back (base64) when it rejects an XOAUTH2
 * token, e.g. {"status":"401","schemes":"bearer","scope":"..."}. Returns the
 * decoded text or undefined when the challenge is not base64 JSON.
 */
export function decodeXOAuth2Challenge(base64: string): string | undefined {
  try {
    const text = Buffer.from(base64.trim(), 'base64').toString('utf8');
    JSON.parse(text);
    return text;
  } catch {
    return undefined;
  }
}
