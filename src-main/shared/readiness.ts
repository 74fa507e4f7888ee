/**
 * The readiness report's vocabulary: for every mailbox (one row per IMAP and
 * SMTP side) and every relay account, whether it still signs in to Microsoft
 * 365 with a password, what breaks and when, and the way out. Shared by the
 * engine, the IPC contract, the CLI and the renderer; no node or electron.
 */
import { z } from 'zod';

/** `none`: not affected; `soon`: works today, stops when Microsoft's date comes; `broken`: refused already (or cannot work). */
export const READINESS_RISKS = ['none', 'soon', 'broken'] as const;
/** How much a side is at risk. */
export type ReadinessRisk = (typeof READINESS_RISKS)[number];

/**
 * When Microsoft turns basic authentication for SMTP AUTH (Client
 * Submission) off by default for existing tenants: the end of December 2026
 * (message center MC786329). Tenants created later never have it.
 */
export const BASIC_SMTP_AUTH_OFF_AT = Date.UTC(2026, 11, 31, 23, 59, 59);

/**
 * What Mailroom can do in one click: switch a mailbox to delegated OAuth,
 * switch it to app-only access (when the organisation's app-only
 * registration is set up), send a relay account's mail through a mailbox
 * that uses OAuth, or send or receive through Microsoft Graph.
 */
export const ReadinessFix = z.object({
  /** `use-graph`: send (the SMTP row) or receive (the IMAP row) through Microsoft Graph instead. */
  kind: z.enum(['switch-mailbox-to-oauth', 'switch-mailbox-to-app-only', 'relay-via-mailbox', 'use-graph']),
  /** The mailbox to switch, or the relay account's current mailbox. */
  mailboxId: z.number().int(),
  /** For `relay-via-mailbox`: the relay account and the mailbox (signing in with OAuth) to send through. */
  account: z.string().nullable(),
  targetMailboxId: z.number().int().nullable(),
  targetMailbox: z.string().nullable(),
});
/** What Mailroom can do in one click. */
export type ReadinessFix = z.infer<typeof ReadinessFix>;

/** One side of a mailbox. */
export const ReadinessMailboxRow = z.object({
  mailboxId: z.number().int(),
  name: z.string(),
  protocol: z.enum(['imap', 'smtp']),
  /** How the side signs in: password, oauth2, none (and what later versions add). */
  auth: z.string(),
  host: z.string(),
  /** `microsoft365` when the host, the address's MX or Microsoft's user realm says so. */
  provider: z.enum(['microsoft365', 'other']),
  /** What said Microsoft 365: `host outlook.office365.com`, `MX contoso-com.mail.protection.outlook.com`, `realm Managed`. */
  evidence: z.array(z.string()),
  risk: z.enum(READINESS_RISKS),
  /** What breaks and when, in plain words. */
  reason: z.string(),
  /** What to do (with the command), or null when nothing is needed. */
  action: z.string().nullable(),
  fix: ReadinessFix.nullable(),
  /**
   * A second one-click way out beside `fix`: `switch-mailbox-to-app-only`
   * when the side would be switched to OAuth and the organisation's app-only
   * registration is set up (right for a shared mailbox nobody signs in to); else null.
   */
  alternativeFix: ReadinessFix.nullable(),
  /**
   * `use-graph` when Microsoft 365 refuses the side's protocol itself, which
   * no sign-in method changes: SMTP AUTH turned off for the tenant or the
   * mailbox (5.7.139, security defaults), or, on the IMAP side, a token that
   * looks right refused (IMAP turned off for the mailbox). Microsoft Graph
   * sends (sendMail) and receives without SMTP AUTH or IMAP. Else null.
   */
  graphFix: ReadinessFix.nullable().default(null),
});
/** One side of a mailbox. */
export type ReadinessMailboxRow = z.infer<typeof ReadinessMailboxRow>;

/** One relay account: its mail goes out through its mailbox's SMTP side. */
export const ReadinessRelayRow = ReadinessMailboxRow.extend({
  /** The relay account's user name (`name` is the same). */
  account: z.string(),
  /** The mailbox it sends through. */
  mailbox: z.string(),
});
/** One relay account. */
export type ReadinessRelayRow = z.infer<typeof ReadinessRelayRow>;

/** The whole report. */
export const ReadinessReport = z.object({
  mailboxes: z.array(ReadinessMailboxRow),
  relayAccounts: z.array(ReadinessRelayRow),
  /** BASIC_SMTP_AUTH_OFF_AT, ms UTC. */
  basicSmtpAuthOffAt: z.number().int(),
  /** True when DNS and Microsoft's user realm could not be reached: only host names were used. */
  offline: z.boolean(),
  checkedAt: z.number().int(),
});
/** The whole report. */
export type ReadinessReport = z.infer<typeof ReadinessReport>;
