/** Fills the activity log with realistic entries quickly (one transaction). */
import type { Mailroom } from '../../src-main/engine/mailroom';
import type { LogInput } from '../../src-main/shared/activity-log';

const SAMPLES: Omit<LogInput, 'mailboxId' | 'at'>[] = [
  { direction: 'send', level: 'success', message: 'Sent "Re: Printer on floor 3" to 1 recipient', detail: '250 2.0.0 OK <queued as 4F2A1C>' , refKind: 'outbox', refId: 1 },
  { direction: 'send', level: 'warning', code: 'SERVER_TEMPORARY', message: 'Deferred "Password reset": the server is busy; retry 3 of 8 in 4 min', detail: '451 4.3.0 Mail server temporarily rejected message.', refKind: 'outbox', refId: 2 },
  { direction: 'send', level: 'error', code: 'SMTP_AUTH_DISABLED', message: 'Send failed: SMTP AUTH is turned off for the tenant', detail: '535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.\nHint: turn on Authenticated SMTP for the mailbox in the Microsoft 365 admin center, or sign in with OAuth 2.0.', refKind: 'outbox', refId: 3 },
  { direction: 'receive', level: 'success', message: 'Poll: 4 fetched, 4 imported, 0 duplicates', refKind: 'poll', refId: 1 },
  { direction: 'receive', level: 'error', code: 'AUTH_FAILED', message: 'Poll failed: the user name or password was rejected', detail: 'NO [AUTHENTICATIONFAILED] Authentication failed.', refKind: 'poll', refId: 2 },
  { direction: 'test', level: 'success', message: 'Connection test passed: SMTP smtp.office365.com:587 STARTTLS', refKind: 'connection-test', refId: 1 },
  { direction: 'auth', level: 'info', message: 'Access token refreshed; valid until 15:42' },
  { direction: 'system', level: 'info', message: 'Engine started: 2 mailboxes enabled' },
];

/** Writes `count` entries spread over the last `spanMs`, cycling through the samples and mailboxes. */
export function seedLog(engine: Mailroom, count: number, mailboxIds: (number | null)[], spanMs = 7 * 864e5, now = Date.now()): void {
  const insert = engine.db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const sample = SAMPLES[i % SAMPLES.length]!;
      engine.log.write({ ...sample, mailboxId: mailboxIds[i % mailboxIds.length] ?? null, at: now - spanMs + Math.floor((spanMs * i) / count) });
    }
  });
  insert();
}
