/**
 * Turns an error of the import (from imapflow, the socket, TLS or DNS) into
 * the facts the connection tests' diagnosis rules read, and asks those
 * rules for the code, summary and hint. There is one rule set in Mailroom
 * (engine/diagnose); this module only describes what happened.
 */
import { AppError, isAppError } from '../../shared/errors.js';
import type { Mailbox } from '../../shared/mailbox.js';
import type { TestStepName } from '../../shared/diagnosis.js';
import { diagnose, type FailureFacts, type FailureKind } from '../diagnose/diagnose.js';

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

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_NODATA', 'ENODATA', 'NXDOMAIN']);
const CONNECT_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'EACCES']);
const CLOSED_CODES = new Set(['NoConnection', 'EConnectionClosed', 'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'StateLogout', 'ERR_STREAM_DESTROYED']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ETIMEOUT', 'CONNECT_TIMEOUT', 'UPGRADE_TIMEOUT', 'LockTimeout']);

function isTlsCode(code: string | undefined): boolean {
  return Boolean(code && (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|HOSTNAME|ALTNAME/.test(code)));
}

/** The server's reply as one line, e.g. `NO [AUTHENTICATIONFAILED] Authentication failed.` */
function replyText(e: ImapErrorLike): string | undefined {
  const text = e.responseText ?? (typeof e.response === 'string' ? e.response : undefined);
  if (!text && !e.serverResponseCode) return undefined;
  const status = e.responseStatus ? `${e.responseStatus} ` : e.authenticationFailed ? 'NO ' : '';
  const code = e.serverResponseCode && !(text ?? '').includes(`[${e.serverResponseCode}]`) ? `[${e.serverResponseCode}] ` : '';
  return `${status}${code}${text ?? ''}`.trim();
}

function testAuth(mailbox: Mailbox): FailureFacts['auth'] {
  return mailbox.imap.auth === 'oauth2' ? 'xoauth2' : 'password';
}

/** The diagnosis rules' facts for an error in a phase of the import. */
export function importFailureFacts(error: unknown, phase: ImportPhase, mailbox: Mailbox, folder = mailbox.imap.folder): FailureFacts {
  const e = (error ?? {}) as ImapErrorLike;
  const inner = (e._err ?? {}) as ImapErrorLike;
  const code = e.code ?? inner.code;
  const reply = replyText(e);
  let step: TestStepName = phase === 'connect' ? 'greeting' : 'select';
  let kind: FailureKind = 'reply';
  let missing: string | undefined;

  if (phase === 'connect') {
    if (e.authenticationFailed) step = 'auth';
    else if (code && DNS_CODES.has(code)) (step = 'dns'), (kind = 'dns');
    else if (code && CONNECT_CODES.has(code)) (step = 'tcp'), (kind = 'connect');
    else if (code === 'CONNECT_TIMEOUT' || code === 'ETIMEDOUT') (step = 'tcp'), (kind = 'timeout');
    else if (code === 'GREETING_TIMEOUT') (step = 'greeting'), (kind = 'timeout');
    else if (code === 'UPGRADE_TIMEOUT') (step = 'starttls'), (kind = 'timeout');
    else if (e.tlsFailed || isTlsCode(code)) (step = mailbox.imap.security === 'starttls' ? 'starttls' : 'tls'), (kind = 'tls');
    else if (/STARTTLS/i.test(e.message ?? '') && /support|offer|available/i.test(e.message ?? '')) (step = 'starttls'), (kind = 'missing'), (missing = 'STARTTLS');
    else if (code === 'ClosedAfterConnectTLS' || code === 'ClosedAfterConnectText') (step = 'greeting'), (kind = 'closed');
    else if (code && CLOSED_CODES.has(code)) kind = 'closed';
    else if (code && TIMEOUT_CODES.has(code)) kind = 'timeout';
    else if (!reply) kind = 'unexpected';
  } else if (code && CLOSED_CODES.has(code)) kind = 'closed';
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
export function diagnoseImportError(error: unknown, phase: ImportPhase, mailbox: Mailbox, folder?: string): ImportDiagnosis {
  if (isAppError(error)) {
    const app = error as AppError;
    return { code: app.code, message: app.message, hint: app.hint ?? null, serverReply: null };
  }
  const facts = importFailureFacts(error, phase, mailbox, folder);
  const d = diagnose(facts);
  // The rules speak of connection-test steps; after sign-in, say what the import was doing.
  const message = phase === 'connect' || phase === 'select' ? d.summary : d.summary.replace(/during the select step/g, `while ${PHASE_WORDS[phase]}`).replace(/the select step/g, PHASE_WORDS[phase]);
  return { code: d.code, message, hint: d.hint, serverReply: d.serverReply };
}

/** An AppError carrying an import diagnosis (for callers that throw). */
export function diagnosisError(d: ImportDiagnosis, cause?: unknown): AppError {
  return new AppError(d.code, d.message, { ...(d.hint ? { hint: d.hint } : {}), ...(cause ? { cause } : {}) });
}
