/**
 * Connection tests over IPC: run a step-by-step SMTP/IMAP/POP3 test of a saved
 * mailbox or of ad-hoc settings, follow it live through events, cancel it,
 * and read the stored results (the last 50 per mailbox).
 */
import { z } from 'zod';
import { channel, eventChannel } from './channel.js';
import { EmailAddress, FolderName, HostName, MailboxId, Port, SecurityModeSchema, UserName } from '../mailbox.js';
import {
  ConnectionTestReport,
  Diagnosis,
  DnsDetails,
  STEP_STATUSES,
  StepTls,
  TEST_AUTH_METHODS,
  TEST_PROTOCOLS,
  SERVER_TEST_PROTOCOLS,
  TEST_STEP_NAMES,
  TestTarget,
  TestWarning,
  TlsDetails,
} from '../diagnosis.js';

/** Per-step timeout in milliseconds: default 15000. */
export const DEFAULT_STEP_TIMEOUT_MS = 15_000;

/** A per-step timeout in milliseconds. */
export const StepTimeoutMs = z.coerce
  .number({ error: 'must be a whole number of milliseconds from 100 to 300000' })
  .int({ error: 'must be a whole number of milliseconds from 100 to 300000' })
  .min(100, { error: 'must be at least 100 ms' })
  .max(300_000, { error: 'must be at most 300000 ms (5 minutes)' });

/**
 * An id the caller picks for a run, so it can match progress events and
 * cancel before the run returns. The engine makes one when absent.
 */
export const RunId = z
  .string()
  .trim()
  .min(1, { error: 'must not be empty' })
  .max(100, { error: 'must be at most 100 characters' })
  .regex(/^[A-Za-z0-9._:-]+$/, { error: 'may only contain letters, digits and . _ : -' });

const SecretText = z
  .string()
  .max(8192, { error: 'must be at most 8192 characters' })
  .refine((v) => !/[\r\n\0]/.test(v), { error: 'must not contain line breaks or NUL characters' });

/** Test a saved mailbox: its incoming (IMAP, or POP3 when it receives over POP3) side, outgoing (SMTP) side, or both. */
export const MailboxTestInput = z
  .object({
    mailboxId: MailboxId,
    direction: z.enum(['incoming', 'outgoing', 'both'], { error: 'must be one of: incoming, outgoing, both' }).default('both'),
    /** When set, the SMTP test also sends a small test message to this address (mail-from, rcpt-to, data). */
    to: EmailAddress.optional(),
    timeoutMs: StepTimeoutMs.optional(),
    runId: RunId.optional(),
  })
  .strict();
/** A saved-mailbox test as a caller writes it. */
export type MailboxTestInput = z.input<typeof MailboxTestInput>;

/**
 * Test a saved Microsoft 365 mailbox through Microsoft Graph: a token for
 * Graph, the mailbox (`GET /users/{id}`), its folder, and with `to` a test
 * message through `sendMail`.
 */
export const GraphTestInput = z
  .object({
    mailboxId: MailboxId,
    /** When set, a small test message is sent to this address through Graph's sendMail. */
    to: EmailAddress.optional(),
    timeoutMs: StepTimeoutMs.optional(),
    runId: RunId.optional(),
  })
  .strict();
/** A Graph test as a caller writes it. */
export type GraphTestInput = z.input<typeof GraphTestInput>;

/** Test settings that are not saved (the ad-hoc form). Secrets are used for this run only, never stored. */
export const AdHocTestInput = z
  .object({
    protocol: z.enum(SERVER_TEST_PROTOCOLS, { error: 'must be smtp, imap or pop3' }),
    host: HostName,
    /** Default by protocol and security: 465/587/25 for SMTP, 993/143 for IMAP, 995/110 for POP3. */
    port: Port.optional(),
    /** Default `tls`. */
    security: SecurityModeSchema.optional(),
    /** Default: `password` when a password is given, `xoauth2` when a token is, else `none`. */
    auth: z.enum(TEST_AUTH_METHODS, { error: 'must be one of: password, xoauth2, none' }).optional(),
    user: UserName.optional(),
    password: SecretText.optional(),
    /** An OAuth 2.0 access token, for `xoauth2`. */
    token: SecretText.optional(),
    /** IMAP: the folder to select. Default INBOX. */
    folder: FolderName.optional(),
    /** SMTP: envelope sender for the test message; defaults to the user name when it is an address. */
    from: EmailAddress.optional(),
    /** SMTP: when set, a small test message is sent to this address. */
    to: EmailAddress.optional(),
    timeoutMs: StepTimeoutMs.optional(),
    runId: RunId.optional(),
  })
  .strict();
/** An ad-hoc test as a caller writes it. */
export type AdHocTestInput = z.input<typeof AdHocTestInput>;

/** Input of `connectionTests.run`: a saved mailbox or ad-hoc settings. */
export const ConnectionTestRunInput = z.union([MailboxTestInput, AdHocTestInput], {
  // A failed union would only say "invalid input": name the fields of the form the caller meant.
  error: (issue) => {
    const input = issue.input;
    const branches = (issue as { errors?: { path: PropertyKey[]; message: string }[][] }).errors;
    const meantMailbox = typeof input === 'object' && input !== null && 'mailboxId' in input && !('protocol' in input);
    const meantAdHoc = typeof input === 'object' && input !== null && 'protocol' in input && !('mailboxId' in input);
    const chosen = meantMailbox ? branches?.[0] : meantAdHoc ? branches?.[1] : undefined;
    if (!chosen?.length) return 'must give either { mailboxId, direction } for a saved mailbox or { protocol, host, ... } for ad-hoc settings, not both';
    return chosen.map((i) => `${i.path.map(String).join('.') || '(input)'} ${i.message}`).join('; ');
  },
});
/** Input of `connectionTests.run` as a caller writes it. */
export type ConnectionTestRunInput = z.input<typeof ConnectionTestRunInput>;

/**
 * One stored test of one protocol: the CLI's JSON report plus what the UI
 * needs to list it, reproduce it and show the certificate.
 */
export const ConnectionTestResult = ConnectionTestReport.extend({
  /** Row id in the store. */
  id: z.number().int(),
  /** The run this result belongs to (a `both` run has two results). */
  runId: z.string(),
  /** The mailbox tested, or null for an ad-hoc test. */
  mailboxId: z.number().int().nullable(),
  /** When the test started, ms UTC. */
  startedAt: z.number().int(),
  /** Total elapsed milliseconds. */
  durationMs: z.number().int().nonnegative(),
  /** True when the run was cancelled; then `ok` is false and `diagnosis` is null. */
  cancelled: z.boolean(),
  auth: z.enum(TEST_AUTH_METHODS),
  /** The user name signed in with ('' when none). */
  user: z.string(),
  /** The equivalent `curl -v` command, with the secret as a placeholder. */
  curlCommand: z.string(),
  /** TLS session and certificate, when a TLS handshake happened. */
  tls: TlsDetails.nullable(),
  /** Addresses and MX records found. */
  dns: DnsDetails.nullable(),
  /**
   * What the test cannot see on the wire but will fail later, with what to
   * change: for the outgoing side of a Microsoft 365 mailbox, a relay account
   * that keeps the application's From (RELAY_FROM_NOT_ALLOWED).
   */
  warnings: z.array(TestWarning).optional(),
});
/** One stored test of one protocol. */
export type ConnectionTestResult = z.infer<typeof ConnectionTestResult>;

/** One line of the history list (the full result comes from `get`). */
export const ConnectionTestSummary = z.object({
  id: z.number().int(),
  runId: z.string(),
  mailboxId: z.number().int().nullable(),
  protocol: z.enum(TEST_PROTOCOLS),
  target: TestTarget,
  ok: z.boolean(),
  cancelled: z.boolean(),
  diagnosis: Diagnosis.nullable(),
  /** The codes of the result's warnings (a passed test with any is shown amber, not green). */
  warningCodes: z.array(z.string()).default([]),
  startedAt: z.number().int(),
  durationMs: z.number().int().nonnegative(),
});
/** One line of the history list. */
export type ConnectionTestSummary = z.infer<typeof ConnectionTestSummary>;

/** The most results kept per mailbox (and for ad-hoc tests together). */
export const CONNECTION_TEST_HISTORY_LIMIT = 50;

/** Connection-test channels. */
export const connectionTests = {
  /** Runs a test and resolves when it is over; progress arrives as `connectionTests.progress` events. */
  run: channel(ConnectionTestRunInput, z.array(ConnectionTestResult)),
  /**
   * Runs the Microsoft Graph test of a saved Microsoft 365 mailbox and
   * resolves with its result (stored in the mailbox's history); progress
   * arrives as `connectionTests.progress` events with protocol `graph`.
   */
  runGraph: channel(GraphTestInput, ConnectionTestResult),
  /** Cancels a running test; `cancelled` is false when no such run is going. */
  cancel: channel(z.object({ runId: RunId }).strict(), z.object({ cancelled: z.boolean() })),
  /** Stored results, newest first. `mailboxId: null` lists ad-hoc tests. */
  history: channel(
    z
      .object({
        mailboxId: MailboxId.nullable(),
        limit: z.coerce.number().int().min(1).max(CONNECTION_TEST_HISTORY_LIMIT).default(CONNECTION_TEST_HISTORY_LIMIT),
      })
      .strict(),
    z.array(ConnectionTestSummary),
  ),
  /** One stored result with its steps and transcript. */
  get: channel(z.object({ id: z.coerce.number().int().positive() }).strict(), ConnectionTestResult),
} as const;

/** A step's state in a progress event: `running` when it starts, then its outcome. */
export const ProgressStepStatus = z.enum(['running', ...STEP_STATUSES]);

/** Payloads of the events a test emits while it runs. */
export const connectionTestEvents = {
  /** A step started (`running`) or ended. */
  'connectionTests.progress': eventChannel(
    z.object({
      runId: z.string(),
      mailboxId: z.number().int().nullable(),
      protocol: z.enum(TEST_PROTOCOLS),
      step: z.object({ name: z.enum(TEST_STEP_NAMES), status: ProgressStepStatus, ms: z.number().int().nonnegative(), detail: z.string(), tls: StepTls.optional() }),
    }),
  ),
  /** A run ended (passed, failed or cancelled); carries its results. */
  'connectionTests.finished': eventChannel(
    z.object({ runId: z.string(), mailboxId: z.number().int().nullable(), results: z.array(ConnectionTestResult) }),
  ),
} as const;
/** Payload of `connectionTests.progress`. */
export type ConnectionTestProgressEvent = z.infer<(typeof connectionTestEvents)['connectionTests.progress']['payload']>;
/** Payload of `connectionTests.finished`. */
export type ConnectionTestFinishedEvent = z.infer<(typeof connectionTestEvents)['connectionTests.finished']['payload']>;
