/**
 * Microsoft 365 OAuth 2.0 and autodetect vocabulary shared by the engine, the
 * IPC contract, the CLI and the renderer: the app-registration settings, the
 * per-mailbox token health, the sign-in status, and the evidence of a
 * detection. Imports nothing from node or electron.
 */
import { z } from 'zod';
import { MailboxId, SECURITY_MODES, PRESET_IDS } from './mailbox.js';

/**
 * The delegated scopes Mailroom asks for: IMAP and SMTP AUTH on Exchange
 * Online, and `offline_access` so the sign-in yields a refresh token.
 */
export const OAUTH_SCOPES = [
  'https://outlook.office.com/IMAP.AccessAsUser.All',
  'https://outlook.office.com/SMTP.Send',
  'offline_access',
] as const;

/** The scopes an access token must carry to be useful (OAUTH_SCOPES without offline_access). */
export const OAUTH_RESOURCE_SCOPES = OAUTH_SCOPES.filter((s) => s !== 'offline_access');

/**
 * The delegated Microsoft Graph permissions a mailbox that sends or receives
 * through Graph needs (issue 16): Mail.Send for sendMail, Mail.ReadWrite for
 * the delta query, $value, mark read, move and delete. Asked for with the
 * same sign-in as IMAP and SMTP: its refresh token gets Graph tokens too.
 */
export const GRAPH_DELEGATED_SCOPES = ['https://graph.microsoft.com/Mail.Send', 'https://graph.microsoft.com/Mail.ReadWrite'] as const;

/**
 * What a person signed in for a shared mailbox (Full Access, "Allow another
 * account") also needs for Graph: the .Shared permissions let a delegated
 * token read and send for a mailbox other than the person's own
 * (https://learn.microsoft.com/en-us/graph/outlook-share-messages-folders).
 */
export const GRAPH_SHARED_DELEGATED_SCOPES = ['https://graph.microsoft.com/Mail.Send.Shared', 'https://graph.microsoft.com/Mail.ReadWrite.Shared'] as const;

/** The resource an access token is asked for: Exchange Online (IMAP, POP, SMTP) or Microsoft Graph. */
export type TokenResource = 'exchange' | 'graph';
/** Exchange Online's delegated POP3 scope (with its resource, so it is never taken for a Graph scope). */
export const POP_SCOPE = 'https://outlook.office.com/POP.AccessAsUser.All';

/**
 * The delegated scopes a mailbox's sign-in asks for: IMAP's, or POP's for
 * a mailbox that reads its mail over POP3 (a token carries only the
 * permissions asked for and consented to), with SMTP.Send and
 * offline_access.
 */
export function oauthScopesFor(mailbox: { receiveVia?: string }): string[] {
  return mailbox.receiveVia === 'pop3' ? OAUTH_SCOPES.map((s) => (s.endsWith('/IMAP.AccessAsUser.All') ? POP_SCOPE : s)) : [...OAUTH_SCOPES];
}

/** The scopes a mailbox's access token must carry (oauthScopesFor without offline_access). */
export function oauthResourceScopesFor(mailbox: { receiveVia?: string }): string[] {
  return oauthScopesFor(mailbox).filter((s) => s !== 'offline_access');
}

/** The public Microsoft cloud's sign-in host. Sovereign clouds use their own (see the README). */
export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';

/** How long a sign-in waits for the browser by default: 5 minutes. */
export const DEFAULT_SIGN_IN_TIMEOUT_SECONDS = 300;

/** Error codes of sign-in, tokens and detection, stable across versions. */
export const OAUTH_ERROR_CODES = [
  'OAUTH_NOT_CONFIGURED',
  'OAUTH_NOT_SIGNED_IN',
  'OAUTH_SIGN_IN_REQUIRED',
  'OAUTH_SIGN_IN_FAILED',
  'OAUTH_SIGN_IN_CANCELLED',
  'OAUTH_SIGN_IN_TIMEOUT',
  'OAUTH_CONSENT_REQUIRED',
  'OAUTH_WRONG_ACCOUNT',
  'OAUTH_TOKEN_REJECTED',
  'OAUTH_NETWORK',
  'OAUTH_TENANT_NOT_FOUND',
  /** No longer raised: an unreachable sign-in server is OAUTH_NETWORK (naming the host) everywhere. Kept so old log entries keep their meaning. */
  'OAUTH_AUTHORITY_UNREACHABLE',
  'OAUTH_CLIENT_SECRET_INVALID',
  'OAUTH_CLIENT_SECRET_EXPIRED',
  'OAUTH_CLIENT_CERTIFICATE_INVALID',
  /** The app-only client secret expires within 30 days (a warning, not a failure). */
  'OAUTH_CLIENT_SECRET_EXPIRING',
  /** The app-only certificate expires within 30 days (a warning), or has expired. */
  'OAUTH_CLIENT_CERTIFICATE_EXPIRING',
  'OAUTH_CLIENT_CERTIFICATE_EXPIRED',
  /** A certificate file for app-only access cannot be read, its password is wrong, or its key is another certificate's. */
  'CERTIFICATE_UNREADABLE',
  'CERTIFICATE_PASSWORD_WRONG',
  'CERTIFICATE_KEY_MISMATCH',
  'DETECT_INVALID_ADDRESS',
  /** Send now or Retry of a message whose mailbox needs a Microsoft sign-in: it waits, keeping its tries. */
  'OUTBOX_WAITING_FOR_SIGN_IN',
] as const;
/** One of OAUTH_ERROR_CODES. */
export type OAuthErrorCode = (typeof OAUTH_ERROR_CODES)[number];

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/** True for a GUID such as 00000000-0000-0000-0000-000000000000. */
export function isGuid(value: string): boolean {
  return GUID.test(value);
}

/** The Application (client) ID of the admin's own app registration. */
export const ClientId = z
  .string({ error: 'is required: copy the Application (client) ID from the app registration\'s Overview page' })
  .trim()
  .min(1, { error: 'is required: copy the Application (client) ID from the app registration\'s Overview page' })
  .refine((v) => GUID.test(v), {
    error: 'must be the Application (client) ID from the app registration\'s Overview page: 36 characters such as 0b7c1a2d-1234-4cde-8f90-1a2b3c4d5e6f',
  })
  .transform((v) => v.toLowerCase());

/**
 * The tenant: its Directory (tenant) ID, a verified domain such as
 * contoso.onmicrosoft.com, or `organizations` (any work or school account).
 */
export const Tenant = z
  .string({ error: 'is required: copy the Directory (tenant) ID from the app registration\'s Overview page' })
  .trim()
  .min(1, { error: 'is required: copy the Directory (tenant) ID from the app registration\'s Overview page' })
  .refine((v) => GUID.test(v) || DOMAIN.test(v) || ['organizations', 'common', 'consumers'].includes(v.toLowerCase()), {
    error: 'must be the Directory (tenant) ID (a GUID), a verified domain such as contoso.onmicrosoft.com, or "organizations"',
  })
  .transform((v) => v.toLowerCase());

/** The sign-in host of the cloud: https only, no path, query or fragment. */
export const AuthorityHost = z
  .string({ error: 'must be a URL such as https://login.microsoftonline.com' })
  .trim()
  .refine(
    (v) => {
      try {
        const u = new URL(v);
        return u.protocol === 'https:' && !u.username && !u.password && !u.search && !u.hash && (u.pathname === '/' || u.pathname === '');
      } catch {
        return false;
      }
    },
    { error: 'must be an https:// address without a path, such as https://login.microsoftonline.com (the tenant is a separate setting)' },
  )
  .transform((v) => new URL(v).origin);

/** The host name the loopback redirect uses. It must match the redirect URI registered in Entra. */
export const REDIRECT_HOSTS = ['localhost', '127.0.0.1'] as const;
/** The redirect host as input. */
export const RedirectHost = z.enum(REDIRECT_HOSTS, { error: 'must be localhost or 127.0.0.1 (the host of the redirect URI you registered)' });
export type RedirectHost = (typeof REDIRECT_HOSTS)[number];

/** The app-registration settings as saved. */
export const OAuthSettings = z.object({
  /** False until the admin saves a client id and tenant. */
  configured: z.boolean(),
  tenant: z.string(),
  clientId: z.string(),
  /** The cloud's sign-in host, e.g. https://login.microsoftonline.com. */
  authorityHost: z.string(),
  /** The full authority msal uses: authorityHost + '/' + tenant. */
  authority: z.string(),
  redirectHost: RedirectHost,
  /** The redirect URI to register in Entra (without a port: Entra ignores the port of loopback redirects). */
  redirectUriToRegister: z.string(),
  updatedAt: z.number().int().nullable(),
});
export type OAuthSettings = z.infer<typeof OAuthSettings>;

/** Input to save or check the app-registration settings. */
export const OAuthSettingsInput = z
  .object({
    tenant: Tenant,
    clientId: ClientId,
    authorityHost: AuthorityHost.optional(),
    redirectHost: RedirectHost.optional(),
  })
  .strict();
export type OAuthSettingsInput = z.input<typeof OAuthSettingsInput>;

/** One check of the settings, as a step with a status. */
export const SettingsCheck = z.object({
  field: z.string(),
  status: z.enum(['success', 'warning', 'error', 'info']),
  message: z.string(),
});
export type SettingsCheck = z.infer<typeof SettingsCheck>;

/** What checking the settings found. */
export const OAuthSettingsValidation = z.object({
  /** False when a check failed; warnings (for example offline) do not make it false. */
  valid: z.boolean(),
  checks: z.array(SettingsCheck),
  /** The tenant's GUID, when the authority answered. */
  tenantId: z.string().optional(),
});
export type OAuthSettingsValidation = z.infer<typeof OAuthSettingsValidation>;

/** An error as stored and shown: code, plain words, what to change. */
export const StoredError = z.object({
  code: z.string(),
  message: z.string(),
  hint: z.string().optional(),
  at: z.number().int(),
});
export type StoredError = z.infer<typeof StoredError>;

/**
 * A mailbox's OAuth state:
 * - `not-signed-in`: no sign-in yet (or signed out).
 * - `signed-in`: a refresh token is stored; access tokens refresh themselves.
 * - `sign-in-required`: the refresh token stopped working (consent revoked, password changed, app registration changed): sign in again.
 */
export const OAUTH_STATES = ['not-signed-in', 'signed-in', 'sign-in-required'] as const;
export type OAuthState = (typeof OAUTH_STATES)[number];

/** Token health of one mailbox: everything but the tokens. */
export const TokenHealth = z.object({
  mailboxId: z.number().int(),
  state: z.enum(OAUTH_STATES),
  /** The signed-in account (its UPN or preferred user name). */
  account: z.string().nullable(),
  accountName: z.string().nullable(),
  tenantId: z.string().nullable(),
  /** Scopes the last token was granted. */
  scopes: z.array(z.string()),
  /** Scopes Mailroom needs that the last token did not carry. */
  missingScopes: z.array(z.string()),
  /** When the current access token expires (ms UTC); it is refreshed before then. */
  accessTokenExpiresAt: z.number().int().nullable(),
  signedInAt: z.number().int().nullable(),
  lastRefreshAt: z.number().int().nullable(),
  lastError: StoredError.nullable(),
  /** The mailbox's sign-in name (IMAP user name), which the account should match. */
  expectedAccount: z.string(),
  /** True when the account differs from the expected one and the admin allowed it (shared mailbox, delegated access). */
  otherAccountAllowed: z.boolean(),
  /** `app` when the mailbox signs in as the organisation's app registration (client credentials); absent or `delegated` for a person's sign-in. */
  kind: z.enum(['delegated', 'app']).optional(),
  /** App-only: the client id, the credential kind and its expiry (a secret's when known; a certificate's always). */
  appOnly: z
    .object({
      clientId: z.string(),
      credential: z.enum(['secret', 'certificate']).nullable(),
      secretExpiry: z
        .object({
          credential: z.enum(['secret', 'certificate']),
          state: z.enum(['ok', 'soon', 'expired']),
          expiresAt: z.number().int(),
          daysLeft: z.number().int(),
          source: z.enum(['entered', 'learned', 'certificate']),
          message: z.string(),
        })
        .nullable(),
      certificateNotAfter: z.number().int().nullable(),
    })
    .optional(),
});
export type TokenHealth = z.infer<typeof TokenHealth>;

/** Why a mailbox cannot get tokens until someone signs in (its mail waits for it). */
export const SignInNeeded = z.object({
  /** OAUTH_NOT_CONFIGURED, OAUTH_NOT_SIGNED_IN, OAUTH_SIGN_IN_REQUIRED, or the failure that asked for a new sign-in. */
  code: z.string(),
  message: z.string(),
  /** What to do: the one action ("Sign in again"), where, and the command. */
  hint: z.string(),
  /** Since when (ms UTC), when known. */
  since: z.number().int().nullable(),
});
export type SignInNeeded = z.infer<typeof SignInNeeded>;

/** The sign-in of one mailbox that uses OAuth 2.0, for lists (the Mailboxes screen's "Sign-in needed"). */
export const MailboxSignIn = z.object({
  mailboxId: z.number().int(),
  state: z.enum(OAUTH_STATES),
  /** Set while the mailbox needs a sign-in (or Microsoft 365 sign-in is not set up). */
  needed: SignInNeeded.nullable(),
  /** Outbox messages of the mailbox that wait for the sign-in. */
  waitingMessages: z.number().int(),
});
export type MailboxSignIn = z.infer<typeof MailboxSignIn>;

/** Where a sign-in stands. */
export const SIGN_IN_STATES = ['waiting', 'exchanging', 'succeeded', 'failed', 'cancelled', 'timed-out'] as const;
export type SignInState = (typeof SIGN_IN_STATES)[number];

/** A sign-in in progress or just finished. */
export const SignInStatus = z.object({
  signInId: z.string(),
  mailboxId: z.number().int(),
  state: z.enum(SIGN_IN_STATES),
  /** The Microsoft sign-in page to open in a browser. */
  url: z.string(),
  /** Where the browser comes back: a listener on this computer only. */
  redirectUri: z.string(),
  startedAt: z.number().int(),
  /** When the sign-in gives up waiting (ms UTC). */
  deadline: z.number().int(),
  /** True when the engine opened the system browser itself (desktop app). */
  opened: z.boolean(),
  /** Responses that reached the listener but did not belong to this sign-in (wrong state): ignored. */
  rejectedResponses: z.number().int(),
  account: z.string().nullable(),
  /** Why it failed; `detail` holds the sign-in library's own words (never the message). */
  error: z.object({ code: z.string(), message: z.string(), hint: z.string().optional(), detail: z.string().optional() }).nullable(),
  finishedAt: z.number().int().nullable(),
});
export type SignInStatus = z.infer<typeof SignInStatus>;

/** A sign-in id as passed back by the caller. */
export const SignInId = z
  .string({ error: 'must be the signInId returned when the sign-in began' })
  .trim()
  .regex(/^[A-Za-z0-9_-]{8,64}$/, { error: 'must be the signInId returned when the sign-in began' });

/** Input to begin a sign-in. */
export const BeginSignInInput = z
  .object({
    mailboxId: MailboxId,
    /** Accept an account other than the mailbox's sign-in name (a shared mailbox reached through a user with access). */
    allowOtherAccount: z.boolean().optional(),
    /** Seconds to wait for the browser: 10 to 3600, default 300. */
    timeoutSeconds: z.coerce
      .number({ error: 'must be a whole number of seconds from 10 to 3600' })
      .int({ error: 'must be a whole number of seconds from 10 to 3600' })
      .min(10, { error: 'must be at least 10 seconds' })
      .max(3600, { error: 'must be at most 3600 seconds (one hour)' })
      .optional(),
    /** Ask the engine to open the system browser when it can (desktop app). */
    openBrowser: z.boolean().optional(),
  })
  .strict();
export type BeginSignInInput = z.input<typeof BeginSignInInput>;

// ---------------------------------------------------------------------------
// Autodetect

/** The steps of a detection, in the order they run. */
export const DETECT_STEPS = ['mx', 'user-realm', 'autoconfig', 'autoconfig-well-known', 'provider-table'] as const;
export type DetectStepName = (typeof DETECT_STEPS)[number];

/** One piece of evidence. */
export const DetectEvidence = z.object({
  step: z.enum(DETECT_STEPS),
  /** success: found something; info: ran and found nothing special; warning: could not run (offline, timeout); error: failed unexpectedly; skipped: not needed. */
  status: z.enum(['success', 'info', 'warning', 'error', 'skipped']),
  title: z.string(),
  summary: z.string(),
  /** Raw facts: MX hosts, realm fields, the URL fetched. */
  details: z.array(z.string()),
  durationMs: z.number().int(),
});
export type DetectEvidence = z.infer<typeof DetectEvidence>;

const ProposedServer = z.object({
  host: z.string(),
  port: z.number().int(),
  security: z.enum(SECURITY_MODES),
  auth: z.enum(['password', 'oauth2', 'none']),
  username: z.string(),
});

/** Settings proposed from the evidence. */
export const DetectProposal = z.object({
  preset: z.enum(PRESET_IDS),
  providerLabel: z.string(),
  imap: ProposedServer.nullable(),
  smtp: ProposedServer.nullable(),
  /**
   * The POP3 server, when the provider offers one (Microsoft 365, Gmail, an
   * autoconfig file with `<incomingServer type="pop3">`): the form offers it
   * under Incoming: POP3. Absent in results of older versions.
   */
  pop3: ProposedServer.nullable().default(null),
  /** Which step the servers came from. */
  source: z.enum(DETECT_STEPS).nullable(),
});
export type DetectProposal = z.infer<typeof DetectProposal>;

/** Microsoft's user-realm answer, when it was asked. */
export const UserRealm = z.object({
  namespaceType: z.enum(['Managed', 'Federated', 'Unknown']),
  domainName: z.string().nullable(),
  brandName: z.string().nullable(),
  cloudInstance: z.string().nullable(),
  /** The federation server's sign-in page (federated tenants only). */
  federationUrl: z.string().nullable(),
});
export type UserRealm = z.infer<typeof UserRealm>;

/** What a detection found. */
export const DetectResult = z.object({
  address: z.string(),
  domain: z.string(),
  /** The conclusion in one line. */
  summary: z.string(),
  microsoft365: z.boolean(),
  /** How sure: `confirmed` (two or more signs agree), `likely` (one sign), `unknown`. */
  confidence: z.enum(['confirmed', 'likely', 'unknown']),
  evidence: z.array(DetectEvidence),
  proposal: DetectProposal,
  realm: UserRealm.nullable(),
  /** Things the admin should know, e.g. that the sign-in name (UPN) can differ from the address. */
  warnings: z.array(z.string()),
  /** True when no network step could run. */
  offline: z.boolean(),
});
export type DetectResult = z.infer<typeof DetectResult>;
