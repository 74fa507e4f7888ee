/**
 * A Microsoft-Graph-shaped HTTPS peer for tests, on 127.0.0.1 at a free port,
 * written from Microsoft's published API reference (the pages are cited at
 * each route). It holds mailboxes with folders and raw MIME messages, checks
 * tokens the way Graph does (signature against the test IdP's JWKS, expiry,
 * audience https://graph.microsoft.com, delegated `scp` or application
 * `roles`), records every request so a test can assert the bytes sent, and
 * plays scripted faults.
 *
 *   const idp = await startTestIdp();
 *   const graph = await startGraphPeer({ idp });
 *   graph.addMailbox('support@contoso.test');
 *   graph.deliver('support@contoso.test', rawMime);
 *   ... engine with baseUrl graph.baseUrl (https://127.0.0.1:<port>/v1.0) ...
 *   graph.sent[0].mime  // the bytes sendMail received, decoded from base64
 *   await graph.stop();
 *
 * The server certificate is the IdP's loopback leaf, so a child process that
 * trusts the IdP (NODE_EXTRA_CA_CERTS=idp.certs.caFile) trusts the peer too.
 *
 * References (Microsoft Learn, graph-rest-1.0):
 * - user: get ............... https://learn.microsoft.com/en-us/graph/api/user-get
 * - mailFolder: get ......... https://learn.microsoft.com/en-us/graph/api/mailfolder-get
 *   (well-known folder names: inbox, sentitems, deleteditems, drafts, archive, junkemail)
 * - user: sendMail .......... https://learn.microsoft.com/en-us/graph/api/user-sendmail
 *   and "Send messages with MIME content" https://learn.microsoft.com/en-us/graph/outlook-send-mime-message:
 *   `Content-Type: text/plain` and a base64 MIME body, or JSON { message, saveToSentItems };
 *   202 Accepted with no body. The MIME form has no saveToSentItems: the copy is always
 *   saved (microsoftgraph/microsoft-graph-docs#18698), so the peer saves it.
 * - message: delta .......... https://learn.microsoft.com/en-us/graph/api/message-delta
 *   and "Get incremental changes to messages in a folder" https://learn.microsoft.com/en-us/graph/delta-query-messages:
 *   pages end with `@odata.nextLink` ($skiptoken) until the last one, which carries
 *   `@odata.deltaLink` ($deltatoken); removals are `{ id, "@removed": { reason } }`;
 *   `Prefer: odata.maxpagesize=N` sets the page size (default 10).
 * - delta reset ............. https://learn.microsoft.com/en-us/graph/delta-query-overview#synchronization-reset:
 *   an expired or unknown state token is refused and the client must start a full
 *   synchronization again; Outlook resources answer 410 Gone, and Graph's text for it is
 *   "syncStateNotFound" / "The sync state generation is not found. The delta token is
 *   expired and data must be synchronized again." (devblogs.microsoft.com/microsoft365dev/
 *   duration-of-change-tracking-tokens-for-identity-and-education-resources). `resetDelta`
 *   plays it (410 by default, 400 as the identity resources answer when asked).
 * - Get MIME content ........ https://learn.microsoft.com/en-us/graph/outlook-get-mime-message (GET /messages/{id}/$value)
 * - message: update ......... https://learn.microsoft.com/en-us/graph/api/message-update (PATCH isRead)
 * - message: move ........... https://learn.microsoft.com/en-us/graph/api/message-move
 *   (POST { destinationId: folder id or well-known name }; 201 with the moved message, which has a NEW id)
 * - message: delete ......... https://learn.microsoft.com/en-us/graph/api/message-delete (204)
 * - throttling .............. https://learn.microsoft.com/en-us/graph/throttling and
 *   https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits: 429 with
 *   Retry-After (seconds); Outlook: 4 concurrent requests and 10,000 requests per 10 minutes per
 *   app and mailbox; "Application is over its MailboxConcurrency limit."
 * - errors .................. https://learn.microsoft.com/en-us/graph/errors: `{ error: { code, message, innerError } }`.
 *   Real replies this peer copies: 401 InvalidAuthenticationToken "Access token has expired or is not
 *   yet valid." with `WWW-Authenticate: Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize",
 *   client_id="00000003-0000-0000-c000-000000000000"`; 404 MailboxNotEnabledForRESTAPI "The mailbox is either
 *   inactive, soft-deleted, or is hosted on-premise." (no Exchange Online licence); 403 ErrorAccessDenied
 *   "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings."
 *   (an application access policy, https://learn.microsoft.com/en-us/graph/auth-limit-mailbox-access);
 *   403 ErrorSendAsDenied "The user account which was used to submit this request does not have the right
 *   to send mail on behalf of the specified sending account., Cannot submit message." (user-sendmail,
 *   example 2); 404 ErrorInvalidUser "The requested user '...' is invalid."; 404 Request_ResourceNotFound
 *   for /users/{id}; 404 ErrorItemNotFound "The specified object was not found in the store.".
 */
import crypto from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GRAPH_AUDIENCE, type TestIdp } from './oauth-idp';

/** Graph's own application id, as its 401 replies name it. */
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

/** The WWW-Authenticate header of Graph's 401 replies. */
export const GRAPH_WWW_AUTHENTICATE = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="${GRAPH_APP_ID}"`;

/** Well-known folder names Graph accepts in place of a folder id. */
export const WELL_KNOWN_FOLDERS: Record<string, string> = {
  inbox: 'Inbox',
  sentitems: 'Sent Items',
  deleteditems: 'Deleted Items',
  drafts: 'Drafts',
  archive: 'Archive',
  junkemail: 'Junk Email',
};

/** A request the peer saw, with the reply it gave. */
export interface GraphRequestRecord {
  method: string;
  /** Path and query as sent (for example /v1.0/users/a%40b.test/sendMail). */
  url: string;
  /** The path after /v1.0, decoded. */
  path: string;
  headers: Record<string, string>;
  body: Buffer;
  /** The mailbox (UPN, lower case) the request addressed, when it addressed one. */
  mailbox: string | null;
  status: number;
  at: number;
}

/** A sendMail the peer accepted. */
export interface GraphSentMail {
  mailbox: string;
  format: 'mime' | 'json';
  /** The MIME bytes (decoded from base64) for the MIME form; null for JSON. */
  mime: Buffer | null;
  /** The JSON body for the JSON form. */
  json: Record<string, unknown> | null;
  saveToSentItems: boolean;
  /** The id of the copy saved in Sent Items, or null. */
  savedId: string | null;
}

/** A message in a mailbox. */
export interface GraphMessage {
  id: string;
  mailbox: string;
  folderId: string;
  mime: Buffer;
  isRead: boolean;
  receivedDateTime: string;
  internetMessageId: string | null;
  subject: string | null;
}

/** A folder of a mailbox. */
export interface GraphFolder {
  id: string;
  displayName: string;
  parentFolderId: string | null;
  wellKnownName: string | null;
  /** Bumped by resetDelta: every state token of an older epoch is refused. */
  epoch: number;
}

export interface GraphMailbox {
  id: string;
  upn: string;
  displayName: string;
  /** False: no Exchange Online licence; mail calls answer MailboxNotEnabledForRESTAPI. */
  licensed: boolean;
  /** Addresses this mailbox may send as (its own address always). */
  sendAs: Set<string>;
  /** People with Full Access (and Send As) on this mailbox: their delegated tokens with the .Shared permissions open it. */
  fullAccess: Set<string>;
  folders: Map<string, GraphFolder>;
}

/** A scripted reply a matching request gets instead of being handled. */
export interface GraphFault {
  method?: string;
  /** Matches the decoded path after /v1.0 (substring or RegExp). */
  path?: string | RegExp;
  status: number;
  headers?: Record<string, string>;
  /** A JSON body (the default is Graph's error shape for the status). */
  body?: unknown;
  /** How many matching requests get it (default 1). */
  times?: number;
}

export interface GraphPeerOptions {
  idp: TestIdp;
}

export interface GraphPeer {
  /** https://127.0.0.1:<port>/v1.0 — the base URL to give the engine. */
  baseUrl: string;
  origin: string;
  requests: GraphRequestRecord[];
  sent: GraphSentMail[];
  mailboxes: Map<string, GraphMailbox>;
  messages: Map<string, GraphMessage>;
  /** Adds a licensed mailbox with the well-known folders. */
  addMailbox(upn: string, options?: { displayName?: string; licensed?: boolean; sendAs?: string[]; fullAccess?: string[] }): GraphMailbox;
  /** Adds a folder (top level, or under `parent`: a folder id or well-known name). */
  addFolder(upn: string, displayName: string, parent?: string): GraphFolder;
  /** Puts a message into a folder (default inbox); returns its id. */
  deliver(upn: string, mime: string | Buffer, folder?: string): string;
  /** The messages of a folder (id or well-known name), oldest first. */
  folderMessages(upn: string, folder?: string): GraphMessage[];
  /** Folder by id or well-known name. */
  folder(upn: string, folder: string): GraphFolder | undefined;
  /** Invalidates every delta state token of the folder; `status` 410 (default) or 400. */
  resetDelta(upn: string, folder?: string, status?: 410 | 400): void;
  /** Scripts a fault (first match wins, in order). */
  fail(fault: GraphFault): void;
  /** Scripts `times` throttling replies (429 or 503) with Retry-After seconds. */
  throttle(options?: { times?: number; retryAfterSeconds?: number; status?: 429 | 503; method?: string; path?: string | RegExp }): void;
  /**
   * An Exchange application access policy: app-only tokens of `appId` may open
   * only `allowed` mailboxes (RestrictAccess); others get ErrorAccessDenied [RAOP].
   * Null removes the policy.
   */
  restrictApp(appId: string, allowed: string[] | null): void;
  /** The largest number of requests in flight at once, per mailbox. */
  maxConcurrent: Map<string, number>;
  /** Milliseconds every request waits before its reply (to make concurrency observable). */
  responseDelayMs: number;
  /** Mail from these senders is filed in the recipient's Junk Email folder (per recipient mailbox). */
  junkSenders: Map<string, Set<string>>;
  /** Called with each request once its reply is decided (before it is written): tests kill a client at an exact point. */
  afterRequest: ((record: GraphRequestRecord) => void) | null;
  /** Requests of a method (and path substring). */
  requestsOf(method: string, pathPart?: string): GraphRequestRecord[];
  stop(): Promise<void>;
}

const DEFAULT_PAGE_SIZE = 10;

function graphError(code: string, message: string): { error: Record<string, unknown> } {
  return { error: { code, message, innerError: { date: new Date().toISOString().slice(0, 19), 'request-id': crypto.randomUUID(), 'client-request-id': crypto.randomUUID() } } };
}

const DEFAULT_ERROR: Record<number, [string, string]> = {
  400: ['BadRequest', 'Bad request.'],
  401: ['InvalidAuthenticationToken', 'Access token has expired or is not yet valid.'],
  403: ['ErrorAccessDenied', 'Access is denied. Check credentials and try again.'],
  404: ['ErrorItemNotFound', 'The specified object was not found in the store.'],
  429: ['ApplicationThrottled', 'Application is over its MailboxConcurrency limit.'],
  500: ['InternalServerError', 'An internal server error occurred.'],
  503: ['ServiceUnavailable', 'The service is temporarily unavailable. Please retry.'],
  504: ['GatewayTimeout', 'The gateway timed out.'],
};

/** A Graph-looking item id (Exchange ids are long base64 strings starting AAMk). */
function newItemId(): string {
  return `AAMkAG${crypto.randomBytes(30).toString('base64').replace(/\//g, '_').replace(/\+/g, '-')}=`;
}

function headerOf(mime: Buffer, name: string): string | null {
  const head = mime.toString('latin1').split(/\r?\n\r?\n/, 1)[0] ?? '';
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const m = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(unfolded);
  return m ? m[1]!.trim() : null;
}

/** The To, Cc and Bcc addresses of a message, lower case. */
function recipientsOf(mime: Buffer): string[] {
  const out: string[] = [];
  for (const name of ['To', 'Cc', 'Bcc']) {
    const value = headerOf(mime, name);
    if (!value) continue;
    for (const m of value.matchAll(/<([^>]+)>|([^\s,<>"]+@[^\s,<>"]+)/g)) out.push((m[1] ?? m[2] ?? '').toLowerCase());
  }
  return out;
}

function addressOf(header: string | null): string | null {
  if (!header) return null;
  const angle = /<([^>]+)>/.exec(header);
  return (angle ? angle[1]! : header).trim().toLowerCase();
}

interface TokenInfo {
  kind: 'delegated' | 'app';
  upn: string | null;
  appId: string;
  permissions: string[];
}

/** Starts the peer. */
export async function startGraphPeer(options: GraphPeerOptions): Promise<GraphPeer> {
  const { idp } = options;
  const requests: GraphRequestRecord[] = [];
  const sent: GraphSentMail[] = [];
  const mailboxes = new Map<string, GraphMailbox>();
  const messages = new Map<string, GraphMessage>();
  const faults: Array<GraphFault & { left: number }> = [];
  const policies = new Map<string, Set<string>>();
  const junkSenders = new Map<string, Set<string>>();
  const inFlight = new Map<string, number>();
  const maxConcurrent = new Map<string, number>();
  // Change log per folder id: seq -> message id and whether it left the folder.
  const changes: Array<{ seq: number; folderId: string; messageId: string; removed: boolean }> = [];
  let seq = 0;
  const deltaResetStatus = new Map<string, 410 | 400>();
  // Paging sessions of a round: the ids still to send and the change position the round ends at.
  const skipSessions = new Map<string, { folderId: string; epoch: number; items: Array<{ id: string; removed: boolean }>; endSeq: number }>();
  let jwks: Map<string, crypto.KeyObject> | null = null;

  const loadJwks = async () => {
    const response = await idp.fetch(`${idp.authorityHost}/jwks`, { method: 'GET' });
    const body = JSON.parse(await response.text()) as { keys: Array<crypto.JsonWebKey & { kid: string }> };
    jwks = new Map(body.keys.map((k) => [k.kid, crypto.createPublicKey({ key: k, format: 'jwk' })]));
  };
  await loadJwks();

  const mailboxFor = (idOrUpn: string): GraphMailbox | undefined => {
    const key = idOrUpn.toLowerCase();
    return mailboxes.get(key) ?? [...mailboxes.values()].find((m) => m.id === idOrUpn);
  };

  const findFolder = (mailbox: GraphMailbox, idOrName: string): GraphFolder | undefined => {
    const byId = mailbox.folders.get(idOrName);
    if (byId) return byId;
    const name = idOrName.toLowerCase();
    return [...mailbox.folders.values()].find((f) => f.wellKnownName === name);
  };

  const peer: GraphPeer = {
    baseUrl: '',
    origin: '',
    requests,
    sent,
    mailboxes,
    messages,
    maxConcurrent,
    responseDelayMs: 0,
    afterRequest: null,
    junkSenders,
    addMailbox(upn, opts = {}) {
      const key = upn.toLowerCase();
      const mailbox: GraphMailbox = {
        id: crypto.randomUUID(),
        upn: key,
        displayName: opts.displayName ?? upn.split('@')[0]!,
        licensed: opts.licensed ?? true,
        sendAs: new Set([key, ...(opts.sendAs ?? []).map((a) => a.toLowerCase())]),
        fullAccess: new Set((opts.fullAccess ?? []).map((a) => a.toLowerCase())),
        folders: new Map(),
      };
      // The message folder root has no well-known entry here; the well-known folders sit under it.
      const rootId = `AAMkRoot${crypto.randomBytes(8).toString('hex')}`;
      for (const [wellKnown, displayName] of Object.entries(WELL_KNOWN_FOLDERS)) {
        const id = `AQMkAD${crypto.randomBytes(20).toString('hex')}AAAA=`;
        mailbox.folders.set(id, { id, displayName, parentFolderId: rootId, wellKnownName: wellKnown, epoch: 0 });
      }
      mailboxes.set(key, mailbox);
      return mailbox;
    },
    addFolder(upn, displayName, parent) {
      const mailbox = mailboxFor(upn);
      if (!mailbox) throw new Error(`No mailbox ${upn} on the Graph peer`);
      const parentFolder = parent ? findFolder(mailbox, parent) : undefined;
      const inbox = findFolder(mailbox, 'inbox')!;
      const id = `AQMkAD${crypto.randomBytes(20).toString('hex')}AAAA=`;
      const folder: GraphFolder = { id, displayName, parentFolderId: parentFolder?.id ?? inbox.parentFolderId, wellKnownName: null, epoch: 0 };
      mailbox.folders.set(id, folder);
      return folder;
    },
    deliver(upn, mime, folderName = 'inbox') {
      const mailbox = mailboxFor(upn);
      if (!mailbox) throw new Error(`No mailbox ${upn} on the Graph peer`);
      const folder = findFolder(mailbox, folderName);
      if (!folder) throw new Error(`No folder ${folderName} in ${upn}`);
      const bytes = Buffer.isBuffer(mime) ? mime : Buffer.from(mime, 'utf8');
      return store(mailbox, folder, bytes, false);
    },
    folderMessages(upn, folderName = 'inbox') {
      const mailbox = mailboxFor(upn);
      const folder = mailbox ? findFolder(mailbox, folderName) : undefined;
      if (!folder) return [];
      return [...messages.values()].filter((m) => m.folderId === folder.id);
    },
    folder(upn, folderName) {
      const mailbox = mailboxFor(upn);
      return mailbox ? findFolder(mailbox, folderName) : undefined;
    },
    resetDelta(upn, folderName = 'inbox', status = 410) {
      const folder = peer.folder(upn, folderName);
      if (!folder) throw new Error(`No folder ${folderName} in ${upn}`);
      folder.epoch += 1;
      deltaResetStatus.set(folder.id, status);
    },
    fail(fault) {
      faults.push({ ...fault, left: fault.times ?? 1 });
    },
    throttle(opts = {}) {
      const status = opts.status ?? 429;
      peer.fail({
        status,
        times: opts.times ?? 1,
        headers: { 'Retry-After': String(opts.retryAfterSeconds ?? 1) },
        ...(opts.method ? { method: opts.method } : {}),
        ...(opts.path ? { path: opts.path } : {}),
      });
    },
    restrictApp(appId, allowed) {
      if (allowed === null) policies.delete(appId);
      else policies.set(appId, new Set(allowed.map((a) => a.toLowerCase())));
    },
    requestsOf(method, pathPart) {
      return requests.filter((r) => r.method === method && (!pathPart || r.path.includes(pathPart)));
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  function store(mailbox: GraphMailbox, folder: GraphFolder, mime: Buffer, isRead: boolean): string {
    const id = newItemId();
    messages.set(id, {
      id,
      mailbox: mailbox.upn,
      folderId: folder.id,
      mime,
      isRead,
      receivedDateTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      internetMessageId: headerOf(mime, 'Message-ID'),
      subject: headerOf(mime, 'Subject'),
    });
    changes.push({ seq: ++seq, folderId: folder.id, messageId: id, removed: false });
    return id;
  }

  function messageJson(m: GraphMessage): Record<string, unknown> {
    return {
      '@odata.etag': `W/"${crypto.createHash('sha1').update(m.id + String(m.isRead) + m.folderId).digest('base64')}"`,
      id: m.id,
      receivedDateTime: m.receivedDateTime,
      subject: m.subject,
      internetMessageId: m.internetMessageId,
      isRead: m.isRead,
      parentFolderId: m.folderId,
    };
  }

  function folderJson(mailbox: GraphMailbox, f: GraphFolder): Record<string, unknown> {
    const inFolder = [...messages.values()].filter((m) => m.folderId === f.id);
    return {
      id: f.id,
      displayName: f.displayName,
      parentFolderId: f.parentFolderId,
      childFolderCount: [...mailbox.folders.values()].filter((c) => c.parentFolderId === f.id).length,
      unreadItemCount: inFolder.filter((m) => !m.isRead).length,
      totalItemCount: inFolder.length,
      isHidden: false,
    };
  }

  async function verifyToken(authorization: string | undefined): Promise<TokenInfo | { status: number; code: string; message: string }> {
    const token = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim();
    if (!token) return { status: 401, code: 'InvalidAuthenticationToken', message: 'Access token is empty.' };
    const parts = token.split('.');
    if (parts.length !== 3) return { status: 401, code: 'InvalidAuthenticationToken', message: 'IDX14100: JWT is not well formed, there are no dots (.).' };
    let header: Record<string, unknown>;
    let payload: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return { status: 401, code: 'InvalidAuthenticationToken', message: 'IDX14102: Unable to decode the header or payload as Base64Url encoded.' };
    }
    let key = jwks?.get(String(header.kid));
    if (!key) {
      await loadJwks();
      key = jwks?.get(String(header.kid));
    }
    const signed = key && header.alg === 'RS256' && crypto.verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2]!, 'base64url'));
    if (!signed) return { status: 401, code: 'InvalidAuthenticationToken', message: 'Access token validation failure.' };
    const now = Date.now() / 1000;
    if (typeof payload.exp !== 'number' || payload.exp < now || (typeof payload.nbf === 'number' && payload.nbf > now + 300)) {
      return { status: 401, code: 'InvalidAuthenticationToken', message: 'Access token has expired or is not yet valid.' };
    }
    const audience = String(payload.aud ?? '').replace(/\/+$/, '');
    if (audience !== GRAPH_AUDIENCE && audience !== GRAPH_APP_ID) return { status: 401, code: 'InvalidAuthenticationToken', message: 'Access token validation failure. Invalid audience.' };
    // A delegated token the IdP revoked (continuous access evaluation would refuse it too).
    const isApp = Array.isArray(payload.roles) && payload.scp === undefined;
    if (!isApp && idp.issuedAccessTokens().includes(token) && idp.verifyAccessToken(token) === undefined && !idp.issuedAppTokens().has(token)) {
      return { status: 401, code: 'InvalidAuthenticationToken', message: 'Access token has expired or is not yet valid.' };
    }
    if (isApp) return { kind: 'app', upn: null, appId: String(payload.appid ?? payload.azp ?? ''), permissions: (payload.roles as unknown[]).map(String) };
    return {
      kind: 'delegated',
      upn: String(payload.upn ?? payload.preferred_username ?? '').toLowerCase() || null,
      appId: String(payload.appid ?? payload.azp ?? ''),
      permissions: String(payload.scp ?? '').split(/\s+/).filter(Boolean),
    };
  }

  type Reply = { status: number; headers?: Record<string, string>; body?: unknown; raw?: Buffer; rawType?: string };
  const err = (status: number, code: string, message: string, headers?: Record<string, string>): Reply => ({ status, body: graphError(code, message), ...(headers ? { headers } : {}) });

  /** Does the token carry one of the permissions a call needs? */
  function allowed(token: TokenInfo, need: 'read' | 'write' | 'send' | 'user'): boolean {
    const p = new Set(token.permissions);
    if (token.kind === 'app') {
      if (need === 'send') return p.has('Mail.Send');
      if (need === 'read') return p.has('Mail.ReadWrite') || p.has('Mail.Read') || p.has('Mail.ReadBasic.All');
      if (need === 'write') return p.has('Mail.ReadWrite');
      return p.has('User.Read.All') || p.has('User.ReadBasic.All') || p.has('Mail.Send') || p.has('Mail.ReadWrite') || p.has('Mail.Read');
    }
    if (need === 'send') return p.has('Mail.Send') || p.has('Mail.Send.Shared');
    // (Delegated .Shared permissions count for another person's mailbox; checked with Full Access above.)
    if (need === 'read') return p.has('Mail.ReadWrite') || p.has('Mail.Read') || p.has('Mail.ReadWrite.Shared') || p.has('Mail.Read.Shared');
    if (need === 'write') return p.has('Mail.ReadWrite') || p.has('Mail.ReadWrite.Shared');
    return true;
  }

  async function handle(req: IncomingMessage, body: Buffer, url: URL, path: string): Promise<{ reply: Reply; mailbox: string | null }> {
    const method = req.method ?? 'GET';
    const segments = path.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
    const token = await verifyToken(req.headers.authorization);
    if ('status' in token) return { reply: err(token.status, token.code, token.message, { 'WWW-Authenticate': GRAPH_WWW_AUTHENTICATE }), mailbox: null };

    // /me/... is the signed-in user; /users/{id|upn}/...
    let rest: string[];
    let who: string;
    if (segments[0] === 'me') {
      if (token.kind === 'app') return { reply: err(400, 'BadRequest', '/me request is only valid with delegated authentication flow.'), mailbox: null };
      who = token.upn ?? '';
      rest = segments.slice(1);
    } else if (segments[0] === 'users' && segments[1]) {
      who = segments[1];
      rest = segments.slice(2);
    } else {
      return { reply: err(400, 'BadRequest', `Resource not found for the segment '${segments[0] ?? ''}'.`), mailbox: null };
    }
    const mailbox = mailboxFor(who);
    const mailboxKey = mailbox?.upn ?? who.toLowerCase();

    // GET /users/{id}: the directory object; exists without a mailbox licence.
    if (rest.length === 0) {
      if (method !== 'GET') return { reply: err(405, 'Request_BadRequest', 'Method not allowed.'), mailbox: mailboxKey };
      if (!allowed(token, 'user')) return { reply: err(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'), mailbox: mailboxKey };
      if (!mailbox) return { reply: err(404, 'Request_ResourceNotFound', `Resource '${who}' does not exist or one of its queried reference-property objects are not present.`), mailbox: mailboxKey };
      return {
        reply: {
          status: 200,
          body: {
            '@odata.context': `${peer.baseUrl}/$metadata#users/$entity`,
            id: mailbox.id,
            userPrincipalName: mailbox.upn,
            mail: mailbox.upn,
            displayName: mailbox.displayName,
            assignedLicenses: mailbox.licensed ? [{ disabledPlans: [], skuId: '6fd2c87f-b296-42f0-b197-1e91e994b900' }] : [],
          },
        },
        mailbox: mailboxKey,
      };
    }

    // Everything below is the Outlook mail API: the mailbox must exist, be licensed and be open to the app.
    if (!mailbox) return { reply: err(404, 'ErrorInvalidUser', `The requested user '${who}' is invalid.`), mailbox: mailboxKey };
    if (!mailbox.licensed) return { reply: err(404, 'MailboxNotEnabledForRESTAPI', 'The mailbox is either inactive, soft-deleted, or is hosted on-premise.'), mailbox: mailboxKey };
    if (token.kind === 'app') {
      const policy = policies.get(token.appId);
      if (policy && !policy.has(mailbox.upn)) return { reply: err(403, 'ErrorAccessDenied', 'Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings.'), mailbox: mailboxKey };
    } else if (token.upn !== mailbox.upn) {
      // A person reaches another mailbox only with Full Access on it and the .Shared permissions in the token.
      const shared = token.permissions.includes('Mail.ReadWrite.Shared') || token.permissions.includes('Mail.Send.Shared');
      if (!shared || !token.upn || !mailbox.fullAccess.has(token.upn)) return { reply: err(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.'), mailbox: mailboxKey };
    }
    const denied = err(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');

    // POST sendMail
    if (rest[0] === 'sendMail' && rest.length === 1) {
      if (method !== 'POST') return { reply: err(405, 'ErrorInvalidRequest', 'The OData request is not supported.'), mailbox: mailboxKey };
      if (!allowed(token, 'send')) return { reply: denied, mailbox: mailboxKey };
      const contentType = String(req.headers['content-type'] ?? '').toLowerCase();
      if (contentType.startsWith('text/plain')) {
        const text = body.toString('ascii').replace(/\s+/g, '');
        if (!text || !/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return { reply: err(400, 'ErrorMimeContentInvalidBase64String', 'Invalid base64 string for MIME content.'), mailbox: mailboxKey };
        const mime = Buffer.from(text, 'base64');
        const from = addressOf(headerOf(mime, 'From'));
        if (!from || !headerOf(mime, 'To') && !headerOf(mime, 'Cc') && !headerOf(mime, 'Bcc')) {
          return { reply: err(400, 'ErrorMimeContentInvalid', 'The MIME content is invalid.'), mailbox: mailboxKey };
        }
        if (!mailbox.sendAs.has(from)) return { reply: err(403, 'ErrorSendAsDenied', 'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message.'), mailbox: mailboxKey };
        const savedId = store(mailbox, findFolder(mailbox, 'sentitems')!, mime, true);
        sent.push({ mailbox: mailbox.upn, format: 'mime', mime, json: null, saveToSentItems: true, savedId });
        // Exchange delivers to its own mailboxes at once: a recipient that is a mailbox here gets it in its Inbox
        // (or its Junk Email folder when the test says the sender is junk there).
        for (const rcpt of recipientsOf(mime)) {
          const target = mailboxes.get(rcpt);
          if (!target) continue;
          const junk = junkSenders.get(target.upn)?.has(from);
          store(target, findFolder(target, junk ? 'junkemail' : 'inbox')!, mime, false);
        }
        return { reply: { status: 202 }, mailbox: mailboxKey };
      }
      if (contentType.startsWith('application/json')) {
        let json: Record<string, unknown>;
        try {
          json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
        } catch {
          return { reply: err(400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.'), mailbox: mailboxKey };
        }
        const message = json.message as Record<string, unknown> | undefined;
        if (!message || typeof message !== 'object') return { reply: err(400, 'ErrorInvalidParameter', "The value of the parameter 'Message' is empty."), mailbox: mailboxKey };
        const fromAddress = ((message.from as { emailAddress?: { address?: string } } | undefined)?.emailAddress?.address ?? mailbox.upn).toLowerCase();
        if (!mailbox.sendAs.has(fromAddress)) return { reply: err(403, 'ErrorSendAsDenied', 'The user account which was used to submit this request does not have the right to send mail on behalf of the specified sending account., Cannot submit message.'), mailbox: mailboxKey };
        const save = json.saveToSentItems !== false && json.saveToSentItems !== 'false';
        sent.push({ mailbox: mailbox.upn, format: 'json', mime: null, json, saveToSentItems: save, savedId: null });
        return { reply: { status: 202 }, mailbox: mailboxKey };
      }
      return { reply: err(415, 'UnsupportedMediaType', 'The content type is not supported; use application/json or text/plain (base64 MIME).'), mailbox: mailboxKey };
    }

    // mailFolders
    if (rest[0] === 'mailFolders') {
      if (!allowed(token, 'read')) return { reply: denied, mailbox: mailboxKey };
      if (rest.length === 1 && method === 'GET') {
        const rootChildren = [...mailbox.folders.values()].filter((f) => f.parentFolderId === findFolder(mailbox, 'inbox')!.parentFolderId);
        return { reply: { status: 200, body: { value: filterFolders(rootChildren, url).map((f) => folderJson(mailbox, f)) } }, mailbox: mailboxKey };
      }
      const folder = rest[1] ? findFolder(mailbox, rest[1]) : undefined;
      if (!folder) return { reply: err(404, 'ErrorItemNotFound', 'The specified object was not found in the store.'), mailbox: mailboxKey };
      if (rest.length === 2 && method === 'GET') return { reply: { status: 200, body: folderJson(mailbox, folder) }, mailbox: mailboxKey };
      if (rest[2] === 'childFolders' && rest.length === 3 && method === 'GET') {
        const children = [...mailbox.folders.values()].filter((f) => f.parentFolderId === folder.id);
        return { reply: { status: 200, body: { value: filterFolders(children, url).map((f) => folderJson(mailbox, f)) } }, mailbox: mailboxKey };
      }
      if (rest[2] === 'messages' && rest[3] === 'delta' && rest.length === 4 && method === 'GET') {
        return { reply: delta(mailbox, folder, url, req), mailbox: mailboxKey };
      }
      if (rest[2] === 'messages' && rest.length === 3 && method === 'GET') {
        let list = [...messages.values()].filter((m) => m.folderId === folder.id);
        const filter = url.searchParams.get('$filter');
        const byMessageId = filter ? /internetMessageId eq '(.*)'/i.exec(filter) : null;
        if (byMessageId) list = list.filter((m) => m.internetMessageId === byMessageId[1]!.replace(/''/g, "'"));
        return { reply: { status: 200, body: { value: list.map(messageJson) } }, mailbox: mailboxKey };
      }
      if (rest[2] === 'messages' && rest[3]) return messageCall(mailbox, rest.slice(3), method, body, token, mailboxKey);
      return { reply: err(400, 'BadRequest', 'Unsupported segment.'), mailbox: mailboxKey };
    }

    if (rest[0] === 'messages' && rest[1]) return messageCall(mailbox, rest.slice(1), method, body, token, mailboxKey);
    return { reply: err(400, 'BadRequest', `Resource not found for the segment '${rest[0]}'.`), mailbox: mailboxKey };
  }

  function filterFolders(list: GraphFolder[], url: URL): GraphFolder[] {
    const filter = url.searchParams.get('$filter');
    const byName = filter ? /displayName eq '(.*)'/i.exec(filter) : null;
    return byName ? list.filter((f) => f.displayName === byName[1]!.replace(/''/g, "'")) : list;
  }

  function messageCall(mailbox: GraphMailbox, rest: string[], method: string, body: Buffer, token: TokenInfo, mailboxKey: string): { reply: Reply; mailbox: string } {
    const message = messages.get(rest[0]!);
    const notFound = { reply: err(404, 'ErrorItemNotFound', 'The specified object was not found in the store.'), mailbox: mailboxKey };
    const denied = { reply: err(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.'), mailbox: mailboxKey };
    if (!message || message.mailbox !== mailbox.upn) return notFound;
    if (rest.length === 1 && method === 'GET') return allowed(token, 'read') ? { reply: { status: 200, body: messageJson(message) }, mailbox: mailboxKey } : denied;
    if (rest.length === 2 && rest[1] === '$value' && method === 'GET') {
      if (!allowed(token, 'read')) return denied;
      return { reply: { status: 200, raw: message.mime, rawType: 'text/plain' }, mailbox: mailboxKey };
    }
    if (rest.length === 1 && method === 'PATCH') {
      if (!allowed(token, 'write')) return denied;
      let patch: Record<string, unknown>;
      try {
        patch = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      } catch {
        return { reply: err(400, 'BadRequest', 'Unable to read JSON request payload.'), mailbox: mailboxKey };
      }
      if (typeof patch.isRead === 'boolean' && patch.isRead !== message.isRead) {
        message.isRead = patch.isRead;
        changes.push({ seq: ++seq, folderId: message.folderId, messageId: message.id, removed: false });
      }
      return { reply: { status: 200, body: messageJson(message) }, mailbox: mailboxKey };
    }
    if (rest.length === 2 && rest[1] === 'move' && method === 'POST') {
      if (!allowed(token, 'write')) return denied;
      let destinationId = '';
      try {
        destinationId = String((JSON.parse(body.toString('utf8')) as { destinationId?: unknown }).destinationId ?? '');
      } catch {
        return { reply: err(400, 'BadRequest', 'Unable to read JSON request payload.'), mailbox: mailboxKey };
      }
      const target = findFolder(mailbox, destinationId);
      if (!target) return { reply: err(404, 'ErrorInvalidIdMalformed', 'Id is malformed.'), mailbox: mailboxKey };
      // A move makes a new item (a new id) in the target folder and removes the old one.
      messages.delete(message.id);
      changes.push({ seq: ++seq, folderId: message.folderId, messageId: message.id, removed: true });
      const newId = newItemId();
      const moved: GraphMessage = { ...message, id: newId, folderId: target.id };
      messages.set(newId, moved);
      changes.push({ seq: ++seq, folderId: target.id, messageId: newId, removed: false });
      return { reply: { status: 201, body: messageJson(moved) }, mailbox: mailboxKey };
    }
    if (rest.length === 1 && method === 'DELETE') {
      if (!allowed(token, 'write')) return denied;
      messages.delete(message.id);
      changes.push({ seq: ++seq, folderId: message.folderId, messageId: message.id, removed: true });
      return { reply: { status: 204 }, mailbox: mailboxKey };
    }
    return { reply: err(405, 'ErrorInvalidRequest', 'The OData request is not supported.'), mailbox: mailboxKey };
  }

  function delta(mailbox: GraphMailbox, folder: GraphFolder, url: URL, req: IncomingMessage): Reply {
    const pageSize = Number(/odata\.maxpagesize=(\d+)/i.exec(String(req.headers.prefer ?? ''))?.[1] ?? DEFAULT_PAGE_SIZE) || DEFAULT_PAGE_SIZE;
    const skip = url.searchParams.get('$skiptoken');
    const deltaToken = url.searchParams.get('$deltatoken');
    const reset = () => {
      const status = deltaResetStatus.get(folder.id) ?? 410;
      return err(status, 'SyncStateNotFound', 'The sync state generation is not found. The delta token is expired and data must be synchronized again.');
    };
    let session: { folderId: string; epoch: number; items: Array<{ id: string; removed: boolean }>; endSeq: number };
    if (skip) {
      const found = skipSessions.get(skip);
      if (!found || found.folderId !== folder.id) return err(400, 'SyncStateNotFound', 'The sync state generation is not found.');
      if (found.epoch !== folder.epoch) return reset();
      // A nextLink can be followed again (a client that crashed before it stored the page asks again).
      session = found;
    } else if (deltaToken) {
      let state: { f: string; e: number; s: number };
      try {
        state = JSON.parse(Buffer.from(deltaToken, 'base64url').toString('utf8')) as { f: string; e: number; s: number };
      } catch {
        return err(400, 'SyncStateInvalid', 'The sync state is invalid.');
      }
      if (state.f !== folder.id) return err(400, 'SyncStateInvalid', 'The sync state is invalid.');
      if (state.e !== folder.epoch) return reset();
      // Every message whose state changed in this folder since the token: its latest state.
      const latest = new Map<string, boolean>();
      for (const c of changes) if (c.folderId === folder.id && c.seq > state.s) latest.set(c.messageId, c.removed || !messages.has(c.messageId));
      session = { folderId: folder.id, epoch: folder.epoch, items: [...latest].map(([id, removed]) => ({ id, removed })), endSeq: seq };
    } else {
      // The initial round: what is in the folder now, oldest first.
      const items = [...messages.values()].filter((m) => m.folderId === folder.id).map((m) => ({ id: m.id, removed: false }));
      session = { folderId: folder.id, epoch: folder.epoch, items, endSeq: seq };
    }
    const page = session.items.slice(0, pageSize);
    const restItems = session.items.slice(pageSize);
    const link = `${peer.baseUrl}/users/${encodeURIComponent(mailbox.id)}/mailFolders/${encodeURIComponent(folder.id)}/messages/delta`;
    const value = page.map((item) => {
      const m = messages.get(item.id);
      if (item.removed || !m || m.folderId !== folder.id) return { '@odata.type': '#microsoft.graph.message', id: item.id, '@removed': { reason: 'deleted' } };
      return { '@odata.type': '#microsoft.graph.message', ...messageJson(m) };
    });
    const body: Record<string, unknown> = { '@odata.context': `${peer.baseUrl}/$metadata#Collection(message)`, value };
    if (restItems.length > 0) {
      const next = crypto.randomBytes(24).toString('base64url');
      skipSessions.set(next, { ...session, items: restItems });
      body['@odata.nextLink'] = `${link}?$skiptoken=${next}`;
    } else {
      const state = Buffer.from(JSON.stringify({ f: folder.id, e: folder.epoch, s: session.endSeq })).toString('base64url');
      body['@odata.deltaLink'] = `${link}?$deltatoken=${state}`;
    }
    return { status: 200, body };
  }

  const server = https.createServer({ key: await readFile(idp.certs.keyFile), cert: await readFile(idp.certs.certFile) }, (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const url = new URL(req.url ?? '/', peer.origin);
        const method = req.method ?? 'GET';
        const path = url.pathname.startsWith('/v1.0') ? url.pathname.slice('/v1.0'.length) : url.pathname;
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
        const record: GraphRequestRecord = { method, url: req.url ?? '', path: decodeURIComponent(path), headers, body, mailbox: null, status: 0, at: Date.now() };
        requests.push(record);
        const who = /^\/users\/([^/]+)/.exec(path)?.[1];
        const concurrencyKey = who ? (mailboxFor(decodeURIComponent(who))?.upn ?? decodeURIComponent(who).toLowerCase()) : '/me';
        const running = (inFlight.get(concurrencyKey) ?? 0) + 1;
        inFlight.set(concurrencyKey, running);
        maxConcurrent.set(concurrencyKey, Math.max(maxConcurrent.get(concurrencyKey) ?? 0, running));
        let reply: Reply;
        try {
          if (peer.responseDelayMs > 0) await new Promise((r) => setTimeout(r, peer.responseDelayMs));
          const fault = faults.find((f) => f.left > 0 && (!f.method || f.method === method) && (!f.path || (typeof f.path === 'string' ? record.path.includes(f.path) : f.path.test(record.path))));
          if (fault) {
            fault.left -= 1;
            const [code, message] = DEFAULT_ERROR[fault.status] ?? ['UnknownError', ''];
            reply = { status: fault.status, headers: { ...(fault.status === 401 ? { 'WWW-Authenticate': GRAPH_WWW_AUTHENTICATE } : {}), ...fault.headers }, body: fault.body ?? graphError(code, message) };
            record.mailbox = who ? concurrencyKey : null;
          } else if (running > 4 && who) {
            // Outlook's MailboxConcurrency limit: a fifth request to one mailbox at once is throttled.
            reply = err(429, 'ApplicationThrottled', 'Application is over its MailboxConcurrency limit.', { 'Retry-After': '1' });
          } else {
            const handled = await handle(req, body, url, path);
            reply = handled.reply;
            record.mailbox = handled.mailbox;
          }
        } catch (error) {
          reply = err(500, 'InternalServerError', error instanceof Error ? error.message : String(error));
        } finally {
          inFlight.set(concurrencyKey, (inFlight.get(concurrencyKey) ?? 1) - 1);
        }
        record.status = reply.status;
        peer.afterRequest?.(record);
        const outHeaders: Record<string, string> = { 'request-id': crypto.randomUUID(), ...reply.headers };
        if (reply.raw) {
          res.writeHead(reply.status, { ...outHeaders, 'Content-Type': reply.rawType ?? 'application/octet-stream', 'Content-Length': String(reply.raw.length) });
          res.end(reply.raw);
        } else if (reply.body !== undefined) {
          const text = JSON.stringify(reply.body);
          res.writeHead(reply.status, { ...outHeaders, 'Content-Type': 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8' });
          res.end(text);
        } else {
          res.writeHead(reply.status, outHeaders);
          res.end();
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  peer.origin = `https://127.0.0.1:${port}`;
  peer.baseUrl = `${peer.origin}/v1.0`;
  return peer;
}

async function readFile(file: string): Promise<Buffer> {
  const fs = await import('node:fs/promises');
  return fs.readFile(file);
}
