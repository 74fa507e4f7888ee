/**
 * The connection-test vocabulary as plain constants: diagnosis codes and
 * their titles, protocols, step names, sign-in methods, step outcomes and
 * default ports. No zod here: the CLI's test path loads only this, which
 * keeps `mailroom test` quick to start. shared/diagnosis.ts re-exports all
 * of it next to the schemas. Imports nothing from node or electron.
 */

/**
 * Every diagnosis code, stable across versions: scripts and admins quote them.
 * A failed test carries exactly one.
 */
export const DIAGNOSIS_CODES = [
  'DNS_NOT_FOUND',
  'TCP_REFUSED',
  'TCP_TIMEOUT',
  'GREETING_TIMEOUT',
  'SERVER_REJECTED_CONNECTION',
  'PROTOCOL_MISMATCH',
  'TLS_MODE_MISMATCH',
  'TLS_CERT_UNTRUSTED',
  'TLS_CERT_HOSTNAME',
  'TLS_CERT_EXPIRED',
  'TLS_VERSION_UNSUPPORTED',
  'STARTTLS_UNAVAILABLE',
  'AUTH_REQUIRES_TLS',
  'AUTH_METHOD_UNSUPPORTED',
  'AUTH_FAILED',
  'SMTP_AUTH_DISABLED',
  'BASIC_AUTH_DISABLED',
  'BASIC_AUTH_RETIRED',
  'SECURITY_DEFAULTS_BLOCKED',
  'OAUTH_TOKEN_REJECTED',
  'OAUTH_WRONG_ACCOUNT',
  'OAUTH_APP_NO_MAILBOX_ACCESS',
  'SENDER_REJECTED',
  'RECIPIENT_REJECTED',
  'MESSAGE_REJECTED',
  'SENDING_LIMIT_EXCEEDED',
  'SENDING_BLOCKED',
  'SERVER_TEMPORARY',
  'CONNECTION_DROPPED',
  'FOLDER_NOT_FOUND',
  'MAILDROP_LOCKED',
  'POP3_NO_UIDL',
  'TIMEOUT',
] as const;

/** A diagnosis code. */
export type DiagnosisCode = (typeof DIAGNOSIS_CODES)[number];

/** A short title per code, for lists and badges (the summary says more). */
export const DIAGNOSIS_TITLES: Record<DiagnosisCode, string> = {
  DNS_NOT_FOUND: 'Server name not found',
  TCP_REFUSED: 'Connection refused',
  TCP_TIMEOUT: 'No answer to connect',
  GREETING_TIMEOUT: 'Server never greeted',
  SERVER_REJECTED_CONNECTION: 'Server refused the session',
  PROTOCOL_MISMATCH: 'Port speaks another protocol',
  TLS_MODE_MISMATCH: 'Wrong security mode for this port',
  TLS_CERT_UNTRUSTED: 'Certificate not trusted',
  TLS_CERT_HOSTNAME: 'Certificate is for another name',
  TLS_CERT_EXPIRED: 'Certificate expired',
  TLS_VERSION_UNSUPPORTED: 'Server speaks only old TLS (1.0/1.1)',
  STARTTLS_UNAVAILABLE: 'STARTTLS not offered',
  AUTH_REQUIRES_TLS: 'Sign-in needs an encrypted connection',
  AUTH_METHOD_UNSUPPORTED: 'Sign-in method not offered',
  AUTH_FAILED: 'User name or password rejected',
  SMTP_AUTH_DISABLED: 'SMTP AUTH turned off',
  BASIC_AUTH_DISABLED: 'Password sign-in blocked; OAuth needed',
  BASIC_AUTH_RETIRED: 'Password sign-in retired by Microsoft; OAuth needed',
  SECURITY_DEFAULTS_BLOCKED: 'Blocked by security defaults',
  OAUTH_TOKEN_REJECTED: 'OAuth token rejected',
  OAUTH_WRONG_ACCOUNT: 'Token is for another account',
  OAUTH_APP_NO_MAILBOX_ACCESS: 'App has no access to this mailbox',
  SENDER_REJECTED: 'Sender address refused',
  RECIPIENT_REJECTED: 'Recipient refused',
  MESSAGE_REJECTED: 'Message refused',
  SENDING_LIMIT_EXCEEDED: 'Sending limit reached',
  SENDING_BLOCKED: 'Sending blocked by the provider',
  SERVER_TEMPORARY: 'Temporary server problem',
  CONNECTION_DROPPED: 'Server closed the connection',
  FOLDER_NOT_FOUND: 'Folder not found',
  MAILDROP_LOCKED: 'Mailbox in use by another POP3 client',
  POP3_NO_UIDL: 'Server cannot name its messages (no UIDL)',
  TIMEOUT: 'Server stopped answering',
};

/**
 * Diagnosis codes of faults only Microsoft Graph has (issue 16): sending and
 * receiving through Graph use the codes above where the meaning is the same
 * (SENDER_REJECTED, OAUTH_TOKEN_REJECTED, FOLDER_NOT_FOUND, SERVER_TEMPORARY...)
 * and these where it is not. Kept apart from DIAGNOSIS_CODES, which are the
 * connection tests' (each covered by an SMTP or IMAP rule).
 */
export const GRAPH_DIAGNOSIS_CODES = ['GRAPH_MAILBOX_NOT_LICENSED', 'GRAPH_ACCESS_POLICY_DENIED', 'GRAPH_MAILBOX_NOT_FOUND'] as const;

/** A Graph-only diagnosis code. */
export type GraphDiagnosisCode = (typeof GRAPH_DIAGNOSIS_CODES)[number];

/** A short title per Graph-only code. */
export const GRAPH_DIAGNOSIS_TITLES: Record<GraphDiagnosisCode, string> = {
  GRAPH_MAILBOX_NOT_LICENSED: 'No Exchange Online mailbox (licence)',
  GRAPH_ACCESS_POLICY_DENIED: 'Blocked by an application access policy',
  GRAPH_MAILBOX_NOT_FOUND: 'Mailbox not found by Microsoft Graph',
};

/**
 * Codes only the Microsoft Graph connection test gives: no token for Graph
 * could be had at its `token` step (the sign-in's own error says why).
 */
export const GRAPH_TEST_CODES = ['OAUTH_TOKEN_UNAVAILABLE'] as const;

/** Titles of the Graph test's own codes. */
export const GRAPH_TEST_TITLES: Record<(typeof GRAPH_TEST_CODES)[number], string> = {
  OAUTH_TOKEN_UNAVAILABLE: 'No token for Microsoft Graph',
};

/**
 * Every code a stored connection-test result may carry: the SMTP and IMAP
 * diagnoses, the Graph-only faults and the Graph test's own.
 */
export const CONNECTION_TEST_CODES = [...DIAGNOSIS_CODES, ...GRAPH_DIAGNOSIS_CODES, ...GRAPH_TEST_CODES] as const;
/** A code a connection-test result may carry. */
export type ConnectionTestCode = (typeof CONNECTION_TEST_CODES)[number];

/** The short title of any connection-test code (lists and badges). */
export const CONNECTION_TEST_TITLES: Record<ConnectionTestCode, string> = { ...DIAGNOSIS_TITLES, ...GRAPH_DIAGNOSIS_TITLES, ...GRAPH_TEST_TITLES };

/**
 * The protocols a connection test speaks. `graph` is Microsoft Graph over
 * HTTPS (a Microsoft 365 mailbox that sends or receives through Graph): it
 * runs its own steps (GRAPH_STEPS) and is tested only for a saved mailbox.
 */
export const TEST_PROTOCOLS = ['smtp', 'imap', 'pop3', 'graph'] as const;
/** A protocol a connection test speaks. */
export type TestProtocol = (typeof TEST_PROTOCOLS)[number];
/**
 * The protocols tested by talking to a mail server on its port (DNS, TCP,
 * TLS, the protocol's own steps): what an ad-hoc test can be, and what the
 * socket runner (run-test.ts) speaks.
 */
export const SERVER_TEST_PROTOCOLS = ['smtp', 'imap', 'pop3'] as const;
/** A protocol tested on a mail server's port. */
export type ServerTestProtocol = (typeof SERVER_TEST_PROTOCOLS)[number];

/** SMTP steps in the order they run. `tls` is only for implicit TLS; the last three only when a recipient is given. */
export const SMTP_STEPS = ['dns', 'tcp', 'tls', 'greeting', 'ehlo', 'starttls', 'auth', 'mail-from', 'rcpt-to', 'data'] as const;
/** IMAP steps in the order they run. */
export const IMAP_STEPS = ['dns', 'tcp', 'tls', 'greeting', 'capability', 'starttls', 'auth', 'select'] as const;
/**
 * Microsoft Graph steps in the order they run: a token for Graph, the
 * mailbox (`GET /users/{id}`: does it exist, has it an Exchange Online
 * licence), its folder (`GET .../mailFolders/{id}`), and with a recipient a
 * test message (`POST .../sendMail`).
 */
export const GRAPH_STEPS = ['token', 'mailbox', 'folder', 'send-mail'] as const;
/**
 * POP3 steps in the order they run: `capability` is CAPA, `starttls` is STLS,
 * `stat` counts the messages (and checks that the server names them with
 * UIDL, which the import needs to take each message once).
 */
export const POP3_STEPS = ['dns', 'tcp', 'tls', 'greeting', 'capability', 'starttls', 'auth', 'stat'] as const;
/** Every step name of any protocol. */
export const TEST_STEP_NAMES = ['dns', 'tcp', 'tls', 'greeting', 'ehlo', 'capability', 'starttls', 'auth', 'mail-from', 'rcpt-to', 'data', 'select', 'stat', 'token', 'mailbox', 'folder', 'send-mail'] as const;
/** A step name. */
export type TestStepName = (typeof TEST_STEP_NAMES)[number];

/** How a test signs in. `xoauth2` sends an OAuth 2.0 access token (SASL XOAUTH2). */
export const TEST_AUTH_METHODS = ['password', 'xoauth2', 'none'] as const;
/** How a test signs in. */
export type TestAuthMethod = (typeof TEST_AUTH_METHODS)[number];

/** The outcome of one step. */
export const STEP_STATUSES = ['ok', 'failed', 'skipped'] as const;
/** The outcome of one step. */
export type StepStatus = (typeof STEP_STATUSES)[number];

/** Default ports of a test by protocol and security mode (the same as a mailbox's; checked at compile time). */
export const TEST_DEFAULT_PORTS = {
  imap: { tls: 993, starttls: 143, none: 143 },
  smtp: { tls: 465, starttls: 587, none: 25 },
  pop3: { tls: 995, starttls: 110, none: 110 },
} as const satisfies (typeof import('./mailbox.js'))['DEFAULT_PORTS'];

/**
 * The oldest TLS version Mailroom speaks to a mail server (Node's name for
 * it). TLS 1.0 and 1.1 are retired (RFC 8996); a server that offers nothing
 * newer gets TLS_VERSION_UNSUPPORTED.
 */
export const MINIMUM_TLS_VERSION = 'TLSv1.2' as const;

/** A TLS version as people write it: `TLSv1.3` -> `TLS 1.3`, `TLSv1` -> `TLS 1.0`. */
export function tlsVersionLabel(protocol: string | null | undefined): string {
  if (!protocol) return 'an unknown TLS version';
  const match = /^TLSv1(?:\.(\d))?$/.exec(protocol);
  if (match) return `TLS 1.${match[1] ?? '0'}`;
  return protocol.replace(/^SSLv/, 'SSL ');
}
