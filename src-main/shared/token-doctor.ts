/**
 * The token doctor's vocabulary, shared by the engine, the IPC contract, the
 * CLI and the renderer: what a mailbox's OAuth token says about itself (its
 * claims, never the token) and what is wrong, each finding as
 * `{ code, summary, hint }`. Imports nothing from node or electron.
 */
import { z } from 'zod';
import { MailboxId } from './mailbox.js';

/**
 * The doctor's own finding codes, stable across versions, with a short title
 * each: what the token's claims say (TOKEN_AUDIENCE_GRAPH ...), and what a
 * server's refusal means for a token whose claims look right
 * (TOKEN_APP_NOT_AUTHORIZED ...), and where Microsoft Graph goes around a
 * protocol Microsoft 365 refuses (GRAPH_SUGGESTED_FOR_SENDING when SMTP AUTH
 * is off, GRAPH_SUGGESTED_FOR_RECEIVING when IMAP may be). Besides these, a finding may carry a
 * sign-in code (OAUTH_CONSENT_REQUIRED, OAUTH_CLIENT_SECRET_INVALID, ...: no
 * token could be had), a connection-test diagnosis code (SMTP_AUTH_DISABLED,
 * BASIC_AUTH_RETIRED, ...: a real sign-in failed) or RELAY_FROM_NOT_ALLOWED.
 */
export const TOKEN_FINDING_TITLES = {
  TOKEN_AUDIENCE_GRAPH: 'Token for Microsoft Graph, not Exchange Online',
  TOKEN_AUDIENCE_WRONG: 'Token for another service',
  TOKEN_EXPIRED: 'Token expired',
  TOKEN_APP_ROLE_MISSING: 'App-only token lacks an application permission',
  TOKEN_SCOPE_MISSING: 'Token lacks a delegated permission',
  TOKEN_OTHER_ACCOUNT: 'Token of another account',
  TOKEN_TENANT_MISMATCH: 'Token from another tenant',
  TOKEN_CLIENT_MISMATCH: 'Token of another app registration',
  TOKEN_APP_NO_MAILBOX_PERMISSION: 'App has no permission on the mailbox',
  TOKEN_APP_NOT_AUTHORIZED: 'App not registered in Exchange Online, or no mailbox permission',
  TOKEN_ACCOUNT_NO_MAILBOX_ACCESS: 'Account has no access to the mailbox',
  TOKEN_REFUSED_MAILBOX_SETTINGS: 'Server refused a token that looks right',
} as const;
/**
 * The doctor's suggestions of Microsoft Graph, where Microsoft 365 refuses
 * the protocol itself and no token changes that: SMTP AUTH off for the
 * tenant or the mailbox (5.7.139), or IMAP refusing a token that looks right.
 */
export const GRAPH_SUGGESTION_TITLES = {
  GRAPH_SUGGESTED_FOR_SENDING: 'Microsoft Graph can send where SMTP AUTH is off',
  GRAPH_SUGGESTED_FOR_RECEIVING: 'Microsoft Graph can receive where IMAP is off',
} as const;

/** One of the doctor's own finding codes. */
export type TokenFindingCode = keyof typeof TOKEN_FINDING_TITLES;
/** The doctor's own finding codes. */
export const TOKEN_FINDING_CODES = Object.keys(TOKEN_FINDING_TITLES) as TokenFindingCode[];

/** One thing the doctor found wrong: a stable code, one sentence, what to change. */
export const DoctorFinding = z.object({
  code: z.string(),
  summary: z.string(),
  hint: z.string(),
});
/** One thing the doctor found wrong. */
export type DoctorFinding = z.infer<typeof DoctorFinding>;

/**
 * The claims an admin may see (never the token): `aud`, `scp` (a person's
 * token) or `roles` (an app-only token), `upn` / `preferred_username` (none
 * in an app-only token), `tid`, `appid`, `oid`, `iat`, `exp` (ISO 8601), and
 * `kind`: `delegated` (a person signed in), `app` (client credentials) or `unknown`.
 */
export const DoctorClaims = z.object({
  aud: z.string().nullable(),
  kind: z.enum(['delegated', 'app', 'unknown']),
  scp: z.array(z.string()).nullable(),
  roles: z.array(z.string()).nullable(),
  upn: z.string().nullable(),
  preferred_username: z.string().nullable(),
  unique_name: z.string().nullable(),
  tid: z.string().nullable(),
  appid: z.string().nullable(),
  oid: z.string().nullable(),
  iat: z.string().nullable(),
  exp: z.string().nullable(),
});
/** The claims an admin may see. */
export type DoctorClaims = z.infer<typeof DoctorClaims>;

/** One real sign-in the doctor tried with the token (or the mailbox's password), and how it ended. */
export const DoctorProbe = z.object({
  protocol: z.enum(['imap', 'pop3', 'smtp']),
  /** How it signed in: `xoauth2` with the token, `password` for a side that still signs in with one. */
  auth: z.enum(['xoauth2', 'password']),
  host: z.string(),
  port: z.number().int(),
  ok: z.boolean(),
  /** The step that failed, when one did. */
  step: z.string().nullable(),
  /** The connection test's diagnosis code, when a step failed. */
  code: z.string().nullable(),
  /** The server's reply to the failed step (redacted). */
  serverReply: z.string().nullable(),
});
/** One real sign-in the doctor tried. */
export type DoctorProbe = z.infer<typeof DoctorProbe>;

/** What the doctor found for one mailbox. `ok` is true when there is no finding. */
export const TokenDoctorReport = z.object({
  ok: z.boolean(),
  mailboxId: z.number().int(),
  mailbox: z.string(),
  /** Where the token came from: a person's sign-in (`delegated`), the app's own (`app`), or none (the mailbox signs in with a password). */
  tokenSource: z.enum(['delegated', 'app']).nullable(),
  /** The token's claims; null when no token could be had or it is not a readable JWT. */
  claims: DoctorClaims.nullable(),
  /** Why the claims could not be read, when a token was had but is not a readable JWT. */
  claimsUnreadable: z.enum(['opaque', 'encrypted', 'malformed']).nullable(),
  findings: z.array(DoctorFinding),
  probes: z.array(DoctorProbe),
  /** ms UTC. */
  checkedAt: z.number().int(),
});
/** What the doctor found for one mailbox. */
export type TokenDoctorReport = z.infer<typeof TokenDoctorReport>;

/** Input of `oauth.doctor`. */
export const TokenDoctorInput = z
  .object({
    mailboxId: MailboxId,
    /** Try a real IMAP and SMTP sign-in with the token (default true); false reads the claims only. */
    probe: z.boolean().optional(),
  })
  .strict();
/** Input of `oauth.doctor`. */
export type TokenDoctorInput = z.input<typeof TokenDoctorInput>;
