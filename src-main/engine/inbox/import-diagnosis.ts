/**
 * Turns an error of the import (from imapflow, the socket, TLS or DNS) into
 * the facts the connection tests' diagnosis rules read, and asks those
 * rules for the code, summary and hint. There is one rule set in Mailroom
 * (engine/diagnose); this module only describes what happened.
 */
import { AppError, isAppError } from '../../shared/errors.js';
import type { Mailbox } from '../../shared/mailbox.js';
import { isOAuthMode } from '../../shared/mailbox.js';
import type { TestStepName } from '../../shared/diagnosis.js';
import { diagnose, type FailureFacts, type FailureKind } from '../diagnose/diagnose.js';
import { readSocketError } from '../diagnose/socket-errors.js';
import type { TokenFailureFacts } from '../diagnose/token-facts.js';
import { Pop3Error } from './pop3-client.js';

/** Where in a poll an error happened. */
export type ImportPhase = 'connect' | 'select' | 'fetch' | 'action';

/** The diagnosis of an import error: what the poll record, the receive state and the log carry. */
export interface ImportDiagnosis {
  code: string;
  /** One sentence: what went wrong. */
  message: string;
  /** What to change. */
  hint: string | null;
  /** The server's reply, when there was one. */
  serverReply: string | null;
}

interface ImapErrorLike {
  code?: string;
  message?: string;
  responseStatus?: string;
  responseText?: string;
  response?: unknown;
  serverResponseCode?: string;
  authenticationFailed?: boolean;
  tlsFailed?: boolean;
  mailboxMissing?: boolean;
  reason?: string;
  oauthError?: unknown;
  _err?: unknown;
}

// imapflow's own codes for a connection that is gone or never answered.
const CLOSED_CODES = new Set(['NoConnection', 'EConnectionClosed', 'StateLogout']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ETIMEOUT', 'CONNECT_TIMEOUT', 'UPGRADE_TIMEOUT', 'LockTimeout']);

/** The server's reply as one line, e.g. `NO [AUTHENTICATIONFAILED] Authentication failed.` */
function replyText(e: ImapErrorLike): string | undefined {
  const text = e.responseText ?? (typeof e.response === 'string' ? e.response : undefined);
  if (!text && !e.serverResponseCode) return undefined;
  const status = e.responseStatus ? `${e.responseStatus} ` : e.authenticationFailed ? 'NO ' : '';
  const code = e.serverResponseCode && !(text ?? '').includes(`[${e.serverResponseCode}]`) ? `[${e.serverResponseCode}] ` : '';
  return `${status}${code}${text ?? ''}`.trim();
}

function testAuth(mailbox: Mailbox): FailureFacts['auth'] {
  return isOAuthMode(mailbox.imap.auth) ? 'xoauth2' : 'password';
}

/** What else the import knows when an error happens. */
export interface ImportFailureContext {
  /** What the OAuth token of the connection said about itself (claims only, never the token). */
  token?: TokenFailureFacts;
}

/**
 * The diagnosis rules' facts for a POP3 import error: the same facts a POP3
 * connection test gathers for the same fault (step, kind, the server's
 * -ERR line, Node's error code), so the import says what the test says.
 */
export function pop3FailureFacts(error: Pop3Error, mailbox: Mailbox, context: ImportFailureContext = {}): FailureFacts {
  // A POP3 mailbox has its pop3 settings (resolveSettings makes sure of it); the IMAP ones are only a fallback.
  const pop3 = mailbox.pop3 ?? mailbox.imap;
  const socket = readSocketError(error);
  const step: TestStepName =
    socket?.kind === 'dns' || error.kind === 'dns'
      ? 'dns'
      : error.step === 'tcp'
        ? 'tcp'
        : error.step === 'tls'
          ? 'tls'
          : error.step === 'starttls'
            ? 'starttls'
            : error.step === 'capabilities'
              ? 'capability'
              : error.step === 'greeting' || error.step === 'auth'
                ? error.step
                : // After sign-in (UIDL, RETR, DELE, QUIT): the connection test's last POP3 step, where it checks UIDL.
                  'stat';
  const facts: FailureFacts = {
    protocol: 'pop3',
    step,
    kind: socket?.kind ?? error.kind,
    auth: isOAuthMode(pop3.auth) ? 'xoauth2' : 'password',
    security: pop3.security,
    host: pop3.host,
    port: pop3.port,
    user: pop3.username,
  };
  if (error.reply) facts.reply = error.reply;
  const code = socket?.errorCode ?? error.code;
  if (code && !/^POP3_/.test(code)) facts.errorCode = code;
  if (error.missing) facts.missing = error.missing;
  if (error.oauthError) facts.serverError = error.oauthError;
  if (context.token && facts.auth === 'xoauth2') Object.assign(facts, context.token);
  return facts;
}

/** The diagnosis rules' facts for an error in a phase of the import. */
export function importFailureFacts(error: unknown, phase: ImportPhase, mailbox: Mailbox, folder = mailbox.imap.folder, context: ImportFailureContext = {}): FailureFacts {
  if (error instanceof Pop3Error) return pop3FailureFacts(error, mailbox, context);
  const e = (error ?? {}) as ImapErrorLike;
  const inner = (e._err ?? {}) as ImapErrorLike;
  // Socket and TLS errors are read by the same function as the connection tests' and the outbox's.
  const socket = readSocketError(e) ?? readSocketError(inner);
  const code = socket?.errorCode ?? e.code ?? inner.code;
  const reply = replyText(e);
  let step: TestStepName = phase === 'connect' ? 'greeting' : 'select';
  let kind: FailureKind = 'reply';
  let missing: string | undefined;

  if (phase === 'connect') {
    if (e.authenticationFailed) step = 'auth';
    else if (socket?.kind === 'dns') (step = 'dns'), (kind = 'dns');
    else if (socket?.kind === 'connect') (step = 'tcp'), (kind = 'connect');
    else if (code === 'CONNECT_TIMEOUT' || code === 'ETIMEDOUT') (step = 'tcp'), (kind = 'timeout');
    else if (code === 'GREETING_TIMEOUT') (step = 'greeting'), (kind = 'timeout');
    else if (code === 'UPGRADE_TIMEOUT') (step = 'starttls'), (kind = 'timeout');
    // imapflow marks "Server does not support STARTTLS" as a TLS failure too: it is a missing capability.
    else if (!socket && /STARTTLS/i.test(e.message ?? '') && /support|offer|available/i.test(e.message ?? '')) (step = 'starttls'), (kind = 'missing'), (missing = 'STARTTLS');
    else if (socket?.kind === 'tls' || e.tlsFailed) (step = mailbox.imap.security === 'starttls' ? 'starttls' : 'tls'), (kind = 'tls');
    else if (code === 'ClosedAfterConnectTLS' || code === 'ClosedAfterConnectText') (step = 'greeting'), (kind = 'closed');
    else if (socket?.kind === 'closed' || (code && CLOSED_CODES.has(code))) kind = 'closed';
    else if (code && TIMEOUT_CODES.has(code)) kind = 'timeout';
    else if (!reply) kind = 'unexpected';
  } else if (socket?.kind === 'closed' || (code && CLOSED_CODES.has(code))) kind = 'closed';
  else if (code && TIMEOUT_CODES.has(code)) kind = 'timeout';
  else if (!reply) kind = code?.startsWith('ParserError') ? 'unexpected' : code === 'CommandFailed' ? 'reply' : 'closed';

  const facts: FailureFacts = {
    protocol: 'imap',
    step,
    kind,
    auth: testAuth(mailbox),
    security: mailbox.imap.security,
    host: mailbox.imap.host,
    port: mailbox.imap.port,
    user: mailbox.imap.username,
    folder,
  };
  if (reply) facts.reply = reply;
  else if (code === 'CommandFailed' && e.message) facts.reply = e.message;
  if (code) facts.errorCode = code;
  if (missing) facts.missing = missing;
  if (e.oauthError) facts.serverError = typeof e.oauthError === 'string' ? e.oauthError : JSON.stringify(e.oauthError);
  if (context.token && facts.auth === 'xoauth2') Object.assign(facts, context.token);
  return facts;
}

const PHASE_WORDS: Record<ImportPhase, string> = {
  connect: 'connecting',
  select: 'opening the folder',
  fetch: 'downloading messages',
  action: 'running the after-import action',
};

/**
 * The diagnosis of an import error. AppErrors raised by Mailroom itself
 * (a missing password, a token that cannot be had) keep their own code.
 */
export function diagnoseImportError(error: unknown, phase: ImportPhase, mailbox: Mailbox, folder?: string, context: ImportFailureContext = {}): ImportDiagnosis {
  if (isAppError(error)) {
    const app = error as AppError;
    return { code: app.code, message: app.message, hint: app.hint ?? null, serverReply: null };
  }
  const facts = importFailureFacts(error, phase, mailbox, folder, context);
  const d = diagnose(facts);
  // The rules speak of connection-test steps; after sign-in, say what the import was doing.
  const message = phase === 'connect' || phase === 'select' ? d.summary : d.summary.replace(/during the (select|stat) step/g, `while ${PHASE_WORDS[phase]}`).replace(/the (select|stat) step/g, PHASE_WORDS[phase]);
  return { code: d.code, message, hint: d.hint, serverReply: d.serverReply };
}

/** An AppError carrying an import diagnosis (for callers that throw). */
export function diagnosisError(d: ImportDiagnosis, cause?: unknown): AppError {
  return new AppError(d.code, d.message, { ...(d.hint ? { hint: d.hint } : {}), ...(cause ? { cause } : {}) });
}
