/**
 * Diagnosis rules for Microsoft Graph replies: an HTTP status and Graph's
 * error JSON (`{ "error": { "code", "message", "innerError" } }`) -> a stable
 * code -> a one-sentence summary and what to change. Rules are data, tried
 * in order; the last ones match any failure, so a failed step always gets
 * exactly one diagnosis. Where the meaning is the same as an SMTP or IMAP
 * fault the code is the same (SENDER_REJECTED, FOLDER_NOT_FOUND,
 * OAUTH_TOKEN_REJECTED, SERVER_TEMPORARY...); Graph-only faults have their
 * own (GRAPH_MAILBOX_NOT_LICENSED, GRAPH_ACCESS_POLICY_DENIED...).
 *
 * Each rule names where its reply text was seen (`source`); the unit tests
 * feed every rule the reply it cites (test/unit/graph-replies.test.ts).
 */
import type { DiagnosisCode, TestStepName } from '../../shared/diagnosis.js';

/** What a failed Graph request looked like. */
export interface GraphReplyFacts {
  step: TestStepName;
  /** HTTP status. */
  status: number;
  /** Graph's error code (`error.code`), when the body had one. */
  errorCode?: string;
  /** Graph's error message (`error.message`). */
  errorMessage?: string;
  /** The `WWW-Authenticate` header of a 401. */
  wwwAuthenticate?: string;
  /** The `Retry-After` header of a 429 or 503, seconds. */
  retryAfterSeconds?: number;
  /** The mailbox (user id or UPN) asked for. */
  mailbox: string;
  /** The folder asked for. */
  folder?: string;
  /** The test message's recipient. */
  to?: string;
  /** What the token's claims say, when readable. */
  token?: { kind: 'delegated' | 'app' | 'unknown'; audience?: string; permissions: string[]; appId?: string };
}

/** One rule. */
export interface GraphReplyRule {
  id: string;
  code: DiagnosisCode;
  /** Where the reply text was seen. */
  source: string;
  statuses?: number[];
  steps?: TestStepName[];
  /** Matched against `errorCode`. */
  errorCode?: RegExp;
  /** Matched against `errorMessage`. */
  message?: RegExp;
  summary(facts: GraphReplyFacts): string;
  hint(facts: GraphReplyFacts): string;
}

/** The Graph audience; a token for Exchange Online (outlook.office.com) is refused by Graph. */
export const GRAPH_AUDIENCES = ['https://graph.microsoft.com', 'https://graph.microsoft.com/', '00000003-0000-0000-c000-000000000000'];

/** The permissions a step needs: delegated scopes (`scp`) and application roles (`roles`) have the same names. */
function neededPermission(step: TestStepName): string {
  return step === 'send-mail' ? 'Mail.Send' : 'Mail.ReadWrite';
}

function tokenHint(facts: GraphReplyFacts): string {
  const token = facts.token;
  if (token?.audience && !GRAPH_AUDIENCES.includes(token.audience)) {
    return `The token is for ${token.audience}, not Microsoft Graph (https://graph.microsoft.com): ask for the Graph scopes (https://graph.microsoft.com/Mail.Send and Mail.ReadWrite, or https://graph.microsoft.com/.default for app-only). Sign in again on the mailbox.`;
  }
  const needed = neededPermission(facts.step);
  if (token && !token.permissions.some((p) => p.toLowerCase() === needed.toLowerCase()) && !(needed === 'Mail.ReadWrite' && token.permissions.some((p) => /^Mail\.Read$/i.test(p)))) {
    return token.kind === 'app'
      ? `The app-only token has no ${needed} application permission (roles: ${token.permissions.join(', ') || 'none'}): in Microsoft Entra > App registrations > the app > API permissions, add Microsoft Graph > Application permissions > ${needed}, then Grant admin consent.`
      : `The token has no ${needed} delegated permission (scopes: ${token.permissions.join(', ') || 'none'}): in Microsoft Entra > App registrations > the app > API permissions, add Microsoft Graph > Delegated permissions > ${needed}, Grant admin consent, then Sign in again on the mailbox.`;
  }
  return 'Sign in again on the mailbox. If that does not help, check in Microsoft Entra that the app registration has the Microsoft Graph permissions Mail.Send and Mail.ReadWrite with admin consent granted.';
}

const retryWords = (facts: GraphReplyFacts) => (facts.retryAfterSeconds !== undefined ? ` and asked to wait ${facts.retryAfterSeconds} second${facts.retryAfterSeconds === 1 ? '' : 's'} (Retry-After)` : '');

/** The rules, in order. */
export const GRAPH_REPLY_RULES: readonly GraphReplyRule[] = [
  {
    id: 'graph-throttled',
    code: 'SERVER_TEMPORARY',
    source: 'learn.microsoft.com/graph/throttling: 429 Too Many Requests with Retry-After; error code "TooManyRequests" / "ApplicationThrottled"',
    statuses: [429],
    summary: (f) => `Microsoft Graph throttled the request (429)${retryWords(f)}.`,
    hint: () => 'Wait and test again. Mailroom keeps to Graph\'s limits (4 requests at a time and 10,000 per 10 minutes per mailbox); another app using the same mailbox may take the rest.',
  },
  {
    id: 'graph-unavailable',
    code: 'SERVER_TEMPORARY',
    source: 'learn.microsoft.com/graph/errors: 503 Service Unavailable (may carry Retry-After), 504 Gateway Timeout, 500 "ErrorInternalServerError"',
    statuses: [500, 502, 503, 504],
    summary: (f) => `Microsoft Graph answered ${f.status}${f.errorCode ? ` (${f.errorCode})` : ''}${retryWords(f)}: a fault on Microsoft's side.`,
    hint: () => 'Wait a few minutes and test again; check the Microsoft 365 Service health page in the admin center if it lasts.',
  },
  {
    id: 'graph-mailbox-not-licensed',
    code: 'GRAPH_MAILBOX_NOT_LICENSED',
    source: 'Graph 404 {"error":{"code":"MailboxNotEnabledForRESTAPI","message":"The mailbox is either inactive, soft-deleted, or is hosted on-premise."}} and the older "REST API is not yet supported for this mailbox." (microsoftgraph/msgraph-sdk-javascript#1756, microsoft-graph-docs-contrib#717)',
    errorCode: /^MailboxNotEnabledForRESTAPI$/i,
    summary: (f) => `${f.mailbox} has no mailbox in Exchange Online that Graph can reach: it is not licensed for Exchange Online, inactive or soft-deleted, or hosted on-premises.`,
    hint: (f) => `Give ${f.mailbox} an Exchange Online licence (Microsoft 365 admin center > Users > the user > Licenses and apps), or, for a shared mailbox, check that it exists in Exchange Online; a mailbox on an on-premises Exchange server cannot use Graph: keep SMTP and IMAP for it.`,
  },
  {
    id: 'graph-access-policy',
    code: 'GRAPH_ACCESS_POLICY_DENIED',
    source: 'Graph 403 {"error":{"code":"ErrorAccessDenied","message":"Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings."}} (learn.microsoft.com/graph/auth-limit-mailbox-access)',
    statuses: [403],
    message: /AccessPolicy|\[RAOP\]/i,
    summary: (f) => `An application access policy of the organisation keeps the app away from ${f.mailbox}.`,
    hint: (f) =>
      `In Exchange Online PowerShell, add ${f.mailbox} to the mail-enabled security group of the app's policy (Get-ApplicationAccessPolicy shows it; Add-DistributionGroupMember -Identity <group> -Member ${f.mailbox}), then check with Test-ApplicationAccessPolicy -Identity ${f.mailbox} -AppId ${f.token?.appId ?? '<application-id>'}. Changes can take up to an hour.`,
  },
  {
    id: 'graph-send-as-denied',
    code: 'SENDER_REJECTED',
    source: 'Graph 403 {"error":{"code":"ErrorSendAsDenied","message":"The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message."}}',
    errorCode: /^ErrorSendAsDenied$/i,
    summary: (f) => `The signed-in account may not send as ${f.mailbox}.`,
    hint: (f) => `Send as the mailbox's own address, or give the signed-in account Send As on ${f.mailbox} (Exchange admin center > Mailboxes > ${f.mailbox} > Delegation > Send as).`,
  },
  {
    id: 'graph-token-refused',
    code: 'OAUTH_TOKEN_REJECTED',
    source: 'Graph 401 {"error":{"code":"InvalidAuthenticationToken","message":"Access token validation failure. Invalid audience."}} with WWW-Authenticate: Bearer ... error="invalid_token"',
    statuses: [401],
    summary: (f) => `Microsoft Graph refused the token (${f.errorCode ?? '401'}${f.errorMessage ? `: ${f.errorMessage}` : ''}).`,
    hint: tokenHint,
  },
  {
    id: 'graph-permission-missing',
    code: 'GRAPH_PERMISSION_MISSING',
    source: 'Graph 403 {"error":{"code":"ErrorAccessDenied","message":"Access is denied. Check credentials and try again."}} (a token without Mail.Send / Mail.ReadWrite); directory 403 "Authorization_RequestDenied" "Insufficient privileges to complete the operation."',
    statuses: [403],
    errorCode: /^(ErrorAccessDenied|Authorization_RequestDenied|AccessDenied)$/i,
    summary: (f) => `Microsoft Graph denied access to ${f.step === 'send-mail' ? `send as ${f.mailbox}` : `${f.mailbox}'s mail`}: the token lacks the ${neededPermission(f.step)} permission, or the account has no access to this mailbox.`,
    hint: (f) =>
      f.token?.kind === 'delegated' || f.token?.kind === 'unknown'
        ? `${tokenHint(f)} A person's sign-in reaches another mailbox only with Full Access to it (Exchange admin center > Mailboxes > ${f.mailbox} > Delegation).`
        : tokenHint(f),
  },
  {
    id: 'graph-mailbox-not-found',
    code: 'GRAPH_MAILBOX_NOT_FOUND',
    source: 'Graph 404 {"error":{"code":"ErrorInvalidUser","message":"The requested user \'x@contoso.com\' is invalid."}}; directory 404 {"error":{"code":"Request_ResourceNotFound","message":"Resource \'x@contoso.com\' does not exist or one of its queried reference-property objects are not present."}}',
    statuses: [404, 400],
    errorCode: /^(ErrorInvalidUser|Request_ResourceNotFound|ResourceNotFound|UserNotFound)$/i,
    summary: (f) => `Microsoft Graph found no user or shared mailbox ${f.mailbox} in this tenant.`,
    hint: (f) => `Check the mailbox's address (or its user principal name) in the Microsoft 365 admin center; a mailbox of another tenant needs that tenant's app registration. ${f.mailbox} is what Mailroom asked for.`,
  },
  {
    id: 'graph-folder-not-found',
    code: 'FOLDER_NOT_FOUND',
    source: 'Graph 404 {"error":{"code":"ErrorItemNotFound","message":"The specified object was not found in the store."}}; 400 "ErrorInvalidIdMalformed" "Id is malformed."',
    steps: ['folder'],
    errorCode: /^(ErrorItemNotFound|ErrorInvalidIdMalformed|ErrorFolderNotFound)$/i,
    summary: (f) => `The folder ${f.folder ?? ''} does not exist in ${f.mailbox}.`.replace('folder  does', 'folder does'),
    hint: () => 'Choose a folder that exists (its name as Outlook shows it, e.g. Inbox or Inbox/Support; sub-folders with "/"), or create it in Outlook.',
  },
  {
    id: 'graph-recipient',
    code: 'RECIPIENT_REJECTED',
    source: 'Graph 400 {"error":{"code":"ErrorInvalidRecipients","message":"At least one recipient is not valid., Recipient \'x\' is not resolved. All recipients must be resolved before a message can be submitted."}}',
    errorCode: /^ErrorInvalidRecipients$/i,
    summary: (f) => `Microsoft Graph refused the recipient ${f.to ?? ''}.`.replace(' .', '.'),
    hint: () => 'Check the test recipient\'s address.',
  },
  {
    id: 'graph-sending-limit',
    code: 'SENDING_LIMIT_EXCEEDED',
    source: 'Graph 403/429 "ErrorQuotaExceeded" / "ErrorExceededMessageLimit" / "...SubmissionQuotaExceededException..." (Exchange Online sending limits)',
    errorCode: /^(ErrorQuotaExceeded|ErrorExceededMessageLimit|ErrorSubmissionQuotaExceeded)$/i,
    summary: (f) => `${f.mailbox} reached its sending limit in Exchange Online.`,
    hint: () => 'Wait for the limit to reset (24 hours); the outbox defers and pauses the mailbox meanwhile.',
  },
  {
    id: 'graph-message-rejected',
    code: 'MESSAGE_REJECTED',
    source: 'Graph sendMail 400 "Invalid base64 string for MIME content." (learn.microsoft.com/graph/api/user-sendmail); "ErrorMessageSizeExceeded"',
    steps: ['send-mail'],
    statuses: [400, 413],
    summary: (f) => `Microsoft Graph refused the test message (${f.errorCode ?? f.status}${f.errorMessage ? `: ${f.errorMessage}` : ''}).`,
    hint: () => 'Read Graph\'s reply in the transcript; a message over the mailbox\'s size limit must be made smaller.',
  },
  {
    id: 'graph-fallback',
    code: 'SERVER_TEMPORARY',
    source: 'any other Graph error',
    summary: (f) => `Microsoft Graph answered ${f.status}${f.errorCode ? ` ${f.errorCode}` : ''}${f.errorMessage ? `: ${f.errorMessage}` : ''}.`,
    hint: () => 'Read Graph\'s reply in the transcript; test again later if it says the fault is temporary.',
  },
];

/** The first rule that matches. */
export function graphReplyRule(facts: GraphReplyFacts): GraphReplyRule {
  for (const rule of GRAPH_REPLY_RULES) {
    if (rule.statuses && !rule.statuses.includes(facts.status)) continue;
    if (rule.steps && !rule.steps.includes(facts.step)) continue;
    if (rule.errorCode && !rule.errorCode.test(facts.errorCode ?? '')) continue;
    if (rule.message && !rule.message.test(facts.errorMessage ?? '')) continue;
    return rule;
  }
  return GRAPH_REPLY_RULES[GRAPH_REPLY_RULES.length - 1]!;
}

/** The diagnosis of a failed Graph request. */
export function diagnoseGraphReply(facts: GraphReplyFacts): { code: DiagnosisCode; rule: string; summary: string; hint: string } {
  const rule = graphReplyRule(facts);
  return { code: rule.code, rule: rule.id, summary: rule.summary(facts), hint: rule.hint(facts) };
}
