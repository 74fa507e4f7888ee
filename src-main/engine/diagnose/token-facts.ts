/**
 * What the diagnosis rules may know about the OAuth token a failed sign-in
 * used, read from its claims by engine/auth/token-claims.ts: whose token it
 * is (a person's or the app's own), and the first thing wrong with it. The
 * connection tests, the outbox and the inbox import all pass their token
 * through here, so a refused token gets the same code and hint everywhere.
 *
 * Only claims leave this module, never the token.
 */
import type { ServerTestProtocol } from '../../shared/diagnosis.js';
import { decodeAccessToken, missingPermissions, tokenFindings, type TokenProtocol } from '../auth/token-claims.js';
import type { FailureFacts } from './diagnose.js';

/** The token facts of FailureFacts. */
export type TokenFailureFacts = Pick<FailureFacts, 'tokenKind' | 'tokenProblem' | 'tokenAccount' | 'tokenExpiredAt' | 'tokenAudience' | 'tokenPermission' | 'tokenAppId'>;

const PROBLEM_OF_FINDING: Record<string, NonNullable<FailureFacts['tokenProblem']>> = {
  TOKEN_AUDIENCE_GRAPH: 'graph-audience',
  TOKEN_AUDIENCE_WRONG: 'wrong-audience',
  TOKEN_EXPIRED: 'expired',
  TOKEN_APP_ROLE_MISSING: 'permission-missing',
  TOKEN_SCOPE_MISSING: 'permission-missing',
  TOKEN_OTHER_ACCOUNT: 'other-account',
};

/** How a failed sign-in used its token. */
export interface TokenUse {
  protocol: ServerTestProtocol | 'pop';
  /** The XOAUTH2 user name (the mailbox). */
  user?: string;
  /** When the sign-in was tried, ms UTC. */
  at: number;
  /** The admin allowed another account for this mailbox (a person with Full Access to a shared mailbox). */
  allowOtherAccount?: boolean;
}

/**
 * The diagnosis facts of a token: empty for a token that is not a readable
 * JWT (Google's, or a personal Microsoft account's: nothing can be told).
 */
export function tokenFailureFacts(token: string | undefined, use: TokenUse): TokenFailureFacts {
  if (!token) return {};
  const decoded = decodeAccessToken(token);
  if (!decoded.readable) return {};
  const claims = decoded.claims;
  // POP3's Exchange permissions are named POP.*.
  const protocols: TokenProtocol[] = [use.protocol === 'pop3' ? 'pop' : use.protocol];
  const facts: TokenFailureFacts = { tokenKind: claims.kind };
  if (claims.account) facts.tokenAccount = claims.account;
  if (claims.audience) facts.tokenAudience = claims.audience;
  if (claims.appId) facts.tokenAppId = claims.appId;
  if (claims.expiresAt !== null && claims.expiresAt <= use.at) facts.tokenExpiredAt = new Date(claims.expiresAt).toISOString();
  const first = tokenFindings(claims, { protocols, ...(use.user ? { mailbox: use.user } : {}), ...(use.allowOtherAccount ? { allowOtherAccount: true } : {}), now: use.at }).find(
    (f) => PROBLEM_OF_FINDING[f.code],
  );
  if (first) {
    facts.tokenProblem = PROBLEM_OF_FINDING[first.code]!;
    if (facts.tokenProblem === 'permission-missing') facts.tokenPermission = missingPermissions(claims, protocols).join(', ');
  }
  return facts;
}
