/**
 * What a failed Microsoft Graph request means, as data: Graph's answer (HTTP
 * status, error code, message) -> a diagnosis code, plain words, a hint, and
 * what the outbox does with it (defer or fail; pause the mailbox). Codes are
 * the SMTP and IMAP ones where the meaning is the same (SENDER_REJECTED for
 * a send-as refusal, OAUTH_TOKEN_REJECTED for a refused token,
 * FOLDER_NOT_FOUND, SERVER_TEMPORARY...), and GRAPH_* only for faults Graph
 * has and the mail protocols do not (GRAPH_DIAGNOSIS_CODES in
 * shared/diagnosis-vocabulary.ts). Each rule cites the real reply it was
 * written from; test/unit/graph-diagnosis.test.ts has one test per rule.
 */
import { GRAPH_DIAGNOSIS_TITLES } from '../../shared/diagnosis-vocabulary.js';
import type { GraphError } from './graph-error.js';

/** What a request was for, for the wording. */
export type GraphOperation = 'send' | 'user' | 'folder' | 'delta' | 'fetch' | 'action';

/** The facts a rule reads. */
export interface GraphFailureContext {
  operation: GraphOperation;
  /** The mailbox's address. */
  address: string;
  /** The folder (import) or the action's target folder. */
  folder?: string;
  /** How the mailbox signs in to Graph. */
  auth: 'delegated' | 'app';
}

/** A diagnosis of a Graph failure. */
export interface GraphDiagnosis {
  code: string;
  summary: string;
  hint: string;
  /** Defer and try again (a send) rather than fail for good. */
  temporary: boolean;
  /** Every request of the mailbox would fail the same way: pause it (the outbox) / wait the interval (the import). */
  pauseMailbox: boolean;
  /** The rule that matched. */
  rule: string;
  /** Graph's answer as one line. */
  serverReply: string | null;
  /** The server asked to wait this long (429/503), ms. */
  retryAfterMs: number | null;
}

interface GraphRule {
  id: string;
  code: string;
  /** HTTP statuses it applies to (0: no answer). */
  status: readonly number[];
  /** Graph's error code, when the rule needs one. */
  graphCode?: RegExp;
  /** Graph's message, when the rule needs one. */
  message?: RegExp;
  /** Graph's code or message ("code message"), when either may say it. */
  reply?: RegExp;
  /** Network failure kinds (status 0). */
  network?: readonly string[];
  operations?: readonly GraphOperation[];
  temporary: boolean;
  pauseMailbox: boolean;
  summary: string;
  /** `{address}`, `{folder}`, `{retry}` are filled in; `{auth}` words differ for delegated and app-only. */
  hint: string | { delegated: string; app: string };
  source: string;
}

const PERMISSIONS_HINT = {
  delegated:
    'In the app registration (Microsoft Entra admin center > App registrations > the app > API permissions), add the Microsoft Graph delegated permissions Mail.Send and Mail.ReadWrite and grant admin consent; then sign the mailbox in again so the new permissions are in its tokens.',
  app: 'In the app-only registration, add the Microsoft Graph application permissions Mail.Send and Mail.ReadWrite (not only the Office 365 Exchange Online ones) and grant admin consent; new tokens carry them within minutes.',
};

/** The rules, most specific first. */
export const GRAPH_RULES: readonly GraphRule[] = [
  {
    id: 'graph-send-as-denied',
    code: 'SENDER_REJECTED',
    status: [403],
    graphCode: /^ErrorSendAsDenied$/i,
    temporary: false,
    pauseMailbox: false,
    summary: 'Microsoft Graph refused to send: {address} may not send as the message\'s From address.',
    hint: 'Send from the mailbox\'s own address, or give {address} "Send as" permission on the From address (Exchange admin center > Mailboxes > the From address > Delegation > Send as). Permissions take up to an hour to apply; then retry the message.',
    source: 'Graph 403 {"error":{"code":"ErrorSendAsDenied","message":"The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message."}} (user-sendmail example 2; microsoftgraph/microsoft-graph-docs#3996)',
  },
  {
    id: 'graph-access-policy',
    code: 'GRAPH_ACCESS_POLICY_DENIED',
    status: [403],
    graphCode: /^ErrorAccessDenied$/i,
    message: /RAOP|AppOnly AccessPolicy|Access to OData is disabled/i,
    temporary: true,
    pauseMailbox: true,
    summary: 'An Exchange application access policy keeps Mailroom\'s app out of {address}.',
    hint: 'Add {address} to the mail-enabled security group the organisation\'s application access policy allows (Exchange Online PowerShell: Get-ApplicationAccessPolicy; Test-ApplicationAccessPolicy -Identity {address} -AppId <client id> must say Granted), or use a mailbox inside it. A changed policy takes up to an hour to apply.',
    source: 'Graph 403 {"error":{"code":"ErrorAccessDenied","message":"Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings."}} (learn.microsoft.com/graph/auth-limit-mailbox-access; microsoftgraph/microsoft-graph-docs#10103)',
  },
  {
    id: 'graph-mailbox-not-licensed',
    code: 'GRAPH_MAILBOX_NOT_LICENSED',
    status: [404, 401, 403],
    reply: /MailboxNot(Enabled|Supported)ForRESTAPI|inactive, soft-deleted, or is hosted on-premise|REST API is not yet supported for this mailbox/i,
    temporary: true,
    pauseMailbox: true,
    summary: '{address} has no Exchange Online mailbox that Microsoft Graph can reach (no licence, inactive, or on-premises).',
    hint: 'Give the account an Exchange Online licence (Microsoft 365 admin center > Users > {address} > Licenses and apps), or for a shared mailbox check it exists in Exchange Online; a new licence takes up to an hour. An on-premises mailbox cannot use Graph: send and receive with SMTP and IMAP instead.',
    source: 'Graph 404 {"error":{"code":"MailboxNotEnabledForRESTAPI","message":"The mailbox is either inactive, soft-deleted, or is hosted on-premise."}} (microsoftgraph/msgraph-sdk-javascript#1756; iyear/E5SubBot#39); older "REST API is not yet supported for this mailbox." (O365/python-o365#438)',
  },
  {
    id: 'graph-user-not-found',
    code: 'GRAPH_MAILBOX_NOT_FOUND',
    status: [404, 400],
    graphCode: /^(ErrorInvalidUser|Request_ResourceNotFound|ErrorNonExistentMailbox)$/i,
    temporary: true,
    pauseMailbox: true,
    summary: 'Microsoft Graph does not know {address} in this organisation.',
    hint: 'Check the mailbox\'s address (it must be the user principal name or primary address of a mailbox in the tenant the sign-in belongs to); an app-only registration of another tenant does not see it.',
    source: 'Graph 404 {"error":{"code":"ErrorInvalidUser","message":"The requested user \'x@contoso.com\' is invalid."}}; GET /users/{id} 404 Request_ResourceNotFound "Resource \'x\' does not exist or one of its queried reference-property objects are not present." (learn.microsoft.com/graph/api/user-get)',
  },
  {
    id: 'graph-token-refused',
    code: 'OAUTH_TOKEN_REJECTED',
    status: [401],
    temporary: true,
    pauseMailbox: true,
    summary: 'Microsoft Graph refused the token for {address}, also a fresh one.',
    hint: {
      delegated: `${PERMISSIONS_HINT.delegated} If the organisation uses Conditional Access, a new sign-in may be required.`,
      app: PERMISSIONS_HINT.app,
    },
    source: 'Graph 401 {"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid."}} with WWW-Authenticate: Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000" (microsofthackathons/tdi#24)',
  },
  {
    id: 'graph-permission-missing',
    code: 'OAUTH_TOKEN_REJECTED',
    status: [403],
    graphCode: /^(ErrorAccessDenied|Authorization_RequestDenied|AccessDenied)$/i,
    temporary: true,
    pauseMailbox: true,
    summary: 'Microsoft Graph denied {address}\'s token this request: it lacks the mail permission (or the account has no access to the mailbox).',
    hint: {
      delegated: `${PERMISSIONS_HINT.delegated} A person signed in for another mailbox needs Full Access (and Send As) on {address}.`,
      app: PERMISSIONS_HINT.app,
    },
    source: 'Graph 403 {"error":{"code":"ErrorAccessDenied","message":"Access is denied. Check credentials and try again."}} (learn.microsoft.com/graph/errors; OfficeDev/office-js-docs-pr#2808)',
  },
  {
    id: 'graph-sending-quota',
    code: 'SENDING_LIMIT_EXCEEDED',
    status: [403, 429, 400],
    graphCode: /^(ErrorQuotaExceeded|ErrorSubmissionQuotaExceeded|ErrorExceededMessageLimit|ErrorMessageSubmissionBlocked)$/i,
    operations: ['send'],
    temporary: true,
    pauseMailbox: true,
    summary: '{address} reached a sending limit of Exchange Online (or its mailbox is full).',
    hint: 'Wait for the limit to reset (Exchange Online: 10,000 recipients a day, 30 messages a minute), or free space in the mailbox; the queued messages go out after it. Spread large sends over several mailboxes.',
    source: 'Exchange Online sending limits (learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits); Graph error codes ErrorQuotaExceeded, ErrorSubmissionQuotaExceeded (EWS ResponseCodeType, which Graph\'s mail errors reuse)',
  },
  {
    id: 'graph-throttled',
    code: 'SERVER_TEMPORARY',
    status: [429],
    temporary: true,
    pauseMailbox: true,
    summary: 'Microsoft Graph is throttling requests for {address} (HTTP 429){retry}.',
    hint: 'Nothing to change: Mailroom waits as long as Graph asks, then goes on. If it happens often, lower the outbox\'s connections for this mailbox or lengthen its poll interval; other apps using the same mailbox count against the same limit (4 requests at once, 10,000 per 10 minutes).',
    source: 'Graph 429 {"error":{"code":"ApplicationThrottled","message":"Application is over its MailboxConcurrency limit."}} with Retry-After (learn.microsoft.com/graph/throttling; learn.microsoft.com/answers/questions/1660054)',
  },
  {
    id: 'graph-unavailable',
    code: 'SERVER_TEMPORARY',
    status: [500, 502, 503, 504],
    temporary: true,
    pauseMailbox: true,
    summary: 'Microsoft Graph had a temporary problem (HTTP {status}){retry}.',
    hint: 'Nothing to change: the message is tried again later. If it lasts, check the Microsoft 365 service health (admin center > Health > Service health > Exchange Online).',
    source: 'Graph 503 {"error":{"code":"ServiceUnavailable",...}} and 504 GatewayTimeout with Retry-After (learn.microsoft.com/graph/errors: "Retry-After ... for 503")',
  },
  {
    id: 'graph-folder-missing',
    code: 'FOLDER_NOT_FOUND',
    status: [404, 400],
    graphCode: /^(ErrorItemNotFound|ErrorInvalidIdMalformed|ErrorFolderNotFound)$/i,
    operations: ['folder', 'delta'],
    temporary: true,
    pauseMailbox: true,
    summary: 'The folder {folder} does not exist in {address}.',
    hint: 'Check the folder in the mailbox\'s incoming settings (INBOX, or a folder name as Outlook shows it; Inbox/Sub for a subfolder) and that it exists in Outlook.',
    source: 'Graph 404 {"error":{"code":"ErrorItemNotFound","message":"The specified object was not found in the store."}} (learn.microsoft.com/graph/api/mailfolder-get)',
  },
  {
    id: 'graph-action-folder-missing',
    code: 'FOLDER_NOT_FOUND',
    status: [404, 400],
    graphCode: /^(ErrorItemNotFound|ErrorInvalidIdMalformed|ErrorFolderNotFound)$/i,
    operations: ['action'],
    temporary: true,
    pauseMailbox: false,
    summary: 'The after-import action could not find {folder} (or the message) in {address}.',
    hint: 'Create the folder {folder} in the mailbox or change the after-import action; the message is stored in Mailroom and the action is tried again on the next poll.',
    source: 'Graph 404 ErrorItemNotFound "The specified object was not found in the store." to POST /messages/{id}/move (learn.microsoft.com/graph/api/message-move)',
  },
  {
    id: 'graph-mime-invalid',
    code: 'MESSAGE_REJECTED',
    status: [400, 413, 415],
    graphCode: /^(ErrorMimeContent\w*|ErrorMessageSizeExceeded|RequestBodyTooLarge|ErrorInvalidRecipients|ErrorInvalidRequest|UnableToDeserializePostBody|BadRequest)$/i,
    operations: ['send'],
    temporary: false,
    pauseMailbox: false,
    summary: 'Microsoft Graph refused this message (HTTP {status}): it is not a message Exchange will send as it is.',
    hint: 'Check the message (its size: 4 MB of MIME for Graph\'s sendMail without an upload session, its recipients and headers); correct it and queue it again.',
    source: 'Graph 400 {"error":{"code":"ErrorMimeContentInvalidBase64String","message":"Invalid base64 string for MIME content."}} (learn.microsoft.com/graph/outlook-send-mime-message); 413 RequestBodyTooLarge for bodies over 4 MB (learn.microsoft.com/graph/api/user-sendmail)',
  },
  {
    id: 'graph-dns',
    code: 'DNS_NOT_FOUND',
    status: [0],
    network: ['dns'],
    temporary: true,
    pauseMailbox: true,
    summary: 'The name of Microsoft Graph\'s server could not be resolved.',
    hint: 'Check this computer\'s network and DNS (graph.microsoft.com must resolve), and any proxy it must use.',
    source: 'Node fetch: getaddrinfo ENOTFOUND graph.microsoft.com',
  },
  {
    id: 'graph-refused',
    code: 'TCP_REFUSED',
    status: [0],
    network: ['refused', 'offline'],
    temporary: true,
    pauseMailbox: true,
    summary: 'Microsoft Graph could not be reached: {network}.',
    hint: 'Check the network, and that a firewall or proxy lets this computer reach https://graph.microsoft.com (port 443).',
    source: 'Node fetch: connect ECONNREFUSED / ENETUNREACH',
  },
  {
    id: 'graph-tls',
    code: 'TLS_CERT_UNTRUSTED',
    status: [0],
    network: ['tls'],
    temporary: true,
    pauseMailbox: true,
    summary: 'The certificate of Microsoft Graph\'s server was not trusted: {network}.',
    hint: 'A TLS-inspecting proxy or antivirus is in the way: add its root certificate to Windows\' trusted roots (or NODE_EXTRA_CA_CERTS), or exempt graph.microsoft.com from inspection.',
    source: 'Node fetch: SELF_SIGNED_CERT_IN_CHAIN / UNABLE_TO_VERIFY_LEAF_SIGNATURE behind an inspecting proxy',
  },
  {
    id: 'graph-timeout',
    code: 'TIMEOUT',
    status: [0],
    temporary: true,
    pauseMailbox: true,
    summary: 'Microsoft Graph did not answer: {network}.',
    hint: 'Try again later; if it lasts, check the network and any proxy between this computer and graph.microsoft.com.',
    source: 'AbortSignal.timeout on a request that got no answer',
  },
  {
    id: 'graph-client-error',
    code: 'MESSAGE_REJECTED',
    status: [400, 403, 404, 405, 406, 409, 411, 412, 413, 415, 416, 422],
    operations: ['send'],
    temporary: false,
    pauseMailbox: false,
    summary: 'Microsoft Graph refused to send this message (HTTP {status}).',
    hint: 'Read Graph\'s reply below; correct the message or the mailbox\'s settings and queue it again.',
    source: 'any other 4xx answer to POST /users/{id}/sendMail',
  },
  {
    id: 'graph-other',
    code: 'SERVER_TEMPORARY',
    status: [],
    temporary: true,
    pauseMailbox: true,
    summary: 'Microsoft Graph answered HTTP {status} to {operation}.',
    hint: 'Read Graph\'s reply below; if it names a permission or a setting, change it, otherwise it is tried again later.',
    source: 'catch-all',
  },
];

const OPERATION_WORDS: Record<GraphOperation, string> = {
  send: 'sending the message',
  user: 'looking up the mailbox',
  folder: 'opening the folder',
  delta: 'listing new messages',
  fetch: 'downloading a message',
  action: 'the after-import action',
};

function fill(text: string, error: GraphError, ctx: GraphFailureContext): string {
  const seconds = error.retryAfterMs !== null ? Math.max(1, Math.round(error.retryAfterMs / 1000)) : null;
  return text
    .replace(/\{address\}/g, ctx.address)
    .replace(/\{folder\}/g, ctx.folder ?? 'the folder')
    .replace(/\{status\}/g, String(error.status))
    .replace(/\{operation\}/g, OPERATION_WORDS[ctx.operation])
    .replace(/\{network\}/g, error.network?.reason ?? 'no answer')
    .replace(/\{retry\}/g, seconds !== null ? `; it asked to wait ${seconds} s (Retry-After)` : '');
}

/** The rule that matches a Graph failure (the catch-all when none does). */
export function matchGraphRule(error: GraphError, ctx: GraphFailureContext): GraphRule {
  for (const rule of GRAPH_RULES) {
    if (rule.status.length && !rule.status.includes(error.status)) continue;
    if (!rule.status.length && error.status === 0) continue;
    if (rule.operations && !rule.operations.includes(ctx.operation)) continue;
    if (rule.graphCode && !rule.graphCode.test(error.graphCode)) continue;
    if (rule.message && !rule.message.test(error.graphMessage)) continue;
    if (rule.reply && !rule.reply.test(`${error.graphCode} ${error.graphMessage}`)) continue;
    if (rule.network && !rule.network.includes(error.network?.kind ?? '')) continue;
    return rule;
  }
  return GRAPH_RULES[GRAPH_RULES.length - 1]!;
}

/** Diagnoses a failed Graph request. */
export function diagnoseGraphError(error: GraphError, ctx: GraphFailureContext): GraphDiagnosis {
  const rule = matchGraphRule(error, ctx);
  const hint = typeof rule.hint === 'string' ? rule.hint : rule.hint[ctx.auth];
  return {
    code: rule.code,
    summary: fill(rule.summary, error, ctx),
    hint: fill(hint, error, ctx),
    temporary: rule.temporary,
    pauseMailbox: rule.pauseMailbox,
    rule: rule.id,
    serverReply: error.serverReply,
    retryAfterMs: error.retryAfterMs,
  };
}

/** The title of a Graph-only code (for lists); undefined for the shared codes. */
export function graphCodeTitle(code: string): string | undefined {
  return (GRAPH_DIAGNOSIS_TITLES as Record<string, string>)[code];
}
