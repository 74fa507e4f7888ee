/**
 * What a failed try means: nodemailer's error (and what the lane saw of the
 * session) turned into the facts the shared diagnosis rules read
 * (engine/diagnose), then into a decision: defer or fail, and whether the
 * whole mailbox should pause. There is no second rule set here: every code,
 * summary and hint comes from engine/diagnose.
 *
 * The policy:
 * - a 5xx reply to MAIL FROM, RCPT TO or DATA fails the message (for the
 *   recipients it concerns, when the server refused only some);
 * - a 4xx reply to those defers it;
 * - anything that breaks the session (DNS, connect, TLS, greeting,
 *   sign-in, a dropped connection, a server that stops answering) defers the
 *   message and pauses the mailbox, so that one broken setting does not burn
 *   a try of every queued message or lock the account with failed sign-ins;
 * - a reply that stops the whole account from sending for a while (a daily
 *   sending limit, an account or organisation blocked as a spam source)
 *   defers the message and pauses the mailbox too, even when it is a 5xx to
 *   MAIL FROM or DATA: every other message would get the same answer, and
 *   none of them is wrong; they go once the limit resets or an admin lifts
 *   the block.
 */
import type { Mailbox } from '../../shared/mailbox.js';
import { isOAuthMode } from '../../shared/mailbox.js';
import type { TestAuthMethod, TestStepName } from '../../shared/diagnosis.js';
import { isAppError } from '../../shared/errors.js';
import { diagnose, type FailureFacts, type FailureKind } from '../diagnose/diagnose.js';
import { readSocketError } from '../diagnose/socket-errors.js';
import type { TokenFailureFacts } from '../diagnose/token-facts.js';
import { wholeReply } from './smtp-reply.js';
import { isGraphError } from '../graph/graph-error.js';
import { diagnoseGraphError } from '../graph/graph-diagnosis.js';

/**
 * Where one lane's session stood when something failed: the SMTP step whose
 * reply was awaited (or, for `data`, whose message bytes were on the wire).
 */
export type LanePhase = Extract<TestStepName, 'tcp' | 'greeting' | 'ehlo' | 'starttls' | 'auth' | 'mail-from' | 'rcpt-to' | 'data'>;

/** Why a try failed and what to do about it. */
export interface SendFailure {
  /** Defer (try again later) rather than fail for good. */
  temporary: boolean;
  /** The session broke: pause the whole mailbox, not just this message. */
  pauseMailbox: boolean;
  code: string;
  message: string;
  hint: string | null;
  serverReply: string | null;
  /** The SMTP stage, as admins know it: CONNECT, TLS, GREETING, EHLO, STARTTLS, AUTH, MAIL FROM, RCPT TO, DATA, MESSAGE. */
  stage: string;
  /** The diagnosis rule that matched, for the log. */
  rule: string | null;
  /** The server asked to wait this long before the next try (Microsoft Graph's Retry-After), ms. */
  retryAfterMs?: number | null;
}

/** The nodemailer error fields this module reads. */
interface NodemailerError {
  message?: string;
  code?: string;
  originalCode?: string;
  command?: string;
  response?: string;
  responseCode?: number;
  timeoutType?: string;
  rejectedErrors?: { recipient?: string; response?: string; responseCode?: number }[];
}

const STAGE_LABEL: Record<TestStepName, string> = {
  dns: 'DNS',
  tcp: 'CONNECT',
  tls: 'TLS',
  greeting: 'GREETING',
  ehlo: 'EHLO',
  capability: 'CAPABILITY',
  starttls: 'STARTTLS',
  auth: 'AUTH',
  'mail-from': 'MAIL FROM',
  'rcpt-to': 'RCPT TO',
  data: 'DATA',
  select: 'SELECT',
  token: 'TOKEN',
  mailbox: 'MAILBOX',
  folder: 'FOLDER',
  'send-mail': 'SENDMAIL',
  stat: 'STAT',
};

const ENVELOPE_STEPS: readonly TestStepName[] = ['mail-from', 'rcpt-to', 'data'];

/** Codes that stop the whole account, not one message: defer and pause, never fail the message for good. */
export const ACCOUNT_WIDE_CODES: ReadonlySet<string> = new Set(['SENDING_LIMIT_EXCEEDED', 'SENDING_BLOCKED']);

/** The SASL method the mailbox's settings sign in with, in the diagnosis rules' terms. */
export function authMethodOf(mailbox: Pick<Mailbox, 'smtp'>): TestAuthMethod {
  return isOAuthMode(mailbox.smtp.auth) ? 'xoauth2' : mailbox.smtp.auth === 'password' ? 'password' : 'none';
}

function stepOfCommand(command: string | undefined): TestStepName | undefined {
  if (!command) return undefined;
  const c = command.toUpperCase();
  if (c === 'CONN') return 'greeting';
  if (c === 'EHLO' || c === 'HELO' || c === 'LHLO') return 'ehlo';
  if (c === 'STARTTLS') return 'starttls';
  if (c.startsWith('AUTH')) return 'auth';
  if (c === 'MAIL FROM') return 'mail-from';
  if (c === 'RCPT TO') return 'rcpt-to';
  if (c === 'DATA' || c === 'BDAT') return 'data';
  return undefined;
}

function stepOfPhase(phase: LanePhase): TestStepName {
  return phase;
}


/**
 * The wording of the shared rules is written for connection tests; the
 * outbox reports on real messages and has a send timeout setting instead of
 * a --timeout-ms flag.
 */
function forSending(text: string): string {
  return text
    .replace(/\bthe test message\b/g, 'the message')
    .replace(/\bthis test\b/g, 'this try')
    .replace(/raise --timeout-ms/g, 'raise the mailbox\'s send timeout (Outbox settings)')
    .replace(/\bthe time of this test\b/g, 'the time of this try')
    .replace(/\bmessage trace for this test\b/g, 'message trace for this message');
}

/** Context of a failure: the mailbox's settings and what the lane knows. */
export interface FailureContext {
  mailbox: Pick<Mailbox, 'address' | 'smtp'>;
  phase: LanePhase;
  /** The recipients of this try, for the rules' {to}. */
  recipients: string[];
  /** An error the token provider raised while the lane asked for an OAuth token, if any. */
  tokenError?: unknown;
  /** What the OAuth token of this try said about itself (its claims, never the token). */
  token?: TokenFailureFacts;
}

/** Builds the rules' facts from nodemailer's error. */
export function failureFacts(error: unknown, ctx: FailureContext): FailureFacts {
  const e = (error ?? {}) as NodemailerError;
  const errorCode = e.originalCode ?? (e.code && !/^E[A-Z]+$/.test(e.code) ? e.code : e.code === 'ETIMEDOUT' ? undefined : e.code);
  const reply = typeof e.response === 'string' && e.response.trim() ? e.response.trim() : undefined;
  // Socket and TLS errors are read by the same function as the connection tests' and the import's.
  const socket = reply && /^\d{3}/.test(reply) ? undefined : readSocketError(e);
  let kind: FailureKind;
  let step: TestStepName;
  if (reply && /^\d{3}/.test(reply)) {
    kind = 'reply';
    step = stepOfCommand(e.command) ?? stepOfPhase(ctx.phase);
  } else if (e.code === 'EDNS' || socket?.kind === 'dns') {
    kind = 'dns';
    step = 'dns';
  } else if (socket?.kind === 'connect') {
    kind = 'connect';
    step = 'tcp';
  } else if (socket?.kind === 'tls') {
    kind = 'tls';
    step = ctx.mailbox.smtp.security === 'tls' ? 'tls' : 'starttls';
  } else if (e.code === 'ETIMEDOUT' || errorCode === 'ETIMEDOUT') {
    kind = 'timeout';
    step = e.timeoutType === 'CONNECTION_TIMEOUT' ? (ctx.phase === 'tcp' ? 'tcp' : 'greeting') : e.timeoutType === 'GREETING_TIMEOUT' ? 'greeting' : stepOfPhase(ctx.phase);
  } else {
    kind = 'closed';
    step = stepOfCommand(e.command && e.command !== 'CONN' ? e.command : undefined) ?? stepOfPhase(ctx.phase);
  }
  const facts: FailureFacts = {
    protocol: 'smtp',
    step,
    kind,
    auth: authMethodOf(ctx.mailbox),
    security: ctx.mailbox.smtp.security,
    host: ctx.mailbox.smtp.host,
    port: ctx.mailbox.smtp.port,
    user: ctx.mailbox.smtp.username || ctx.mailbox.address,
    from: ctx.mailbox.address,
  };
  if (reply) facts.reply = reply;
  if (reply) {
    const code = Number(reply.slice(0, 3));
    if (Number.isInteger(code)) facts.replyCode = code;
  } else if (typeof e.responseCode === 'number') facts.replyCode = e.responseCode;
  const readCode = socket?.errorCode ?? errorCode;
  if (readCode) facts.errorCode = readCode;
  const to = ctx.recipients.length === 1 ? ctx.recipients[0] : undefined;
  if (to) facts.to = to;
  if (ctx.token && facts.auth === 'xoauth2') Object.assign(facts, ctx.token);
  return facts;
}

/** Classifies a failed try. */
export function classifySendFailure(error: unknown, ctx: FailureContext): SendFailure {
  // A token that could not be had (sign-in needed, consent revoked): the
  // OAuth module's own code and hint say what to do.
  if (ctx.tokenError !== undefined) {
    const t = ctx.tokenError;
    const info = isAppError(t) ? t : undefined;
    return {
      temporary: true,
      pauseMailbox: true,
      code: info?.code ?? 'OAUTH_TOKEN_REJECTED',
      message: info?.message ?? `No OAuth token could be had for ${ctx.mailbox.address}: ${t instanceof Error ? t.message : String(t)}`,
      hint: info?.hint ?? 'Sign in again with Microsoft (Mailboxes > the mailbox > Sign in).',
      serverReply: null,
      stage: 'AUTH',
      rule: null,
    };
  }
  // A message sent through Microsoft Graph: Graph's answer, by the Graph rules (same codes as SMTP's where the meaning is the same).
  if (isGraphError(error)) {
    const d = diagnoseGraphError(error, { operation: 'send', address: ctx.mailbox.address, auth: ctx.mailbox.smtp.auth === 'oauth2-app' ? 'app' : 'delegated' });
    return {
      temporary: d.temporary,
      pauseMailbox: d.pauseMailbox,
      code: d.code,
      message: d.summary,
      hint: d.hint,
      serverReply: d.serverReply,
      stage: error.status === 401 ? 'AUTH' : 'SENDMAIL',
      rule: d.rule,
      retryAfterMs: d.retryAfterMs,
    };
  }
  const e = (error ?? {}) as NodemailerError;
  // Problems nodemailer found before talking to the server: the message itself is unusable.
  if (e.command === 'API' && e.code !== 'ECONNECTION') {
    return {
      temporary: false,
      pauseMailbox: false,
      code: 'MESSAGE_INVALID',
      message: `The message cannot be sent as it is: ${e.message ?? 'invalid'}.`,
      hint: 'Check the recipients and the sender of the message; delete it and queue it again corrected.',
      serverReply: null,
      stage: 'MESSAGE',
      rule: null,
    };
  }
  const facts = failureFacts(error, ctx);
  const diagnosis = diagnose(facts);
  const replyCode = facts.replyCode;
  const envelopeReply = facts.kind === 'reply' && ENVELOPE_STEPS.includes(facts.step);
  const accountWide = ACCOUNT_WIDE_CODES.has(diagnosis.code);
  const permanent = envelopeReply && replyCode !== undefined && replyCode >= 500 && !accountWide;
  // 421 means the server is closing the session: a session problem, not this message's.
  const pauseMailbox = !envelopeReply || replyCode === 421 || accountWide;
  return {
    temporary: !permanent,
    pauseMailbox,
    code: diagnosis.code,
    message: forSending(diagnosis.summary),
    hint: forSending(diagnosis.hint),
    serverReply: diagnosis.serverReply ? diagnosis.serverReply.slice(0, 2000) : null,
    stage: STAGE_LABEL[facts.step],
    rule: diagnosis.rule,
  };
}

/** How the server answered for one recipient it did not take. */
export interface RecipientRefusal {
  address: string;
  /** `rejected` (5xx, for good) or `deferred` (4xx, try again). */
  status: 'rejected' | 'deferred';
  reply: string | null;
}

/** Reads nodemailer's per-recipient rejections (RCPT TO replies). */
export function recipientRefusals(rejectedErrors: NodemailerError['rejectedErrors'], rejected: string[] | undefined): RecipientRefusal[] {
  const out: RecipientRefusal[] = [];
  const seen = new Set<string>();
  for (const r of rejectedErrors ?? []) {
    if (!r.recipient) continue;
    const code = r.responseCode ?? Number((r.response ?? '').slice(0, 3));
    seen.add(r.recipient.toLowerCase());
    // The whole reply: a multi-line refusal may say why only on a later line.
    out.push({ address: r.recipient, status: code >= 400 && code < 500 ? 'deferred' : 'rejected', reply: wholeReply(r.response) });
  }
  for (const address of rejected ?? []) {
    if (!seen.has(address.toLowerCase())) out.push({ address, status: 'rejected', reply: null });
  }
  return out;
}

/**
 * The diagnosis of recipients the server refused, one rule lookup on the
 * first refusal's reply. When that reply stops the whole account (a daily
 * limit, a block), the refusals are turned into deferrals here (the caller
 * reads their status) and the mailbox pauses.
 */
export function classifyRefusals(refusals: RecipientRefusal[], ctx: FailureContext): SendFailure {
  const first = refusals.find((r) => r.status === 'rejected') ?? refusals[0]!;
  const facts: FailureFacts = {
    protocol: 'smtp',
    step: 'rcpt-to',
    kind: 'reply',
    auth: authMethodOf(ctx.mailbox),
    security: ctx.mailbox.smtp.security,
    host: ctx.mailbox.smtp.host,
    port: ctx.mailbox.smtp.port,
    user: ctx.mailbox.smtp.username || ctx.mailbox.address,
    from: ctx.mailbox.address,
    to: first.address,
  };
  if (first.reply) {
    facts.reply = first.reply;
    const code = Number(first.reply.slice(0, 3));
    if (Number.isInteger(code)) facts.replyCode = code;
  }
  if (ctx.token && facts.auth === 'xoauth2') Object.assign(facts, ctx.token);
  const diagnosis = diagnose(facts);
  // A refusal that stops the whole account (a sending limit, a block) is no verdict on these recipients.
  const accountWide = ACCOUNT_WIDE_CODES.has(diagnosis.code);
  if (accountWide) for (const r of refusals) r.status = 'deferred';
  const rejected = refusals.filter((r) => r.status === 'rejected').length;
  const deferred = refusals.length - rejected;
  const counts = [rejected ? `${rejected} refused` : '', deferred ? `${deferred} deferred` : ''].filter(Boolean).join(', ');
  return {
    temporary: deferred > 0,
    pauseMailbox: accountWide,
    code: diagnosis.code,
    message: `${forSending(diagnosis.summary)} (${counts}: ${refusals.map((r) => r.address).slice(0, 5).join(', ')}${refusals.length > 5 ? ', ...' : ''})`,
    hint: forSending(diagnosis.hint),
    serverReply: diagnosis.serverReply,
    stage: 'RCPT TO',
    rule: diagnosis.rule,
  };
}

/**
 * A relay submission that Exchange refused with SendAsDenied was refused
 * for its From (the relay account keeps the application's From, and the
 * mailbox may not send as it): the failure names the relay account and the
 * setting to change, instead of only the server's words. Other failures
 * are returned as they are.
 */
export function explainRelaySendAs(failure: SendFailure, submittedBy: string | null, mailbox: Pick<Mailbox, 'name' | 'address'>): SendFailure {
  // Exchange's SendAsDenied over SMTP, or Graph's ErrorSendAsDenied for a mailbox that sends through Graph.
  if ((failure.rule !== 'm365-send-as-denied' && failure.rule !== 'graph-send-as-denied') || !submittedBy?.startsWith('relay:')) return failure;
  const account = submittedBy.slice('relay:'.length);
  return {
    ...failure,
    message: `Exchange refused the From of relay account ${account}'s message: ${mailbox.name} (${mailbox.address}) may not send as the application's address (SendAsDenied).`,
    hint: `Let relay account ${account} send as the mailbox: mailroom relay account update ${account} --from mailbox (Outbox > Local relay > ${account} > From address: the mailbox's). Messages the application submits from then on go out as ${mailbox.address}; this one keeps the From it was accepted with, so have the application send it again. Or give ${mailbox.address} "Send as" permission on the application's address in the Exchange admin center, then Retry.`,
  };
}
