/**
 * The Graph diagnosis rules (engine/graph/graph-diagnosis.ts): one test per
 * rule, fed with the real replies the rules cite, and the outbox's decision
 * (defer, fail, pause) for each.
 */
import { describe, expect, it } from 'vitest';
import { GRAPH_RULES, diagnoseGraphError, type GraphFailureContext } from '../../src-main/engine/graph/graph-diagnosis';
import { GraphError } from '../../src-main/engine/graph/graph-error';
import { GRAPH_DIAGNOSIS_CODES, GRAPH_DIAGNOSIS_TITLES } from '../../src-main/shared/diagnosis-vocabulary';
import { DIAGNOSIS_CODES } from '../../src-main/shared/diagnosis';

const send: GraphFailureContext = { operation: 'send', address: 'support@contoso.test', auth: 'delegated' };
const app: GraphFailureContext = { ...send, auth: 'app' };

function reply(status: number, graphCode: string, graphMessage: string, retryAfter: number | null = null): GraphError {
  return new GraphError({ status, graphCode, graphMessage, retryAfterMs: retryAfter, wwwAuthenticate: null, requestId: null, request: 'POST /users/x/sendMail' });
}

function network(kind: 'dns' | 'refused' | 'offline' | 'tls' | 'timeout' | 'other', reason = 'x'): GraphError {
  return new GraphError({ status: 0, graphCode: '', graphMessage: '', retryAfterMs: null, wwwAuthenticate: null, requestId: null, request: 'POST /x', network: { kind, reason, message: reason } });
}

const covered = new Set<string>();
function expectRule(error: GraphError, ctx: GraphFailureContext, rule: string, code: string) {
  const d = diagnoseGraphError(error, ctx);
  covered.add(d.rule);
  expect(d.rule).toBe(rule);
  expect(d.code).toBe(code);
  expect(d.hint.length).toBeGreaterThan(20);
  expect(d.summary).not.toMatch(/\{\w+\}/);
  expect(d.hint).not.toMatch(/\{\w+\}/);
  return d;
}

describe('one test per Graph rule', () => {
  it('graph-send-as-denied: ErrorSendAsDenied is SMTP\'s SENDER_REJECTED, failed for good', () => {
    const d = expectRule(reply(403, 'ErrorSendAsDenied', 'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message.'), send, 'graph-send-as-denied', 'SENDER_REJECTED');
    expect(d).toMatchObject({ temporary: false, pauseMailbox: false });
    expect(d.serverReply).toBe('HTTP 403 ErrorSendAsDenied: The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message.');
  });

  it('graph-access-policy: [RAOP] is GRAPH_ACCESS_POLICY_DENIED, deferred with the mailbox paused', () => {
    const d = expectRule(reply(403, 'ErrorAccessDenied', 'Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.'), app, 'graph-access-policy', 'GRAPH_ACCESS_POLICY_DENIED');
    expect(d).toMatchObject({ temporary: true, pauseMailbox: true });
    expect(d.hint).toContain('Test-ApplicationAccessPolicy -Identity support@contoso.test');
  });

  it('graph-mailbox-not-licensed: MailboxNotEnabledForRESTAPI, and the older "REST API is not yet supported" text', () => {
    expectRule(reply(404, 'MailboxNotEnabledForRESTAPI', 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.'), send, 'graph-mailbox-not-licensed', 'GRAPH_MAILBOX_NOT_LICENSED');
    const d = expectRule(reply(404, 'ResourceNotFound', 'REST API is not yet supported for this mailbox.'), { ...send, operation: 'delta' }, 'graph-mailbox-not-licensed', 'GRAPH_MAILBOX_NOT_LICENSED');
    expect(d.hint).toContain('licence');
  });

  it('graph-user-not-found: ErrorInvalidUser and Request_ResourceNotFound', () => {
    expectRule(reply(404, 'ErrorInvalidUser', "The requested user 'ghost@contoso.test' is invalid."), send, 'graph-user-not-found', 'GRAPH_MAILBOX_NOT_FOUND');
    expectRule(reply(404, 'Request_ResourceNotFound', "Resource 'ghost@contoso.test' does not exist or one of its queried reference-property objects are not present."), { ...send, operation: 'user' }, 'graph-user-not-found', 'GRAPH_MAILBOX_NOT_FOUND');
  });

  it('graph-token-refused: a 401 (after a fresh token) is OAUTH_TOKEN_REJECTED, with the permissions of the sign-in kind', () => {
    const delegated = expectRule(reply(401, 'InvalidAuthenticationToken', 'Access token has expired or is not yet valid.'), send, 'graph-token-refused', 'OAUTH_TOKEN_REJECTED');
    expect(delegated.hint).toContain('delegated permissions Mail.Send and Mail.ReadWrite');
    const appOnly = expectRule(reply(401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid audience.'), app, 'graph-token-refused', 'OAUTH_TOKEN_REJECTED');
    expect(appOnly.hint).toContain('application permissions Mail.Send and Mail.ReadWrite');
  });

  it('graph-permission-missing: ErrorAccessDenied without a policy is a token without the permission', () => {
    expectRule(reply(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.'), send, 'graph-permission-missing', 'OAUTH_TOKEN_REJECTED');
  });

  it('graph-sending-quota: a submission quota stops the account: SENDING_LIMIT_EXCEEDED, deferred and paused', () => {
    const d = expectRule(reply(403, 'ErrorSubmissionQuotaExceeded', 'Cannot submit message. Submission quota exceeded.'), send, 'graph-sending-quota', 'SENDING_LIMIT_EXCEEDED');
    expect(d).toMatchObject({ temporary: true, pauseMailbox: true });
  });

  it('graph-throttled: 429 keeps its Retry-After', () => {
    const d = expectRule(reply(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', 7000), send, 'graph-throttled', 'SERVER_TEMPORARY');
    expect(d.retryAfterMs).toBe(7000);
    expect(d.summary).toContain('wait 7 s');
  });

  it('graph-unavailable: 503 and 504 are temporary', () => {
    expectRule(reply(503, 'ServiceUnavailable', 'The service is temporarily unavailable.', 3000), send, 'graph-unavailable', 'SERVER_TEMPORARY');
    expectRule(reply(504, 'GatewayTimeout', ''), { ...send, operation: 'delta' }, 'graph-unavailable', 'SERVER_TEMPORARY');
  });

  it('graph-folder-missing: the import\'s folder', () => {
    const d = expectRule(reply(404, 'ErrorItemNotFound', 'The specified object was not found in the store.'), { ...send, operation: 'folder', folder: 'Tickets' }, 'graph-folder-missing', 'FOLDER_NOT_FOUND');
    expect(d.summary).toContain('Tickets');
  });

  it('graph-action-folder-missing: the move target, without pausing the import', () => {
    const d = expectRule(reply(404, 'ErrorItemNotFound', 'The specified object was not found in the store.'), { ...send, operation: 'action', folder: 'Processed' }, 'graph-action-folder-missing', 'FOLDER_NOT_FOUND');
    expect(d.pauseMailbox).toBe(false);
  });

  it('graph-mime-invalid: bad MIME fails the message for good', () => {
    const d = expectRule(reply(400, 'ErrorMimeContentInvalidBase64String', 'Invalid base64 string for MIME content.'), send, 'graph-mime-invalid', 'MESSAGE_REJECTED');
    expect(d).toMatchObject({ temporary: false, pauseMailbox: false });
  });

  it('graph-dns, graph-refused, graph-tls, graph-timeout: no answer', () => {
    expectRule(network('dns', 'the host name could not be resolved (ENOTFOUND)'), send, 'graph-dns', 'DNS_NOT_FOUND');
    expectRule(network('refused', 'the connection was refused (ECONNREFUSED)'), send, 'graph-refused', 'TCP_REFUSED');
    expectRule(network('tls', 'the TLS certificate was not accepted (SELF_SIGNED_CERT_IN_CHAIN)'), send, 'graph-tls', 'TLS_CERT_UNTRUSTED');
    expectRule(network('timeout', 'no answer within 60 s'), send, 'graph-timeout', 'TIMEOUT');
  });

  it('graph-client-error: another 4xx to sendMail fails the message', () => {
    expectRule(reply(409, 'ErrorIrresolvableConflict', 'Conflict.'), send, 'graph-client-error', 'MESSAGE_REJECTED');
  });

  it('graph-other: anything else is temporary', () => {
    const d = expectRule(reply(418, 'Teapot', ''), { ...send, operation: 'delta' }, 'graph-other', 'SERVER_TEMPORARY');
    expect(d.temporary).toBe(true);
  });

  it('covers every rule, and every code is a shared one or a Graph-only one with a title', () => {
    expect(GRAPH_RULES.map((r) => r.id).filter((id) => !covered.has(id))).toEqual([]);
    const known = new Set<string>([...DIAGNOSIS_CODES, ...GRAPH_DIAGNOSIS_CODES]);
    for (const rule of GRAPH_RULES) expect(known.has(rule.code), rule.code).toBe(true);
    for (const code of GRAPH_DIAGNOSIS_CODES) expect(GRAPH_DIAGNOSIS_TITLES[code]).toBeTruthy();
    for (const rule of GRAPH_RULES) expect(rule.source.length).toBeGreaterThan(5);
  });
});

describe('the outbox\'s use of the Graph rules', () => {
  it('classifies a Graph refusal like an SMTP one (stage SENDMAIL, Retry-After kept), and names the relay account of a relayed message refused for its From', async () => {
    const { classifySendFailure, explainRelaySendAs } = await import('../../src-main/engine/outbox/send-failure');
    const mailbox = { name: 'Support', address: 'support@contoso.test', smtp: { host: 'smtp.office365.com', port: 587, security: 'starttls', username: 'support@contoso.test', auth: 'oauth2' } } as const;
    const throttled = classifySendFailure(reply(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', 5000), { mailbox: mailbox as never, phase: 'data', recipients: ['a@example.test'] });
    expect(throttled).toMatchObject({ code: 'SERVER_TEMPORARY', stage: 'SENDMAIL', temporary: true, pauseMailbox: true, retryAfterMs: 5000 });
    const sendAs = classifySendFailure(reply(403, 'ErrorSendAsDenied', 'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message.'), { mailbox: mailbox as never, phase: 'data', recipients: ['a@example.test'] });
    const explained = explainRelaySendAs(sendAs, 'relay:scanner', mailbox);
    expect(explained.message).toContain('relay account scanner');
    expect(explained.hint).toContain('mailroom relay account update scanner --from mailbox');
  });
});
