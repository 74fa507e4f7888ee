/**
 * Turns what Microsoft Entra (through msal) says into a stable code, plain
 * words and what to change. Data-driven: one rule per AADSTS code or OAuth
 * error, first match wins. `signInRequired` rules move the mailbox to the
 * "sign in again" state, so workers stop retrying a dead refresh token.
 *
 * Some codes mean different things for Mailroom's two kinds of client: the
 * public client of a person's sign-in (no secret: AADSTS7000218 means the
 * registration is a web app) and the confidential client of app-only access
 * (client secret or certificate: AADSTS7000215 means the secret is wrong).
 * A rule may name the clients it is for. Texts are Microsoft's own, from
 * "Microsoft Entra authentication and authorization error codes"
 * (learn.microsoft.com/entra/identity-platform/reference-error-codes).
 */
import { AppError } from '../../shared/errors.js';

/** Which client asked for the token: a person's sign-in (public, no secret) or app-only access (confidential: secret or certificate). */
export type TokenClientKind = 'public' | 'confidential';

/** One rule: what a failure looks like, and what it means. */
export interface TokenErrorRule {
  /** Tested against "errorCode: errorMessage" of the failure. */
  pattern: RegExp;
  code: string;
  /** Plain words; the server's own first sentence is appended. */
  summary: string;
  hint: string;
  signInRequired: boolean;
  /** The clients this rule is for; all when absent. */
  clients?: readonly TokenClientKind[];
}

const SIGN_IN_AGAIN = 'Sign in with Microsoft again on the mailbox ("Change OAuth" in the app, or: mailroom oauth login <mailbox>).';

/** The rules, most specific first. */
export const TOKEN_ERROR_RULES: readonly TokenErrorRule[] = [
  // ---- App-only access (client credentials) ------------------------------
  {
    // "AADSTS7000222: InvalidClientSecretExpiredKeysProvided - The provided client secret keys are expired."
    pattern: /AADSTS7000222/,
    code: 'OAUTH_CLIENT_SECRET_EXPIRED',
    summary: 'The client secret of the app registration has expired.',
    hint: 'In the app registration > Certificates & secrets, create a new client secret, enter its Value in Mailroom and note its expiry date (Mailroom warns 30 days ahead); or use a certificate instead of a secret.',
    signInRequired: true,
  },
  {
    // "AADSTS7000215: Invalid client secret is provided."
    pattern: /AADSTS7000215/,
    code: 'OAUTH_CLIENT_SECRET_INVALID',
    summary: 'Microsoft refused the client secret: it is not a secret of this app registration.',
    hint: 'Enter the secret\'s Value (shown once, when it is created), not its Secret ID; check that it belongs to the app registration whose client id is configured; or create a new secret (app registration > Certificates & secrets).',
    signInRequired: true,
    clients: ['confidential'],
  },
  {
    // "AADSTS700027: Client assertion contains an invalid signature."; AADSTS700024: "Client assertion is not within its valid time range."
    pattern: /AADSTS700027|AADSTS700024/,
    code: 'OAUTH_CLIENT_CERTIFICATE_INVALID',
    summary: 'Microsoft refused the certificate Mailroom signed in with.',
    hint: 'Upload this certificate (its public part, .cer or .pem) to the app registration > Certificates & secrets > Certificates, or choose the certificate that is there; check that it has not expired and that this PC\'s clock is right.',
    signInRequired: true,
    clients: ['confidential'],
  },
  {
    // "AADSTS7000112: UnauthorizedClientApplicationDisabled - The application is disabled."
    pattern: /AADSTS7000112/,
    code: 'OAUTH_NOT_CONFIGURED',
    summary: 'The app registration is disabled in this tenant.',
    hint: 'In the Entra admin center > Enterprise applications > the app > Properties, set "Enabled for users to sign-in?" to Yes.',
    signInRequired: true,
  },
  {
    // "AADSTS1002012: The provided value for scope ... is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier."
    pattern: /AADSTS1002012/,
    code: 'OAUTH_NOT_CONFIGURED',
    summary: 'App-only access asked for named scopes; client credentials take only the resource\'s .default scope.',
    hint: 'Ask for https://outlook.office365.com/.default; the application permissions (IMAP.AccessAsApp, POP.AccessAsApp, SMTP.SendAsApp) come from the app registration and its admin consent.',
    signInRequired: true,
    clients: ['confidential'],
  },

  {
    pattern: /AADSTS50173|AADSTS50133|AADSTS50089/,
    code: 'OAUTH_SIGN_IN_REQUIRED',
    summary: 'Microsoft no longer accepts the stored sign-in: it was revoked, or the account\'s password was changed or reset.',
    hint: SIGN_IN_AGAIN,
    signInRequired: true,
  },
  {
    pattern: /AADSTS700082|AADSTS70008|AADSTS700084/,
    code: 'OAUTH_SIGN_IN_REQUIRED',
    summary: 'The stored sign-in expired because it was not used for too long.',
    hint: SIGN_IN_AGAIN,
    signInRequired: true,
  },
  {
    pattern: /AADSTS65001|consent_required/,
    code: 'OAUTH_CONSENT_REQUIRED',
    summary: 'Consent for Mailroom\'s app registration is missing or was revoked.',
    hint: 'In the Entra admin center, open the app registration > API permissions, add IMAP.AccessAsUser.All and SMTP.Send (Office 365 Exchange Online) and select "Grant admin consent"; then sign in again.',
    signInRequired: true,
  },
  {
    pattern: /AADSTS65004|access_denied/,
    code: 'OAUTH_SIGN_IN_CANCELLED',
    summary: 'The sign-in was cancelled or consent was declined at Microsoft.',
    hint: 'Start the sign-in again and accept the permissions, or ask a Global Administrator to grant admin consent for the app registration.',
    signInRequired: false,
  },
  {
    pattern: /AADSTS50076|AADSTS50079|AADSTS50158|interaction_required/,
    code: 'OAUTH_SIGN_IN_REQUIRED',
    summary: 'Microsoft requires an interactive sign-in (multi-factor authentication or another check).',
    hint: SIGN_IN_AGAIN,
    signInRequired: true,
  },
  {
    pattern: /AADSTS53003|AADSTS53000|AADSTS53001/,
    code: 'OAUTH_SIGN_IN_REQUIRED',
    summary: 'A Conditional Access policy of the tenant blocks this sign-in.',
    hint: 'Ask the tenant\'s administrator to allow the sign-in (Entra admin center > Sign-in logs shows which policy), then sign in again.',
    signInRequired: true,
  },
  {
    pattern: /AADSTS50057|AADSTS50053|AADSTS50055/,
    code: 'OAUTH_SIGN_IN_REQUIRED',
    summary: 'The account is disabled, locked or its password expired.',
    hint: 'Unblock the account or reset its password in the Microsoft 365 admin center, then sign in again.',
    signInRequired: true,
  },
  {
    pattern: /AADSTS700016/,
    code: 'OAUTH_NOT_CONFIGURED',
    summary: 'The Application (client) ID is not registered in this tenant.',
    hint: 'Check the client id and the tenant in Mailroom\'s OAuth settings against the app registration\'s Overview page.',
    signInRequired: true,
  },
  {
    pattern: /AADSTS90002|AADSTS90023/,
    code: 'OAUTH_TENANT_NOT_FOUND',
    summary: 'The tenant in Mailroom\'s OAuth settings does not exist.',
    hint: 'Enter the Directory (tenant) ID from the app registration\'s Overview page, or the tenant\'s onmicrosoft.com domain.',
    signInRequired: true,
  },
  {
    pattern: /AADSTS7000218|AADSTS7000215|client_assertion|client_secret/,
    clients: ['public'],
    code: 'OAUTH_NOT_CONFIGURED',
    summary: 'The app registration is set up as a web app, so Microsoft wants a client secret that a desktop app must not hold.',
    hint: 'In the app registration > Authentication, add the platform "Mobile and desktop applications" with redirect URI http://localhost and set "Allow public client flows" to Yes.',
    signInRequired: true,
  },
  {
    pattern: /AADSTS50011/,
    code: 'OAUTH_NOT_CONFIGURED',
    summary: 'The redirect URI is not registered for the app.',
    hint: 'In the app registration > Authentication > Mobile and desktop applications, add the redirect URI shown in Mailroom\'s OAuth settings (http://localhost).',
    signInRequired: false,
  },
  {
    pattern: /AADSTS500011|AADSTS70011|invalid_scope/,
    code: 'OAUTH_CONSENT_REQUIRED',
    summary: 'Microsoft refused the permissions Mailroom asks for (IMAP.AccessAsUser.All, SMTP.Send).',
    hint: 'Add both permissions from "Office 365 Exchange Online" (not Microsoft Graph) under API permissions, grant admin consent, and check the tenant has Exchange Online.',
    signInRequired: true,
  },
  {
    pattern: /^invalid_grant|no_tokens_found|no_account_found|refresh_token_expired|native_account_unavailable/,
    code: 'OAUTH_SIGN_IN_REQUIRED',
    summary: 'The stored sign-in is no longer valid.',
    hint: SIGN_IN_AGAIN,
    signInRequired: true,
  },
  {
    pattern: /network_error|Network request failed|Request timeout|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|fetch failed/i,
    code: 'OAUTH_NETWORK',
    summary: 'Microsoft\'s sign-in service could not be reached.',
    hint: 'Check this computer\'s internet connection, proxy and firewall (login.microsoftonline.com must be reachable on port 443). The stored sign-in is kept.',
    signInRequired: false,
  },
];

/** The server's first sentence, without trace and correlation ids. */
function firstSentence(text: string): string {
  const cleaned = text.replace(/\s+/g, ' ').replace(/\s*Trace ID:.*$/i, '').trim();
  return cleaned.length > 300 ? `${cleaned.slice(0, 297)}...` : cleaned;
}

/** The AADSTS code a failure names (AADSTS7000222...), when it names one. */
export function aadstsCode(error: unknown): string | undefined {
  const e = error as { errorCode?: string; errorMessage?: string; message?: string } | null;
  const text = `${e?.errorCode ?? ''} ${e?.errorMessage ?? ''} ${e?.message ?? (typeof error === 'string' ? error : '')}`;
  return /\bAADSTS\d+\b/.exec(text)?.[0];
}

/**
 * What a token failure means: an AppError to raise and whether to ask for a
 * new sign-in. `client` says who asked: `public` (a person's sign-in, the
 * default) or `confidential` (app-only access with a secret or certificate).
 */
export function classifyTokenError(error: unknown, options: { client?: TokenClientKind } = {}): { error: AppError; signInRequired: boolean } {
  if (error instanceof AppError) return { error, signInRequired: error.code === 'OAUTH_SIGN_IN_REQUIRED' };
  const client = options.client ?? 'public';
  const e = error as { errorCode?: string; errorMessage?: string; subError?: string; message?: string } | null;
  const code = e?.errorCode ?? '';
  const message = e?.errorMessage || e?.message || String(error);
  const text = `${code}: ${message} ${e?.subError ?? ''}`;
  const rule = TOKEN_ERROR_RULES.find((r) => (!r.clients || r.clients.includes(client)) && (r.pattern.test(text) || r.pattern.test(code)));
  const server = firstSentence(message);
  if (rule) {
    return {
      error: new AppError(rule.code, server && !rule.summary.includes(server) ? `${rule.summary} Microsoft said: ${server}` : rule.summary, { hint: rule.hint, cause: error }),
      signInRequired: rule.signInRequired,
    };
  }
  return {
    error: new AppError('OAUTH_SIGN_IN_FAILED', `Getting a token failed: ${code ? `${code}: ` : ''}${server}`, {
      hint: 'Try again; if it keeps failing, sign in with Microsoft again and check the OAuth settings.',
      cause: error,
    }),
    signInRequired: false,
  };
}
