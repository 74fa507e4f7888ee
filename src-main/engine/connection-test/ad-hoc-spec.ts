/**
 * Turns ad-hoc test settings (the IPC form, the CLI flags) into a test spec:
 * defaults (security tls, the port for the protocol and security, auth from
 * the secret given) and checks that name the field to fix. No zod here: the
 * CLI's test path stays light; the IPC input is already checked by the
 * contract's schema before it gets here.
 */
import { AppError } from '../../shared/errors.js';
import { TEST_DEFAULT_PORTS, type TestAuthMethod, type ServerTestProtocol } from '../../shared/diagnosis-vocabulary.js';
import type { TestSpec } from './run-test.js';

/** Ad-hoc settings as given (after the contract's or the CLI's checks of each field). */
export interface AdHocFields {
  protocol: ServerTestProtocol;
  host: string;
  port?: number | undefined;
  security?: 'tls' | 'starttls' | 'none' | undefined;
  auth?: TestAuthMethod | undefined;
  user?: string | undefined;
  password?: string | undefined;
  token?: string | undefined;
  folder?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  timeoutMs?: number | undefined;
}

/** Per-step timeout when none is given, ms. */
export const DEFAULT_TIMEOUT_MS = 15_000;

/** A plausible email address (the server judges the rest). */
export const isEmail = (value: string | undefined): value is string => !!value && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value);
/** The domain of an email address, lower-cased. */
export const domainOf = (address: string | undefined): string | undefined => (isEmail(address) ? address.split('@')[1]!.toLowerCase() : undefined);

function invalid(path: string, message: string, hint?: string): AppError {
  return new AppError('VALIDATION_FAILED', `Invalid connection test: ${path} ${message}`, { issues: [{ path, message }], ...(hint ? { hint } : {}) });
}

/** Builds the spec of an ad-hoc test, with defaults and checks that name the field to fix. */
export function adHocSpec(input: AdHocFields): TestSpec {
  const security = input.security ?? 'tls';
  const auth: TestAuthMethod = input.auth ?? (input.password ? 'password' : input.token ? 'xoauth2' : 'none');
  const user = input.user?.trim() ?? '';
  if (auth !== 'none' && !user) throw invalid('user', `is required to sign in (auth ${auth}): give the user name, usually the full email address`);
  if (auth === 'password' && !input.password) throw invalid('password', 'is required for auth password', 'Give the password (or app password), or set auth to none to test without signing in.');
  if (auth === 'xoauth2' && !input.token) throw invalid('token', 'is required for auth xoauth2: give an OAuth 2.0 access token for the account');
  if (input.protocol === 'imap' && (input.to || input.from)) throw invalid('to', 'applies to SMTP tests only (IMAP tests select a folder instead)');
  if (input.protocol === 'pop3' && (input.to || input.from)) throw invalid('to', 'applies to SMTP tests only (POP3 tests count the messages instead)');
  if (input.protocol !== 'imap' && input.folder) throw invalid('folder', `applies to IMAP tests only${input.protocol === 'pop3' ? ' (POP3 has one mailbox, no folders)' : ''}`);
  const from = input.from ?? (isEmail(user) ? user : undefined);
  if (input.to && !from) throw invalid('from', 'is required to send a test message when the user name is not an email address');
  const mxDomain = domainOf(from) ?? domainOf(user);
  return {
    protocol: input.protocol,
    host: input.host,
    port: input.port ?? TEST_DEFAULT_PORTS[input.protocol][security],
    security,
    auth,
    user: auth === 'none' ? '' : user,
    ...(auth === 'password' && input.password ? { password: input.password } : {}),
    ...(auth === 'xoauth2' && input.token ? { token: input.token } : {}),
    ...(input.protocol === 'imap' ? { folder: input.folder ?? 'INBOX' } : {}),
    ...(input.protocol === 'smtp' && input.to ? { to: input.to, ...(from ? { from } : {}) } : {}),
    timeoutMs: input.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    ...(mxDomain ? { mxDomain } : {}),
  };
}

