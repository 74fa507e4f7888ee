/**
 * Mailbox settings: schemas, defaults and presets shared by the engine, the
 * IPC contract, the CLI and the renderer. Imports nothing from node or electron.
 */
import { z } from 'zod';

/** Transport security of one connection. */
export const SECURITY_MODES = ['tls', 'starttls', 'none'] as const;
export type SecurityMode = (typeof SECURITY_MODES)[number];

/**
 * How IMAP signs in: a password, Microsoft 365 OAuth 2.0 as a person
 * (`oauth2`, delegated), or as the organisation's app registration
 * (`oauth2-app`, client credentials: shared mailboxes nobody signs in to).
 */
export const IMAP_AUTH_MODES = ['password', 'oauth2', 'oauth2-app'] as const;
export type ImapAuthMode = (typeof IMAP_AUTH_MODES)[number];

/** How SMTP signs in. `none` is for relays that accept mail unauthenticated. */
export const SMTP_AUTH_MODES = ['password', 'oauth2', 'oauth2-app', 'none'] as const;

/** True for the OAuth 2.0 modes (XOAUTH2 with a token): delegated `oauth2` and app-only `oauth2-app`. */
export function isOAuthMode(auth: string): auth is 'oauth2' | 'oauth2-app' {
  return auth === 'oauth2' || auth === 'oauth2-app';
}

/**
 * How a mailbox signs in for incoming mail: its POP3 settings' auth when it
 * reads mail over POP3, else its IMAP settings' (Graph uses the IMAP sign-in).
 */
export function incomingAuth(mailbox: { imap: { auth: string }; receiveVia?: string; pop3?: { auth: string } | null }): string {
  return mailbox.receiveVia === 'pop3' && mailbox.pop3 ? mailbox.pop3.auth : mailbox.imap.auth;
}

/** True when a mailbox signs in for incoming mail (IMAP or POP3) or SMTP as the organisation's app registration (app-only). */
export function usesAppOnly(mailbox: { imap: { auth: string }; smtp: { auth: string }; receiveVia?: string; pop3?: { auth: string } | null }): boolean {
  return incomingAuth(mailbox) === 'oauth2-app' || mailbox.smtp.auth === 'oauth2-app';
}
export type SmtpAuthMode = (typeof SMTP_AUTH_MODES)[number];

/** Settings presets. */
export const PRESET_IDS = ['microsoft365', 'gmail', 'generic'] as const;
export type PresetId = (typeof PRESET_IDS)[number];

/**
 * How a mailbox receives: IMAP, POP3, or Microsoft Graph (Microsoft 365
 * mailboxes whose tenant switched IMAP off).
 */
export const RECEIVE_VIA = ['imap', 'pop3', 'graph'] as const;
export type ReceiveVia = (typeof RECEIVE_VIA)[number];

/** How a mailbox sends: SMTP, or Microsoft Graph's sendMail (SMTP AUTH switched off). */
export const SEND_VIA = ['smtp', 'graph'] as const;
export type SendVia = (typeof SEND_VIA)[number];

/** What a POP3 import does with a message once it is stored: leave it on the server (default) or delete it. */
export const POP3_AFTER_IMPORT = ['leave', 'delete'] as const;
export type Pop3AfterImport = (typeof POP3_AFTER_IMPORT)[number];

/** Default ports by protocol and security mode. */
export const DEFAULT_PORTS = {
  imap: { tls: 993, starttls: 143, none: 143 },
  pop3: { tls: 995, starttls: 110, none: 110 },
  smtp: { tls: 465, starttls: 587, none: 25 },
} as const satisfies Record<'imap' | 'pop3' | 'smtp', Record<SecurityMode, number>>;

/** Default poll interval of the inbox import, in seconds. */
export const DEFAULT_POLL_SECONDS = 60;

const HOST_PATTERN = /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$|^\[?[0-9A-Fa-f:.]+\]?$/;

/** A host name or IP address. */
export const HostName = z
  .string({ error: 'must be a host name such as mail.example.com' })
  .trim()
  .min(1, { error: 'is required: enter the server host name, such as mail.example.com' })
  .regex(HOST_PATTERN, { error: 'must be a host name such as mail.example.com or an IP address, without a scheme, port or path' });

/** A TCP port. */
export const Port = z.coerce
  .number({ error: 'must be a whole number from 1 to 65535' })
  .int({ error: 'must be a whole number from 1 to 65535' })
  .min(1, { error: 'must be a whole number from 1 to 65535' })
  .max(65535, { error: 'must be a whole number from 1 to 65535' });

const enumError = (allowed: readonly string[]) => ({ error: `must be one of: ${allowed.join(', ')}` });

export const SecurityModeSchema = z.enum(SECURITY_MODES, enumError(SECURITY_MODES));
export const ImapAuthSchema = z.enum(IMAP_AUTH_MODES, enumError(IMAP_AUTH_MODES));
export const SmtpAuthSchema = z.enum(SMTP_AUTH_MODES, enumError(SMTP_AUTH_MODES));
export const PresetSchema = z.enum(PRESET_IDS, enumError(PRESET_IDS));
export const ReceiveViaSchema = z.enum(RECEIVE_VIA, enumError(RECEIVE_VIA));
export const SendViaSchema = z.enum(SEND_VIA, enumError(SEND_VIA));
export const Pop3AfterImportSchema = z.enum(POP3_AFTER_IMPORT, enumError(POP3_AFTER_IMPORT));

/** An email address. */
export const EmailAddress = z
  .string({ error: 'must be an email address such as support@example.com' })
  .trim()
  .min(1, { error: 'is required: enter an email address such as support@example.com' })
  .max(254, { error: 'must be at most 254 characters' })
  .pipe(z.email({ error: 'must be an email address such as support@example.com' }));

/** An IMAP folder name. */
export const FolderName = z
  .string()
  .trim()
  .min(1, { error: 'must not be empty; the usual folder is INBOX' })
  .max(255, { error: 'must be at most 255 characters' })
  .refine((v) => !/[\r\n\0]/.test(v), { error: 'must not contain line breaks or NUL characters' });

/** What the import does with a message on the server once it is stored locally. */
export const AfterImportSchema = z
  .string()
  .trim()
  .refine((v) => v === 'mark-seen' || v === 'delete' || (/^move:.+/.test(v) && !/[\r\n\0]/.test(v)), {
    error: 'must be mark-seen, delete, or move:<folder> (for example move:Archive)',
  });
export type AfterImportAction = 'mark-seen' | 'delete' | `move:${string}`;

/** A mailbox display name: unique, not all digits (digits are ids). */
export const MailboxName = z
  .string({ error: 'is required: give the mailbox a short name such as Support' })
  .trim()
  .min(1, { error: 'is required: give the mailbox a short name such as Support' })
  .max(100, { error: 'must be at most 100 characters' })
  .refine((v) => !/^\d+$/.test(v), { error: 'must not be only digits (numbers are mailbox ids)' })
  .refine((v) => !/[\u0000-\u001f]/.test(v), { error: 'must not contain control characters' });

/** The user name of a server account. */
export const UserName = z.string().trim().max(320, { error: 'must be at most 320 characters' });

export const PollSeconds = z.coerce
  .number({ error: 'must be a whole number of seconds from 10 to 86400' })
  .int({ error: 'must be a whole number of seconds from 10 to 86400' })
  .min(10, { error: 'must be at least 10 seconds' })
  .max(86400, { error: 'must be at most 86400 seconds (one day)' });

/** Incoming (IMAP) settings as stored. */
export const ImapSettings = z.object({
  host: HostName,
  port: Port,
  security: SecurityModeSchema,
  username: UserName,
  auth: ImapAuthSchema,
  folder: FolderName,
  afterImport: AfterImportSchema,
  pollIntervalSeconds: PollSeconds,
});
export type ImapSettings = z.infer<typeof ImapSettings>;

/** Outgoing (SMTP) settings as stored. */
export const SmtpSettings = z.object({
  host: HostName,
  port: Port,
  security: SecurityModeSchema,
  username: UserName,
  auth: SmtpAuthSchema,
});
export type SmtpSettings = z.infer<typeof SmtpSettings>;

/** Incoming POP3 settings as stored (a mailbox with `receiveVia: 'pop3'`). */
export const Pop3Settings = z.object({
  host: HostName,
  port: Port,
  security: SecurityModeSchema,
  username: UserName,
  auth: ImapAuthSchema,
  afterImport: Pop3AfterImportSchema,
});
export type Pop3Settings = z.infer<typeof Pop3Settings>;

/** Microsoft Graph settings (used when a direction goes through Graph). */
export const GraphSettings = z.object({
  /** Whether mail sent through Graph's sendMail is saved to the mailbox's Sent Items. */
  saveToSentItems: z.boolean(),
});
export type GraphSettings = z.infer<typeof GraphSettings>;

export const MailboxId = z.coerce
  .number({ error: 'must be a mailbox id (a positive whole number)' })
  .int({ error: 'must be a mailbox id (a positive whole number)' })
  .positive({ error: 'must be a mailbox id (a positive whole number)' });

/** A mailbox as the engine returns it. Secrets are never part of it. */
export const Mailbox = z.object({
  id: z.number().int(),
  name: z.string(),
  address: z.string(),
  enabled: z.boolean(),
  preset: PresetSchema,
  imap: ImapSettings,
  smtp: SmtpSettings,
  /** How incoming mail is read: IMAP (the `imap` settings), POP3 (the `pop3` settings) or Microsoft Graph. */
  receiveVia: ReceiveViaSchema,
  /** How outgoing mail is sent: SMTP (the `smtp` settings) or Microsoft Graph. */
  sendVia: SendViaSchema,
  /** POP3 settings; null until POP3 was chosen once (kept when the mailbox switches back to IMAP). */
  pop3: Pop3Settings.nullable(),
  graph: GraphSettings,
  /** Whether a password (or app password) is stored. The value never leaves the engine. */
  passwordSet: z.boolean(),
  /**
   * Whether SMTP has a password of its own (another account, or an app password
   * for sending). When false, SMTP signs in with the incoming password.
   */
  smtpPasswordSet: z.boolean(),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
});
export type Mailbox = z.infer<typeof Mailbox>;

/** A password as input: write-only. `null` clears it, absent keeps it. */
export const PasswordInput = z
  .string({ error: 'must be text' })
  .max(1024, { error: 'must be at most 1024 characters' })
  .refine((v) => !/[\r\n\0]/.test(v), { error: 'must not contain line breaks or NUL characters' })
  .nullable()
  .optional();

/** Partial incoming settings as typed by a user; missing values come from defaults and presets. */
export const ImapInput = z
  .object({
    host: HostName.optional(),
    port: Port.optional(),
    security: SecurityModeSchema.optional(),
    username: UserName.optional(),
    auth: ImapAuthSchema.optional(),
    folder: FolderName.optional(),
    afterImport: AfterImportSchema.optional(),
    pollIntervalSeconds: PollSeconds.optional(),
  })
  .strict();

/** Partial outgoing settings as typed by a user. */
export const SmtpInput = z
  .object({
    host: HostName.optional(),
    port: Port.optional(),
    security: SecurityModeSchema.optional(),
    username: UserName.optional(),
    auth: SmtpAuthSchema.optional(),
  })
  .strict();

/** Partial POP3 settings as typed by a user. */
export const Pop3Input = z
  .object({
    host: HostName.optional(),
    port: Port.optional(),
    security: SecurityModeSchema.optional(),
    username: UserName.optional(),
    auth: ImapAuthSchema.optional(),
    afterImport: Pop3AfterImportSchema.optional(),
  })
  .strict();

/** Partial Graph settings as typed by a user. */
export const GraphInput = z.object({ saveToSentItems: z.boolean().optional() }).strict();

/** Input to create a mailbox. */
export const MailboxCreateInput = z
  .object({
    name: MailboxName,
    address: EmailAddress,
    preset: PresetSchema.optional(),
    enabled: z.boolean().optional(),
    imap: ImapInput.optional(),
    smtp: SmtpInput.optional(),
    receiveVia: ReceiveViaSchema.optional(),
    sendVia: SendViaSchema.optional(),
    pop3: Pop3Input.optional(),
    graph: GraphInput.optional(),
    password: PasswordInput,
    /** SMTP's own password; absent or null: SMTP uses `password`. */
    smtpPassword: PasswordInput,
  })
  .strict();
export type MailboxCreateInput = z.input<typeof MailboxCreateInput>;

/** Input to change a mailbox: only the fields given change. */
export const MailboxUpdateInput = z
  .object({
    id: MailboxId,
    name: MailboxName.optional(),
    address: EmailAddress.optional(),
    preset: PresetSchema.optional(),
    enabled: z.boolean().optional(),
    imap: ImapInput.optional(),
    smtp: SmtpInput.optional(),
    receiveVia: ReceiveViaSchema.optional(),
    sendVia: SendViaSchema.optional(),
    pop3: Pop3Input.optional(),
    graph: GraphInput.optional(),
    password: PasswordInput,
    /** SMTP's own password: a string sets it, null removes it (SMTP uses `password` again), absent keeps it. */
    smtpPassword: PasswordInput,
  })
  .strict();
export type MailboxUpdateInput = z.input<typeof MailboxUpdateInput>;

/** A provider preset: fixed server settings and the sign-in it needs. */
export interface Preset {
  id: PresetId;
  label: string;
  description: string;
  imap?: { host: string; port: number; security: SecurityMode; auth: Exclude<ImapAuthMode, 'oauth2-app'> };
  smtp?: { host: string; port: number; security: SecurityMode; auth: Exclude<SmtpAuthMode, 'oauth2-app'> };
  pop3?: { host: string; port: number; security: SecurityMode; auth: Exclude<ImapAuthMode, 'oauth2-app'> };
}

/** The built-in presets. */
export const PRESETS: Record<PresetId, Preset> = {
  microsoft365: {
    id: 'microsoft365',
    label: 'Microsoft 365',
    description: 'Exchange Online. Signs in with OAuth 2.0; basic authentication is retired for IMAP and being retired for SMTP AUTH.',
    imap: { host: 'outlook.office365.com', port: 993, security: 'tls', auth: 'oauth2' },
    smtp: { host: 'smtp.office365.com', port: 587, security: 'starttls', auth: 'oauth2' },
    pop3: { host: 'outlook.office365.com', port: 995, security: 'tls', auth: 'oauth2' },
  },
  gmail: {
    id: 'gmail',
    label: 'Gmail / Google Workspace',
    description: 'Uses an app password (Google account > Security > App passwords; needs 2-Step Verification).',
    imap: { host: 'imap.gmail.com', port: 993, security: 'tls', auth: 'password' },
    smtp: { host: 'smtp.gmail.com', port: 465, security: 'tls', auth: 'password' },
    pop3: { host: 'pop.gmail.com', port: 995, security: 'tls', auth: 'password' },
  },
  generic: {
    id: 'generic',
    label: 'Other IMAP/SMTP server',
    description: 'Any standards-compliant server. Enter the host names your provider gives.',
  },
};

/** The default port for a protocol and security mode. */
export function defaultPort(protocol: 'imap' | 'pop3' | 'smtp', security: SecurityMode): number {
  return DEFAULT_PORTS[protocol][security];
}
