/**
 * Connection-test vocabulary shared by the engine, the IPC contract, the CLI
 * and the renderer: the steps of a test, the diagnosis codes (re-exported
 * from diagnosis-vocabulary.ts) and the schemas of a test's report.
 * Imports nothing from node or electron.
 *
 * The rules that map a server reply or a socket error to a code live in the
 * engine (src-main/engine/diagnose/); this module only names things.
 */
import { z } from 'zod';
import { CONNECTION_TEST_CODES, STEP_STATUSES, TEST_PROTOCOLS, TEST_STEP_NAMES } from './diagnosis-vocabulary.js';

// The plain constants (codes, titles, steps, methods, ports) live in a zod-free module.
export * from './diagnosis-vocabulary.js';

/**
 * The TLS session a `tls` or `starttls` step negotiated, or, when the
 * handshake failed on the version, what the server offered instead.
 */
export const StepTls = z.object({
  /** As Node names it: `TLSv1.3`, `TLSv1.2`, `TLSv1`... Null when unknown. */
  version: z.string().nullable(),
  /** The cipher suite (IANA name when known), e.g. `TLS_AES_256_GCM_SHA384`. */
  cipher: z.string().nullable(),
  /** False when the version is older than Mailroom's minimum (TLS 1.2): Mailroom refused it. */
  supported: z.boolean(),
});
/** The TLS session of a step. */
export type StepTls = z.infer<typeof StepTls>;

/** One step of a finished test. */
export const TestStep = z.object({
  name: z.enum(TEST_STEP_NAMES),
  status: z.enum(STEP_STATUSES),
  /** Elapsed milliseconds of this step (0 when skipped). */
  ms: z.number().int().nonnegative(),
  /** A short human-readable detail: addresses found, TLS version and certificate, the server's reply. */
  detail: z.string(),
  /** Only on `tls` and `starttls` steps that got as far as a version: the negotiated (or refused) version and cipher. */
  tls: StepTls.optional(),
});
/** One step of a finished test. */
export type TestStep = z.infer<typeof TestStep>;

/** Why a test failed and what to change: exactly one per failed test. */
export const Diagnosis = z.object({
  /** An SMTP/IMAP diagnosis code, or (a Graph test) a Graph-only one. */
  code: z.enum(CONNECTION_TEST_CODES),
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

/**
 * Something a test found that does not fail it but must not stay as it is,
 * with what to change: a sign-in over an unencrypted connection
 * (`PLAINTEXT_SIGN_IN`), a relay account that keeps the application's From on
 * Microsoft 365 (`RELAY_FROM_NOT_ALLOWED`). A test with warnings is still
 * `ok` (the CLI exits 0); the screens show it amber, never green.
 */
export const TestWarning = z.object({
  code: z.string(),
  /** One sentence: what is wrong. */
  message: z.string(),
  /** What to change. */
  hint: z.string(),
  /** The step it concerns, when it is one step's. */
  step: z.enum(TEST_STEP_NAMES).optional(),
});
/** A finding of a test that passed. */
export type TestWarning = z.infer<typeof TestWarning>;

/** The warning code of a password or token sent over an unencrypted connection. */
export const PLAINTEXT_SIGN_IN = 'PLAINTEXT_SIGN_IN';

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
  /** Findings that do not fail the test (present only when there are any). */
  warnings: z.array(TestWarning).optional(),
});
/** The report of one test of one protocol, as the CLI prints it. */
export type ConnectionTestReport = z.infer<typeof ConnectionTestReport>;
