/**
 * Connection-test vocabulary shared by the engine, the IPC contract, the CLI
 * and the renderer: the steps of a test, the diagnosis codes and the shapes of
 * a test's report. Imports nothing from node or electron.
 *
 * The rules that map a server reply or a socket error to a code live in the
 * engine (src-main/engine/diagnose/); this module only names things.
 */
import { z } from 'zod';

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
  'STARTTLS_UNAVAILABLE',
  'AUTH_REQUIRES_TLS',
  'AUTH_METHOD_UNSUPPORTED',
  'AUTH_FAILED',
  'SMTP_AUTH_DISABLED',
  'BASIC_AUTH_DISABLED',
  'SECURITY_DEFAULTS_BLOCKED',
  'OAUTH_TOKEN_REJECTED',
  'OAUTH_WRONG_ACCOUNT',
  'SENDER_REJECTED',
  'RECIPIENT_REJECTED',
  'MESSAGE_REJECTED',
  'SERVER_TEMPORARY',
  'CONNECTION_DROPPED',
  'FOLDER_NOT_FOUND',
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
  STARTTLS_UNAVAILABLE: 'STARTTLS not offered',
  AUTH_REQUIRES_TLS: 'Sign-in needs an encrypted connection',
  AUTH_METHOD_UNSUPPORTED: 'Sign-in method not offered',
  AUTH_FAILED: 'User name or password rejected',
  SMTP_AUTH_DISABLED: 'SMTP AUTH turned off',
  BASIC_AUTH_DISABLED: 'Password sign-in blocked; OAuth needed',
  SECURITY_DEFAULTS_BLOCKED: 'Blocked by security defaults',
  OAUTH_TOKEN_REJECTED: 'OAuth token rejected',
  OAUTH_WRONG_ACCOUNT: 'Token is for another account',
  SENDER_REJECTED: 'Sender address refused',
  RECIPIENT_REJECTED: 'Recipient refused',
  MESSAGE_REJECTED: 'Message refused',
  SERVER_TEMPORARY: 'Temporary server problem',
  CONNECTION_DROPPED: 'Server closed the connection',
  FOLDER_NOT_FOUND: 'Folder not found',
  TIMEOUT: 'Server stopped answering',
};

/** The protocols a connection test speaks. */
export const TEST_PROTOCOLS = ['smtp', 'imap'] as const;
/** A protocol a connection test speaks. */
export type TestProtocol = (typeof TEST_PROTOCOLS)[number];

/** SMTP steps in the order they run. `tls` is only for implicit TLS; the last three only when a recipient is given. */
export const SMTP_STEPS = ['dns', 'tcp', 'tls', 'greeting', 'ehlo', 'starttls', 'auth', 'mail-from', 'rcpt-to', 'data'] as const;
/** IMAP steps in the order they run. */
export const IMAP_STEPS = ['dns', 'tcp', 'tls', 'greeting', 'capability', 'starttls', 'auth', 'select'] as const;
/** Every step name of either protocol. */
export const TEST_STEP_NAMES = ['dns', 'tcp', 'tls', 'greeting', 'ehlo', 'capability', 'starttls', 'auth', 'mail-from', 'rcpt-to', 'data', 'select'] as const;
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

/** One step of a finished test. */
export const TestStep = z.object({
  name: z.enum(TEST_STEP_NAMES),
  status: z.enum(STEP_STATUSES),
  /** Elapsed milliseconds of this step (0 when skipped). */
  ms: z.number().int().nonnegative(),
  /** A short human-readable detail: addresses found, TLS version and certificate, the server's reply. */
  detail: z.string(),
});
/** One step of a finished test. */
export type TestStep = z.infer<typeof TestStep>;

/** Why a test failed and what to change: exactly one per failed test. */
export const Diagnosis = z.object({
  code: z.enum(DIAGNOSIS_CODES),
  /** The step that failed. */
  step: z.enum(TEST_STEP_NAMES),
  /** One sentence: what went wrong. */
  summary: z.string(),
  /** What to change: a port, a security mode, an admin setting, an app password, a certificate. */
  hint: z.string(),
  /** The server's reply that failed the step (redacted), or null when there was none. */
  serverReply: z.string().nullable(),
});
/** Why a test failed and what to change. */
export type Diagnosis = z.infer<typeof Diagnosis>;

/** One line of the protocol transcript. Secrets are always redacted. */
export const TranscriptLine = z.object({
  /** `C` sent by Mailroom, `S` sent by the server, `info` a note by Mailroom. */
  dir: z.enum(['C', 'S', 'info']),
  /** Milliseconds since the test started. */
  t: z.number().int().nonnegative(),
  text: z.string(),
});
/** One line of the protocol transcript. */
export type TranscriptLine = z.infer<typeof TranscriptLine>;

/** Where a test connected. */
export const TestTarget = z.object({
  host: z.string(),
  port: z.number().int(),
  security: z.enum(['tls', 'starttls', 'none']),
});
/** Where a test connected. */
export type TestTarget = z.infer<typeof TestTarget>;

/** The certificate and session of a TLS connection. */
export const TlsDetails = z.object({
  /** e.g. `TLSv1.3`. */
  protocol: z.string().nullable(),
  /** e.g. `TLS_AES_256_GCM_SHA384`. */
  cipher: z.string().nullable(),
  /** Subject of the server's certificate, e.g. `CN=mail.example.com`. */
  subject: z.string().nullable(),
  /** Alternative names, e.g. `DNS:mail.example.com`, `IP Address:127.0.0.1`. */
  subjectAltNames: z.array(z.string()),
  issuer: z.string().nullable(),
  /** ISO 8601 date-times. */
  validFrom: z.string().nullable(),
  validTo: z.string().nullable(),
  /** SHA-256 fingerprint of the certificate. */
  fingerprint256: z.string().nullable(),
  /** Whether the chain verified against the trusted roots (including NODE_EXTRA_CA_CERTS). */
  trusted: z.boolean(),
  /** Node's verification error code when not trusted or the name does not match, e.g. `CERT_HAS_EXPIRED`. */
  verificationError: z.string().nullable(),
});
/** The certificate and session of a TLS connection. */
export type TlsDetails = z.infer<typeof TlsDetails>;

/** What the DNS step found. */
export const DnsDetails = z.object({
  host: z.string(),
  addresses: z.array(z.object({ address: z.string(), family: z.number().int() })),
  /** The domain whose MX records were looked up (the mailbox's address domain), when known. */
  mxDomain: z.string().nullable(),
  /** Its MX records, best first; null when not looked up, empty when there are none. */
  mx: z.array(z.object({ exchange: z.string(), priority: z.number().int() })).nullable(),
});
/** What the DNS step found. */
export type DnsDetails = z.infer<typeof DnsDetails>;

/**
 * The report of one test of one protocol, exactly as `mailroom test ... --json`
 * prints it. Scripts depend on this shape.
 */
export const ConnectionTestReport = z.object({
  ok: z.boolean(),
  protocol: z.enum(TEST_PROTOCOLS),
  target: TestTarget,
  steps: z.array(TestStep),
  diagnosis: Diagnosis.nullable(),
  transcript: z.array(TranscriptLine),
});
/** The report of one test of one protocol, as the CLI prints it. */
export type ConnectionTestReport = z.infer<typeof ConnectionTestReport>;
