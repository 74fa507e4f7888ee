/**
 * The engine's Microsoft Graph client for mail: sendMail with the queued MIME,
 * the folder's messages delta, a message's MIME ($value), mark read, move,
 * delete, and the user and folder look-ups. Every request goes through the
 * per-mailbox rate limiter (4 in flight, 10,000 per 10 minutes) with a
 * bearer token for Graph from the mailbox's own sign-in (delegated or
 * app-only), refreshed once when Graph answers 401.
 *
 * Why plain HTTP over the engine's HttpFetch and not
 * `@microsoft/microsoft-graph-client` (installed, and the issue's first
 * choice), decided for these reasons:
 * - Retries are the outbox's and the import's, not the SDK's: a 429/503 must
 *   become a recorded, deferred try whose next attempt is the Retry-After
 *   (surviving a restart, visible in the log, driven by the injected clock);
 *   the SDK's RetryHandler sleeps inside the call (up to 3 times, up to 180 s
 *   each), unseen by the log and the clock.
 * - Paging is the import's: each delta page is committed before its
 *   nextLink is followed, and the link is stored with it (a crash resumes
 *   the round); the SDK's PageIterator follows the links itself.
 * - One HTTP seam for the whole engine: msal already runs over HttpFetch
 *   (timeouts, the network failure told in plain words, the test CA); the SDK
 *   calls the global fetch, and its AuthenticationHandler sends the token only
 *   to the hosts it knows as Graph's (a test peer or a national cloud needs
 *   `customHosts`).
 * - The MIME variant of sendMail (text/plain, base64) has no typed request in
 *   the SDK (microsoftgraph/msgraph-metadata#389); it would be a raw `.post()`
 *   with a header override anyway.
 * What the SDK would give beyond this (batching, typed models, large file
 * upload) Mailroom does not use.
 *
 * The base URL is injectable: production https://graph.microsoft.com/v1.0
 * (national clouds by their sign-in host), tests a loopback peer.
 */
import { AppError, isAppError } from '../../shared/errors.js';
import { globalHttpFetch, timeoutSignal, type HttpFetch, type HttpResponse } from '../auth/http.js';
import { GraphError } from './graph-error.js';
import { GraphRateLimiter } from './rate-limiter.js';

/** Microsoft Graph v1.0 in the global cloud. */
export const GRAPH_BASE_URL = 'https://graph.microsoft.com/v1.0';

/** Graph's v1.0 endpoint of each national cloud, by its sign-in host (https://learn.microsoft.com/en-us/graph/deployments). */
const NATIONAL_GRAPH: Record<string, string> = {
  'login.microsoftonline.us': 'https://graph.microsoft.us/v1.0',
  'login.chinacloudapi.cn': 'https://microsoftgraph.chinacloudapi.cn/v1.0',
  'login.partner.microsoftonline.cn': 'https://microsoftgraph.chinacloudapi.cn/v1.0',
};

/**
 * The Graph base URL: MAILROOM_GRAPH_URL when set (a Graph-compatible
 * endpoint: a test peer, a proxy), else the national cloud of the sign-in
 * host, else the global one.
 */
export function graphBaseUrl(options: { env?: NodeJS.ProcessEnv; authorityHost?: string | null } = {}): string {
  const fromEnv = (options.env ?? process.env).MAILROOM_GRAPH_URL;
  if (fromEnv) return fromEnv.replace(/\/+$/, '');
  if (options.authorityHost) {
    try {
      const national = NATIONAL_GRAPH[new URL(options.authorityHost).host.toLowerCase()];
      if (national) return national;
    } catch {
      // not a URL: the global cloud
    }
  }
  return GRAPH_BASE_URL;
}

/** Where Graph tokens come from (engine/auth's OAuthService). */
export interface GraphTokenSource {
  getAccessToken(mailboxId: number, options?: { forceRefresh?: boolean; resource?: 'exchange' | 'graph' }): Promise<{ accessToken: string }>;
}

/** A mailbox as the client addresses it. */
export interface GraphMailboxRef {
  id: number;
  /** The mailbox's address: /users/{address}. */
  address: string;
}

/** One HTTP exchange, as a transcript shows it (no token, no body). */
export interface GraphExchange {
  method: string;
  /** The URL without its query string's state tokens. */
  url: string;
  /** Request body size in bytes, and what it was. */
  requestSummary: string | null;
  status: number | null;
  /** Graph's error code and message, or a short account of the success. */
  responseSummary: string;
  ms: number;
}

/** A token could not be had: the token provider's own error (sign-in needed, consent...). */
export class GraphTokenUnavailable extends Error {
  override readonly name = 'GraphTokenUnavailable';
  constructor(readonly tokenError: unknown) {
    super(tokenError instanceof Error ? tokenError.message : String(tokenError));
  }
}

/** True when `error` is a token that could not be had. */
export function isGraphTokenUnavailable(error: unknown): error is GraphTokenUnavailable {
  return error instanceof GraphTokenUnavailable || (typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'GraphTokenUnavailable');
}

export interface GraphClientOptions {
  tokens: GraphTokenSource;
  /** HTTP (the engine's seam). Default: the global fetch. */
  fetch?: HttpFetch;
  /**
   * Default graphBaseUrl(). A function is asked at each request (the sign-in
   * host of the saved OAuth settings names the national cloud, and may change).
   */
  baseUrl?: string | (() => string);
  /** Shared by every client of the process (the limits are per mailbox, not per client). */
  limiter?: GraphRateLimiter;
  now?: () => number;
  /** Timeout of one request. Default 60 s. */
  timeoutMs?: number;
}

/** What a successful call returns. */
export interface GraphReply {
  status: number;
  headers: HttpResponse['headers'];
  /** The JSON body (null for 202/204 or a non-JSON body). */
  json: Record<string, unknown> | null;
  /** The raw body, when asked for bytes. */
  bytes: Buffer | null;
}

/** A Graph message as the delta query lists it (the fields Mailroom asks for). */
export interface GraphDeltaItem {
  id: string;
  removed: boolean;
  receivedDateTime: string | null;
  internetMessageId: string | null;
  isRead: boolean | null;
}

/** One page of a delta round. */
export interface GraphDeltaPage {
  items: GraphDeltaItem[];
  nextLink: string | null;
  deltaLink: string | null;
}

/** A mail folder. */
export interface GraphFolderInfo {
  id: string;
  displayName: string;
  totalItemCount: number | null;
  unreadItemCount: number | null;
}

/** Graph's well-known folder names, by the IMAP names Mailroom's folder settings use. */
const WELL_KNOWN_BY_IMAP_NAME: Record<string, string> = {
  inbox: 'inbox',
  sent: 'sentitems',
  'sent items': 'sentitems',
  'sent messages': 'sentitems',
  trash: 'deleteditems',
  'deleted items': 'deleteditems',
  drafts: 'drafts',
  archive: 'archive',
  junk: 'junkemail',
  'junk email': 'junkemail',
  spam: 'junkemail',
};

/**
 * The Graph folder reference for an IMAP-style folder path: INBOX is the
 * well-known `inbox`, Sent / Deleted Items / Drafts / Archive / Junk theirs;
 * anything else is looked up by display name (`a/b` under `a`).
 */
export function wellKnownFolder(path: string): string | null {
  const parts = path.split(/[/.]/);
  if (parts.length !== 1) return null;
  return WELL_KNOWN_BY_IMAP_NAME[path.trim().toLowerCase()] ?? null;
}

/** The client. */
export class GraphClient {
  readonly limiter: GraphRateLimiter;
  private readonly base: () => string;
  private readonly fetch: HttpFetch;
  private readonly now: () => number;
  private readonly timeoutMs: number;

  constructor(private readonly options: GraphClientOptions) {
    const base = options.baseUrl ?? graphBaseUrl();
    this.base = typeof base === 'function' ? () => base().replace(/\/+$/, '') : () => base.replace(/\/+$/, '');
    this.fetch = options.fetch ?? globalHttpFetch;
    this.limiter = options.limiter ?? new GraphRateLimiter();
    this.now = options.now ?? Date.now;
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  /** Graph's base URL now (https://graph.microsoft.com/v1.0, a national cloud's, or MAILROOM_GRAPH_URL). */
  get baseUrl(): string {
    return this.base();
  }

  /** The URL of a path under /users/{address}. */
  userUrl(mailbox: GraphMailboxRef, path = ''): string {
    return `${this.baseUrl}/users/${encodeURIComponent(mailbox.address)}${path}`;
  }

  /**
   * One request with the mailbox's Graph token; a 401 gets one fresh token
   * and one more try. Non-2xx answers throw GraphError; a token that cannot
   * be had throws GraphTokenUnavailable.
   */
  async call(
    mailbox: GraphMailboxRef,
    method: string,
    url: string,
    init: { body?: string; contentType?: string; bytes?: boolean; prefer?: string; observe?: (exchange: GraphExchange) => void; timeoutMs?: number } = {},
  ): Promise<GraphReply> {
    const attempt = async (forceRefresh: boolean): Promise<GraphReply> => {
      let token: string;
      try {
        token = (await this.options.tokens.getAccessToken(mailbox.id, { resource: 'graph', ...(forceRefresh ? { forceRefresh: true } : {}) })).accessToken;
      } catch (error) {
        throw new GraphTokenUnavailable(error);
      }
      return this.limiter.run(mailbox.address, () => this.send(mailbox.address, method, url, token, init));
    };
    try {
      return await attempt(false);
    } catch (error) {
      if (error instanceof GraphError && error.status === 401) return attempt(true);
      throw error;
    }
  }

  private async send(limiterKey: string, method: string, url: string, token: string, init: { body?: string; contentType?: string; bytes?: boolean; prefer?: string; observe?: (exchange: GraphExchange) => void; timeoutMs?: number }): Promise<GraphReply> {
    const timeoutMs = init.timeoutMs ?? this.timeoutMs;
    const started = this.now();
    const shownUrl = url.replace(/([?&]\$(?:deltatoken|skiptoken)=)[^&]+/gi, '$1…');
    const request = `${method} ${shownUrl.replace(/\?.*$/, '')}`;
    const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: init.bytes ? '*/*' : 'application/json' };
    if (init.contentType) headers['Content-Type'] = init.contentType;
    if (init.prefer) headers.Prefer = init.prefer;
    const requestSummary = init.body !== undefined ? `${Buffer.byteLength(init.body)} bytes (${init.contentType ?? 'no type'})` : null;
    let response: HttpResponse;
    try {
      response = await this.fetch(url, { method, headers, ...(init.body !== undefined ? { body: init.body } : {}), signal: timeoutSignal(timeoutMs) });
    } catch (error) {
      const failure = GraphError.fromNetwork(error, request, safeHost(url), timeoutMs);
      init.observe?.({ method, url: shownUrl, requestSummary, status: null, responseSummary: failure.message, ms: this.now() - started });
      throw failure;
    }
    if (response.status >= 200 && response.status < 300) {
      let json: Record<string, unknown> | null = null;
      let bytes: Buffer | null = null;
      if (init.bytes) {
        const withBytes = response as HttpResponse & { arrayBuffer?: () => Promise<ArrayBuffer> };
        // The message's own bytes: never through a text decoding (8-bit and binary parts stay as they are).
        bytes = withBytes.arrayBuffer ? Buffer.from(await withBytes.arrayBuffer()) : Buffer.from(await response.text(), 'utf8');
      } else {
        const text = await response.text();
        if (text) {
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            json = null;
          }
        }
      }
      init.observe?.({ method, url: shownUrl, requestSummary, status: response.status, responseSummary: bytes ? `${bytes.length} bytes` : json && Array.isArray(json.value) ? `${json.value.length} item(s)` : 'ok', ms: this.now() - started });
      return { status: response.status, headers: response.headers, json, bytes };
    }
    const text = await response.text();
    const error = GraphError.fromResponse(response, text, request, this.now());
    init.observe?.({ method, url: shownUrl, requestSummary, status: response.status, responseSummary: `${error.graphCode}${error.graphMessage ? `: ${error.graphMessage}` : ''}${error.retryAfterMs !== null ? ` (Retry-After ${Math.round(error.retryAfterMs / 1000)} s)` : ''}`, ms: this.now() - started });
    // The server's Retry-After holds every request to the mailbox, not only this one.
    if ((error.status === 429 || error.status === 503) && error.retryAfterMs !== null) this.limiter.holdUntil(limiterKey, this.now() + error.retryAfterMs);
    throw error;
  }

  /**
   * Sends the queued message as it is: its MIME, base64, as text/plain
   * (https://learn.microsoft.com/en-us/graph/api/user-sendmail, "send a new
   * message using MIME format"). Graph answers 202 and saves a copy to Sent
   * Items: the MIME form has no saveToSentItems (see removeSentCopy).
   */
  async sendMime(mailbox: GraphMailboxRef, raw: Buffer, observe?: (exchange: GraphExchange) => void, timeoutMs?: number): Promise<GraphReply> {
    return this.call(mailbox, 'POST', this.userUrl(mailbox, '/sendMail'), { body: raw.toString('base64'), contentType: 'text/plain', ...(observe ? { observe } : {}), ...(timeoutMs ? { timeoutMs } : {}) });
  }

  /**
   * Deletes the Sent Items copy of a message sent with sendMail (found by its
   * Message-ID), for a mailbox that keeps no copies. Returns how many were
   * removed; 0 when the copy is not there (yet).
   */
  async removeSentCopy(mailbox: GraphMailboxRef, messageId: string, observe?: (exchange: GraphExchange) => void): Promise<number> {
    return this.removeMessagesWithId(mailbox, 'Sent Items', messageId, observe);
  }

  /**
   * Deletes the messages of a folder (an IMAP-style path, see folder()) whose
   * Message-ID is `messageId` (without angle brackets); returns how many.
   */
  async removeMessagesWithId(mailbox: GraphMailboxRef, folderPath: string, messageId: string, observe?: (exchange: GraphExchange) => void): Promise<number> {
    const opts = observe ? { observe } : {};
    const folderRef = wellKnownFolder(folderPath) ?? (await this.folder(mailbox, folderPath, observe)).id;
    const filter = encodeURIComponent(`internetMessageId eq '<${messageId.replace(/'/g, "''")}>'`);
    const found = await this.call(mailbox, 'GET', this.userUrl(mailbox, `/mailFolders/${encodeURIComponent(folderRef)}/messages?$filter=${filter}&$select=id`), opts);
    const ids = (Array.isArray(found.json?.value) ? (found.json!.value as Array<{ id?: unknown }>) : []).map((m) => m.id).filter((id): id is string => typeof id === 'string');
    for (const id of ids) await this.call(mailbox, 'DELETE', this.userUrl(mailbox, `/messages/${encodeURIComponent(id)}`), opts);
    return ids.length;
  }

  /** GET /users/{address}: does the account exist (and has it a licence). */
  async user(mailbox: GraphMailboxRef, observe?: (exchange: GraphExchange) => void): Promise<Record<string, unknown>> {
    return (await this.call(mailbox, 'GET', this.userUrl(mailbox, ''), observe ? { observe } : {})).json ?? {};
  }

  /**
   * The folder for an IMAP-style path (INBOX, Archive, Inbox/Processed):
   * a well-known name directly, otherwise by display name level by level.
   * Throws GraphError 404 ErrorItemNotFound when a level is missing.
   */
  async folder(mailbox: GraphMailboxRef, path: string, observe?: (exchange: GraphExchange) => void): Promise<GraphFolderInfo> {
    const opts = observe ? { observe } : {};
    const wellKnown = wellKnownFolder(path);
    if (wellKnown) return folderInfo((await this.call(mailbox, 'GET', this.userUrl(mailbox, `/mailFolders/${wellKnown}`), opts)).json);
    const parts = path.split('/').filter(Boolean);
    let parent: GraphFolderInfo | null = null;
    for (const [index, part] of parts.entries()) {
      const level = index === 0 ? wellKnownFolder(part) : null;
      if (level) {
        parent = folderInfo((await this.call(mailbox, 'GET', this.userUrl(mailbox, `/mailFolders/${level}`), opts)).json);
        continue;
      }
      const filter = encodeURIComponent(`displayName eq '${part.replace(/'/g, "''")}'`);
      const list = parent ? `/mailFolders/${encodeURIComponent(parent.id)}/childFolders?$filter=${filter}` : `/mailFolders?$filter=${filter}`;
      const found = (await this.call(mailbox, 'GET', this.userUrl(mailbox, list), opts)).json;
      const first = Array.isArray(found?.value) ? (found!.value as Record<string, unknown>[])[0] : undefined;
      if (!first) {
        throw new GraphError({ status: 404, graphCode: 'ErrorItemNotFound', graphMessage: `No folder named "${part}"${parent ? ` in ${parent.displayName}` : ''}.`, retryAfterMs: null, wwwAuthenticate: null, requestId: null, request: `GET ${this.userUrl(mailbox, '/mailFolders')}` });
      }
      parent = folderInfo(first);
    }
    if (!parent) throw new AppError('VALIDATION_FAILED', 'The folder name is empty.', { hint: 'Set the folder (for example INBOX).' });
    return parent;
  }

  /** The first delta request of a folder (by id): what is in it now, oldest pages first. */
  deltaStartUrl(mailbox: GraphMailboxRef, folderId: string): string {
    return this.userUrl(mailbox, `/mailFolders/${encodeURIComponent(folderId)}/messages/delta?$select=id,receivedDateTime,internetMessageId,isRead`);
  }

  /** One page of a delta round: a start URL, a nextLink or a deltaLink. */
  async delta(mailbox: GraphMailboxRef, url: string, pageSize: number, observe?: (exchange: GraphExchange) => void): Promise<GraphDeltaPage> {
    const reply = await this.call(mailbox, 'GET', url, { prefer: `odata.maxpagesize=${pageSize}`, ...(observe ? { observe } : {}) });
    const json = reply.json ?? {};
    const value = Array.isArray(json.value) ? (json.value as Record<string, unknown>[]) : [];
    return {
      items: value
        .filter((m) => typeof m.id === 'string')
        .map((m) => ({
          id: m.id as string,
          removed: m['@removed'] !== undefined,
          receivedDateTime: typeof m.receivedDateTime === 'string' ? m.receivedDateTime : null,
          internetMessageId: typeof m.internetMessageId === 'string' ? m.internetMessageId : null,
          isRead: typeof m.isRead === 'boolean' ? m.isRead : null,
        })),
      nextLink: typeof json['@odata.nextLink'] === 'string' ? json['@odata.nextLink'] : null,
      deltaLink: typeof json['@odata.deltaLink'] === 'string' ? json['@odata.deltaLink'] : null,
    };
  }

  /** A message's MIME, byte for byte (GET /messages/{id}/$value). */
  async mime(mailbox: GraphMailboxRef, messageId: string, observe?: (exchange: GraphExchange) => void): Promise<Buffer> {
    const reply = await this.call(mailbox, 'GET', this.userUrl(mailbox, `/messages/${encodeURIComponent(messageId)}/$value`), { bytes: true, ...(observe ? { observe } : {}) });
    return reply.bytes ?? Buffer.alloc(0);
  }

  /** PATCH isRead. */
  async markRead(mailbox: GraphMailboxRef, messageId: string, observe?: (exchange: GraphExchange) => void): Promise<void> {
    await this.call(mailbox, 'PATCH', this.userUrl(mailbox, `/messages/${encodeURIComponent(messageId)}`), { body: JSON.stringify({ isRead: true }), contentType: 'application/json', ...(observe ? { observe } : {}) });
  }

  /** POST move to a folder id or well-known name; returns the moved message's (new) id. */
  async move(mailbox: GraphMailboxRef, messageId: string, destinationId: string, observe?: (exchange: GraphExchange) => void): Promise<string | null> {
    const reply = await this.call(mailbox, 'POST', this.userUrl(mailbox, `/messages/${encodeURIComponent(messageId)}/move`), { body: JSON.stringify({ destinationId }), contentType: 'application/json', ...(observe ? { observe } : {}) });
    return typeof reply.json?.id === 'string' ? reply.json.id : null;
  }

  /** DELETE a message (it goes to Recoverable Items, as Outlook's delete does). */
  async remove(mailbox: GraphMailboxRef, messageId: string, observe?: (exchange: GraphExchange) => void): Promise<void> {
    await this.call(mailbox, 'DELETE', this.userUrl(mailbox, `/messages/${encodeURIComponent(messageId)}`), observe ? { observe } : {});
  }
}

function folderInfo(json: Record<string, unknown> | null): GraphFolderInfo {
  return {
    id: String(json?.id ?? ''),
    displayName: String(json?.displayName ?? ''),
    totalItemCount: typeof json?.totalItemCount === 'number' ? json.totalItemCount : null,
    unreadItemCount: typeof json?.unreadItemCount === 'number' ? json.unreadItemCount : null,
  };
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'Microsoft Graph';
  }
}

/** Keeps an error a token provider raised as it is (its code and hint say what to do). */
export function tokenErrorOf(error: unknown): unknown {
  if (isGraphTokenUnavailable(error)) return error.tokenError;
  return isAppError(error) ? error : undefined;
}
