/**
 * The words for the steps of a conversation with a mail server, as the
 * connection test shows them ("Connect (TCP)"). Every surface that names a
 * step (a connection test, an outbox message's failed try, a log entry, the
 * CLI) uses these, so one fault reads the same everywhere. Stored records keep
 * their stage codes (`CONNECT`, `RCPT TO`); only what is shown is turned into
 * words. Imports nothing from node or electron.
 */
import type { TestStepName } from './diagnosis-vocabulary.js';

/** The label of each step, in the admin's words. */
export const STEP_LABELS: Record<TestStepName, string> = {
  dns: 'Look up the server name (DNS)',
  tcp: 'Connect (TCP)',
  tls: 'Encrypt (implicit TLS)',
  greeting: 'Server greeting',
  ehlo: 'Introduce (EHLO)',
  capability: 'Capabilities',
  starttls: 'Encrypt (STARTTLS)',
  auth: 'Sign in',
  'mail-from': 'Sender accepted (MAIL FROM)',
  'rcpt-to': 'Recipient accepted (RCPT TO)',
  data: 'Test message accepted (DATA)',
  select: 'Open the folder (SELECT)',
  token: 'Get a token for Microsoft Graph',
  mailbox: 'Find the mailbox (GET /users)',
  folder: 'Open the folder (GET mailFolders)',
  'send-mail': 'Test message accepted (sendMail)',
  stat: 'Count the messages (STAT)',
};

/** The stage codes an outbox try records, by the step they stand for. */
const STAGE_STEPS: Record<string, TestStepName> = {
  DNS: 'dns',
  CONN: 'tcp',
  CONNECT: 'tcp',
  TLS: 'tls',
  GREETING: 'greeting',
  EHLO: 'ehlo',
  CAPABILITY: 'capability',
  STARTTLS: 'starttls',
  AUTH: 'auth',
  'MAIL FROM': 'mail-from',
  'RCPT TO': 'rcpt-to',
  DATA: 'data',
  SELECT: 'select',
  STAT: 'stat',
};

/** Stages that are no step of a connection test. */
const OTHER_STAGES: Record<string, string> = { MESSAGE: 'Message accepted (after DATA)', SENDMAIL: 'Sent through Microsoft Graph (sendMail)' };

/**
 * The words of a stored stage code (`CONNECT` -> "Connect (TCP)"); a code
 * this version does not know is shown as it is.
 */
export function stageLabel(stage: string): string {
  const key = stage.trim().toUpperCase();
  const step = STAGE_STEPS[key];
  return step ? STEP_LABELS[step] : OTHER_STAGES[key] ?? stage;
}
