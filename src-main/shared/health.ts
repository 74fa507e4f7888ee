/**
 * Mail-flow health vocabulary shared by the engine, the IPC contract, the CLI
 * and the renderer: each mailbox's state (Healthy, Degraded, Failing,
 * Sign-in needed, Disabled) with its reason, the facts it follows from, the
 * round-trip probes and their settings. Imports nothing from node or electron.
 */
import { z } from 'zod';
import { EmailAddress, MailboxId } from './mailbox.js';

/**
 * A mailbox's state, from best to worst (Disabled is set apart: nobody expects
 * mail to flow there). The order is the tray colour's order: the worst state
 * of all enabled mailboxes wins.
 */
export const HEALTH_STATES = ['healthy', 'degraded', 'failing', 'sign-in-needed', 'disabled'] as const;
/** A mailbox's mail-flow state. */
export type HealthState = (typeof HEALTH_STATES)[number];

/** How bad each state is (higher is worse); Disabled counts as nothing to worry about. */
export const HEALTH_SEVERITY: Record<HealthState, number> = { disabled: 0, healthy: 1, degraded: 2, failing: 3, 'sign-in-needed': 4 };

/** The word the screens and the CLI show for a state. */
export const HEALTH_STATE_WORDS: Record<HealthState, string> = {
  healthy: 'Healthy',
  degraded: 'Degraded',
  failing: 'Failing',
  'sign-in-needed': 'Sign-in needed',
  disabled: 'Disabled',
};

/** The worst of some states (Healthy for none). Disabled never wins over another state. */
export function worstState(states: readonly HealthState[]): HealthState {
  return states.reduce<HealthState>((worst, s) => (HEALTH_SEVERITY[s] > HEALTH_SEVERITY[worst] ? s : worst), states.length && states.every((s) => s === 'disabled') ? 'disabled' : 'healthy');
}

/** What a row links to: the thing that explains its state. */
export const HealthExplain = z.object({
  kind: z.enum(['sign-in', 'connection-test', 'outbox-message', 'inbox-poll', 'probe', 'mailbox']),
  /** The id of the test, message, poll or probe; the mailbox id for `sign-in` and `mailbox`. */
  id: z.number().int(),
});
/** What a row links to. */
export type HealthExplain = z.infer<typeof HealthExplain>;

/** One round-trip probe as stored. */
export const ProbeRecord = z.object({
  id: z.number().int(),
  mailboxId: z.number().int(),
  /** Where the probe was sent. */
  target: z.string(),
  trigger: z.enum(['schedule', 'manual', 'cli']),
  /** `running` until it is found, times out or is refused. */
  status: z.enum(['running', 'delivered', 'failed']),
  startedAt: z.number().int(),
  finishedAt: z.number().int().nullable(),
  /** From the start to the server's acceptance of the message. */
  sendMs: z.number().int().nullable(),
  /** From acceptance to the moment it was found over IMAP. */
  deliverMs: z.number().int().nullable(),
  totalMs: z.number().int().nullable(),
  /** The folder it was found in (INBOX, Junk...), or null when not found. */
  folder: z.string().nullable(),
  /** Why it failed (PROBE_SEND_REFUSED's send diagnosis, PROBE_NOT_DELIVERED, PROBE_IN_JUNK...). */
  diagnosis: z.object({ code: z.string(), message: z.string(), hint: z.string() }).nullable(),
});
/** One round-trip probe as stored. */
export type ProbeRecord = z.infer<typeof ProbeRecord>;

/** Default time between scheduled probes: 15 minutes. */
export const DEFAULT_PROBE_INTERVAL_SECONDS = 15 * 60;
/** Default time a probe waits for its delivery: 10 minutes. */
export const DEFAULT_PROBE_TIMEOUT_SECONDS = 10 * 60;
/** Default round trip above which a mailbox is Degraded: 2 minutes. */
export const DEFAULT_PROBE_SLOW_MS = 2 * 60_000;

/** A mailbox's probe settings. */
export const ProbeSettings = z.object({
  mailboxId: z.number().int(),
  /** Scheduled probes run only when on (off by default). */
  enabled: z.boolean(),
  intervalSeconds: z.number().int(),
  timeoutSeconds: z.number().int(),
  /** Where probes go; null: the mailbox's own address. */
  targetAddress: z.string().nullable(),
  /** A round trip slower than this makes the mailbox Degraded. */
  slowThresholdMs: z.number().int(),
});
/** A mailbox's probe settings. */
export type ProbeSettings = z.infer<typeof ProbeSettings>;

const seconds = (min: number, max: number, what: string) =>
  z.coerce
    .number({ error: `must be a whole number of seconds from ${min} to ${max}` })
    .int({ error: `must be a whole number of seconds from ${min} to ${max}` })
    .min(min, { error: `must be at least ${min} seconds${what}` })
    .max(max, { error: `must be at most ${max} seconds` });

/** A probe timeout in seconds (5 seconds to 1 hour). */
export const ProbeTimeoutSeconds = seconds(5, 3600, '');
/** Time between scheduled probes (1 minute to 1 day). */
export const ProbeIntervalSeconds = seconds(60, 86_400, ' (one minute)');

/** A change of a mailbox's probe settings; absent fields keep their value. */
export const ProbeSettingsInput = z
  .object({
    mailboxId: MailboxId,
    enabled: z.boolean().optional(),
    intervalSeconds: ProbeIntervalSeconds.optional(),
    timeoutSeconds: ProbeTimeoutSeconds.optional(),
    targetAddress: EmailAddress.nullable().optional(),
    slowThresholdMs: z.coerce.number().int().min(1000, { error: 'must be at least 1000 ms' }).max(3_600_000, { error: 'must be at most 3600000 ms (one hour)' }).optional(),
  })
  .strict();
/** A change of a mailbox's probe settings. */
export type ProbeSettingsInput = z.input<typeof ProbeSettingsInput>;

/** One mailbox's row of the health overview. */
export const MailboxHealth = z.object({
  mailboxId: z.number().int(),
  name: z.string(),
  address: z.string(),
  state: z.enum(HEALTH_STATES),
  /** Why, in words (the first rule that decided the state). */
  reason: z.string(),
  /** Every rule that matched, worst first (the reason is the first). */
  reasons: z.array(z.object({ rule: z.string(), state: z.enum(HEALTH_STATES), text: z.string() })),
  /** Since when the mailbox is in this state (ms UTC), as this data folder recorded it. */
  since: z.number().int().nullable(),
  lastReceiveAt: z.number().int().nullable(),
  lastSendAt: z.number().int().nullable(),
  queue: z.object({ pending: z.number().int(), oldestAgeSeconds: z.number().int().nullable() }),
  /** When the access token expires (Microsoft 365 mailboxes; refreshed before then). */
  tokenExpiresAt: z.number().int().nullable(),
  /** When the app-only registration's credential expires (app-only mailboxes: a secret of known expiry, or the certificate), else null. */
  clientSecretExpiresAt: z.number().int().nullable(),
  /** Which credential `clientSecretExpiresAt` is of: the client secret or the certificate; null with it. */
  clientCredential: z.enum(['secret', 'certificate']).nullable(),
  lastConnectionTest: z.object({ id: z.number().int(), ok: z.boolean(), at: z.number().int(), code: z.string().nullable() }).nullable(),
  lastProbe: ProbeRecord.nullable(),
  probe: ProbeSettings,
  explain: HealthExplain,
});
/** One mailbox's row of the health overview. */
export type MailboxHealth = z.infer<typeof MailboxHealth>;

/** The health overview: a summary line and one row per mailbox. */
export const HealthOverview = z.object({
  summary: z.string(),
  /** The worst state of the enabled mailboxes (the tray colour). */
  worst: z.enum(HEALTH_STATES),
  healthy: z.number().int(),
  enabled: z.number().int(),
  at: z.number().int(),
  mailboxes: z.array(MailboxHealth),
});
/** The health overview. */
export type HealthOverview = z.infer<typeof HealthOverview>;

/** Payload of `health.changed`: a mailbox changed state (or the overview should be read again). */
export const HealthChangedEvent = z.object({
  mailboxId: z.number().int().nullable(),
  from: z.enum(HEALTH_STATES).nullable(),
  to: z.enum(HEALTH_STATES).nullable(),
  reason: z.string().nullable(),
});
/** Payload of `health.changed`. */
export type HealthChangedEvent = z.infer<typeof HealthChangedEvent>;

/** The probe header; its value is the probe's token. */
export const PROBE_HEADER = 'X-Mailroom-Probe';
