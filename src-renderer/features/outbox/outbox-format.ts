/** The outbox's statuses in the house vocabulary: colour, icon and word. */
import type { OutboxStatus, OutboxSummary } from '../../../src-main/shared/outbox.js';
import { DIAGNOSIS_TITLES, type DiagnosisCode } from '../../../src-main/shared/diagnosis.js';
import type { StatusKind } from '../../components/StatusBadge';

export const STATUS_KIND: Record<OutboxStatus, StatusKind> = {
  queued: 'info',
  sending: 'progress',
  sent: 'success',
  deferred: 'warning',
  failed: 'error',
  cancelled: 'disabled',
  'waiting-sign-in': 'warning',
};

export const STATUS_WORD: Record<OutboxStatus, string> = {
  queued: 'Queued',
  sending: 'Sending',
  sent: 'Sent',
  deferred: 'Deferred',
  failed: 'Failed',
  cancelled: 'Cancelled',
  'waiting-sign-in': 'Waiting for sign-in',
};

/** What each status means, for the badge's tooltip. */
export const STATUS_HELP: Record<OutboxStatus, string> = {
  queued: 'Waiting for its first try (or sent back by Send now or Retry).',
  sending: 'On its way to the server right now.',
  sent: 'The server accepted it.',
  deferred: 'A temporary problem: it is tried again at the next try time.',
  failed: 'Refused for good, or out of tries. Retry queues it again.',
  cancelled: 'Stopped by an admin; it will not be sent.',
  'waiting-sign-in': 'Its mailbox needs a Microsoft sign-in. It spends no tries, and is sent as soon as someone signs in (Mailboxes > the mailbox > Sign in again).',
};

/** Titles of the Microsoft sign-in codes a message can carry (the diagnosis titles cover the server's). */
const SIGN_IN_TITLES: Record<string, string> = {
  OAUTH_SIGN_IN_REQUIRED: 'Microsoft sign-in needed',
  OAUTH_NOT_SIGNED_IN: 'Not signed in with Microsoft',
  OAUTH_NOT_CONFIGURED: 'Microsoft 365 sign-in not set up',
  OAUTH_CONSENT_REQUIRED: 'Consent needed in Entra',
  OAUTH_TENANT_NOT_FOUND: 'Tenant not found',
  OAUTH_NETWORK: 'Sign-in server unreachable',
  OAUTH_TOKEN_REJECTED: 'Token refused by the server',
  OAUTH_SIGN_IN_FAILED: 'Getting a token failed',
};

/** The short title of an error code (a diagnosis title, a sign-in title, or the code itself). */
export function errorTitle(code: string): string {
  return (DIAGNOSIS_TITLES as Record<string, string | undefined>)[code as DiagnosisCode] ?? SIGN_IN_TITLES[code] ?? code.replace(/_/g, ' ').toLowerCase().replace(/^./, (c) => c.toUpperCase());
}

/** Sent to some recipients while others were refused. */
export function partlyRefused(m: Pick<OutboxSummary, 'status' | 'lastError'>): boolean {
  return m.status === 'sent' && m.lastError !== null;
}

/** "in 4 min", "3 h ago". */
export function relative(ms: number, now = Date.now()): string {
  const d = ms - now;
  const a = Math.abs(d);
  const text = a < 60_000 ? `${Math.max(1, Math.round(a / 1000))} s` : a < 3_600_000 ? `${Math.round(a / 60_000)} min` : a < 172_800_000 ? `${(a / 3_600_000).toFixed(a < 36_000_000 ? 1 : 0)} h` : `${Math.round(a / 86_400_000)} days`;
  return d >= 0 ? `in ${text}` : `${text} ago`;
}

/** Bytes as KB or MB. */
export function size(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : bytes < 1_048_576 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1_048_576).toFixed(1)} MB`;
}
