/**
 * Mail-flow health over IPC: the overview (one row per mailbox and a summary
 * line), the round-trip probes (run one, their history for the chart, their
 * settings). Changes arrive live as `health.changed` and `probes.finished`.
 */
import { z } from 'zod';
import { channel, eventChannel } from './channel.js';
import { MailboxId } from '../mailbox.js';
import { HealthChangedEvent, HealthOverview, ProbeRecord, ProbeSettings, ProbeSettingsInput, ProbeTimeoutSeconds } from '../health.js';

/** Longest history the chart asks for: 7 days. */
export const PROBE_HISTORY_MAX_MS = 7 * 24 * 60 * 60 * 1000;

/** Health channels. */
export const health = {
  /** The overview now: every mailbox's state with its reason and facts, and the summary line. */
  overview: channel(z.object({}).strict(), HealthOverview),
  /** Round trips of the last `periodMs` (up to 7 days), oldest first, of one mailbox or all. */
  probes: channel(
    z
      .object({
        periodMs: z.coerce.number().int().min(60_000, { error: 'must be at least 60000 ms' }).max(PROBE_HISTORY_MAX_MS, { error: 'must be at most 7 days' }),
        mailboxId: MailboxId.optional(),
      })
      .strict(),
    z.array(ProbeRecord),
  ),
  /** Sends a probe now and resolves when it arrived, failed or timed out. */
  runProbe: channel(z.object({ mailboxId: MailboxId, timeoutSeconds: ProbeTimeoutSeconds.optional() }).strict(), ProbeRecord),
  /** A mailbox's probe settings. */
  probeSettings: channel(z.object({ mailboxId: MailboxId }).strict(), ProbeSettings),
  /** Changes a mailbox's probe settings (schedule on/off, interval, timeout, target, slow threshold). */
  saveProbeSettings: channel(ProbeSettingsInput, ProbeSettings),
} as const;

/** Events of mail-flow health. */
export const healthEvents = {
  /** A mailbox changed state (or its probe settings changed: read the overview again). */
  'health.changed': eventChannel(HealthChangedEvent),
  /** A probe finished (delivered or failed). */
  'probes.finished': eventChannel(ProbeRecord),
} as const;
