/**
 * The Microsoft Graph connection test of a saved Microsoft 365 mailbox:
 *
 * 1. `token`: a token for Microsoft Graph, from the mailbox's own sign-in
 *    (delegated or app-only);
 * 2. `mailbox`: `GET /users/{id}`: does the mailbox exist in the tenant;
 * 3. `folder`: `GET /users/{id}/mailFolders/{folder}`: can Graph reach its
 *    mail (an unlicensed mailbox answers MailboxNotEnabledForRESTAPI here),
 *    and does the import folder exist;
 * 4. `send-mail` (with a recipient): `POST /users/{id}/sendMail` with a
 *    small MIME test message, base64, as Graph's MIME variant wants it
 *    (learn.microsoft.com/graph/api/user-sendmail).
 *
 * Each step is timed and has its own deadline; the first failure gets one
 * diagnosis, from the same rules the Graph outbox and import use
 * (engine/graph/graph-diagnosis.ts), so one fault has one code everywhere. The HTTP exchanges go into the
 * transcript without the token or the Authorization value, and each result
 * carries the equivalent curl commands with `<TOKEN>` as the placeholder.
 *
 * The probe does its HTTP itself (node:https), one request per step, so a
 * step's deadline, its cancellation and its transcript are exact; the engine's
 * Graph client (engine/graph) adds retries and paging, which a test must not
 * hide. The base URL is injectable (tests point it at a loopback peer).
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import crypto from 'node:crypto';
import type { ConnectionTestCode, ConnectionTestReport, TestStepName } from '../../shared/diagnosis.js';
import { GRAPH_STEPS } from '../../shared/diagnosis-vocabulary.js';
import { isAppError } from '../../shared/errors.js';
import { decodeAccessToken } from '../auth/token-claims.js';
import { diagnoseGraphError, type GraphOperation } from '../graph/graph-diagnosis.js';
import { GraphError } from '../graph/graph-error.js';
import { describeNetworkFailure } from '../auth/http.js';
import { StepError, StepRecorder, TestCancelled, type StepProgress } from './step-recorder.js';
import { Redactor, Transcript } from './transcript.js';
import { SocketFailure } from './line-socket.js';
import type { TestOutcome } from './run-test.js';
import type { HttpFetch } from '../auth/http.js';

/** A token for Graph, and whose it is. */
export interface GraphToken {
  accessToken: string;
}

/** Everything a Graph test needs. The token is used for this run only. */
export interface GraphTestSpec {
  /** e.g. https://graph.microsoft.com/v1.0 */
  baseUrl: string;
  /** The mailbox: its address or user principal name. */
  mailbox: string;
  /** The import folder as the mailbox's settings name it (INBOX, Inbox/Support). */
  folder: string;
  /** With a recipient, a test message is sent. */
  to?: string;
  /** Save the test message in Sent Items (the mailbox's setting). */
  saveToSentItems: boolean;
  /** Per-step timeout, ms. */
  timeoutMs: number;
  /** How the mailbox signs in: a person's sign-in or the app's own. */
  signIn: 'delegated' | 'app';
  /** Gets the token (the `token` step). Throws an AppError when none can be had. */
  getToken(): Promise<GraphToken>;
  /** Extra CA certificates (PEM) to trust, on top of Node's and NODE_EXTRA_CA_CERTS. */
  ca?: string[];
}

/** What a Graph test needs from its surroundings. */
export interface GraphTestEnvironment {
  signal?: AbortSignal;
  onStep?: (progress: StepProgress) => void;
  /** Whose shell the curl commands are for. Default: this machine's. */
  platform?: NodeJS.Platform;
  /**
   * The engine's HTTP (the same as Microsoft sign-in uses, so a CA the
   * engine trusts is trusted here too). Default: node:https with the
   * spec's `ca`.
   */
  fetch?: HttpFetch;
}

/** Graph's well-known folder names (learn.microsoft.com/graph/api/resources/mailfolder). */
const WELL_KNOWN_FOLDERS = ['inbox', 'archive', 'deleteditems', 'drafts', 'junkemail', 'sentitems', 'outbox', 'clutter', 'conversationhistory', 'scheduled', 'searchfolders', 'recoverableitemsdeletions'];

/** How a folder name of the mailbox's settings is reached in Graph: a well-known name, or a path of display names. */
export function graphFolderPath(folder: string): { wellKnown: string } | { path: string[] } {
  const trimmed = folder.trim();
  if (!trimmed || /^inbox$/i.test(trimmed)) return { wellKnown: 'inbox' };
  const parts = trimmed.split('/').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 1 && WELL_KNOWN_FOLDERS.includes(parts[0]!.toLowerCase())) return { wellKnown: parts[0]!.toLowerCase() };
  // IMAP shows Inbox's sub-folders as INBOX/Name; Graph's path starts at the well-known inbox.
  if (/^inbox$/i.test(parts[0]!)) return { path: ['inbox', ...parts.slice(1)] };
  return { path: parts };
}

interface HttpExchange {
  status: number;
  statusText: string;
  /** Lower-case names. */
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One Graph request's failure, as the step list and the rules read it. */
class GraphReplyError extends Error {
  constructor(readonly exchange: HttpExchange, readonly graphCode: string | undefined, readonly graphMessage: string | undefined) {
    super(`${exchange.status} ${graphCode ?? exchange.statusText}${graphMessage ? `: ${graphMessage}` : ''}`);
  }
}

/** Headers worth showing in a transcript (request ids for Microsoft support, throttling, auth errors). */
const SHOWN_HEADERS = ['content-type', 'request-id', 'client-request-id', 'retry-after', 'www-authenticate', 'location'];
/** Longest response body kept in the transcript. */
const MAX_BODY_CHARS = 1500;

function quote(value: string, windows: boolean): string {
  if (windows) return `"${value.replace(/"/g, '\\"')}"`;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The test message, as raw MIME (CRLF line ends). */
export function graphTestMessage(from: string, to: string, now: Date = new Date()): string {
  const domain = from.split('@')[1] || 'mailroom.invalid';
  return [
    `From: <${from}>`,
    `To: <${to}>`,
    'Subject: Mailroom connection test (Microsoft Graph)',
    `Date: ${now.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${crypto.randomUUID()}@${domain}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 7bit',
    '',
    'This message was sent by the Microsoft Graph connection test of Mailroom.',
    'It can be deleted.',
    '',
  ].join('\r\n');
}

/** Runs the Graph test of one mailbox. Never throws for a failed test: the failure is in the outcome. */
export async function runGraphTest(spec: GraphTestSpec, env: GraphTestEnvironment = {}): Promise<TestOutcome> {
  const startedAt = Date.now();
  const started = performance.now();
  const redactor = new Redactor();
  const transcript = new Transcript(startedAt, redactor);
  const planned = GRAPH_STEPS.filter((s) => spec.to || s !== 'send-mail');
  const rec = new StepRecorder(planned, spec.timeoutMs, env.signal, env.onStep);
  const base = new URL(spec.baseUrl.replace(/\/+$/, '') + '/');
  const basePath = base.pathname.replace(/\/$/, '');
  const windows = (env.platform ?? process.platform) === 'win32';
  const curls: string[] = [];
  let token: string | undefined;
  let cancelled = false;
  /** The failed request, for the Graph rules. */
  let failedRequest: { error: GraphError; operation: GraphOperation } | undefined;
  let fixed: { code: ConnectionTestCode; summary: string; hint: string; serverReply: string | null } | undefined;
  const userPath = `${basePath}/users/${encodeURIComponent(spec.mailbox)}`;
  const ca = spec.ca?.length ? [...tls.rootCertificates, ...spec.ca] : undefined;

  transcript.info(`Testing Microsoft Graph at ${base.origin}${basePath} for ${spec.mailbox} (${spec.signIn === 'app' ? 'app-only sign-in' : "a person's sign-in"}); step timeout ${spec.timeoutMs} ms.`);

  const curlFor = (method: string, path: string, body?: { type: string; file: string }) => {
    const url = `${base.origin}${path}`;
    const parts = [windows ? 'curl.exe' : 'curl', '-v'];
    if (method !== 'GET') parts.push('-X', method);
    parts.push('-H', quote('Authorization: Bearer <TOKEN>', windows));
    if (body) parts.push('-H', quote(`Content-Type: ${body.type}`, windows), '--data-binary', quote(`@${body.file}`, windows));
    parts.push(quote(url, windows));
    curls.push(parts.join(' '));
  };

  /** One request within a step's deadline; resolves with any reply, rejects on a network failure. */
  const request = (method: string, path: string, limits: { deadline: number; signal?: AbortSignal }, body?: { type: string; data: string; note: string }): Promise<HttpExchange> =>
    new Promise((resolve, reject) => {
      const url = new URL(path, base.origin);
      const remaining = Math.max(1, limits.deadline - Date.now());
      transcript.client(`${method} ${url.pathname}${url.search} HTTP/1.1`);
      transcript.client(`Host: ${url.host}`);
      transcript.client('Authorization: Bearer [redacted token]');
      if (body) {
        transcript.client(`Content-Type: ${body.type}`);
        transcript.client(body.note);
      }
      const headers: http.OutgoingHttpHeaders = {
        Authorization: `Bearer ${token ?? ''}`,
        Accept: 'application/json',
        'client-request-id': crypto.randomUUID(),
        'User-Agent': 'Mailroom-connection-test',
      };
      if (body) {
        headers['Content-Type'] = body.type;
        headers['Content-Length'] = Buffer.byteLength(body.data);
      }
      if (env.fetch) {
        // The engine's HTTP: one abort for the step's deadline and the run's cancel.
        const controller = new AbortController();
        let why: SocketFailure | undefined;
        const deadline = setTimeout(() => {
          why = new SocketFailure('timeout', `no answer within the step timeout (${spec.timeoutMs} ms)`);
          controller.abort();
        }, remaining);
        const cancel = () => {
          why = new SocketFailure('cancelled', 'cancelled');
          controller.abort();
        };
        if (limits.signal?.aborted) cancel();
        else limits.signal?.addEventListener('abort', cancel, { once: true });
        const stringHeaders = Object.fromEntries(Object.entries(headers).filter(([name]) => name !== 'Content-Length').map(([k, v]) => [k, String(v)]));
        env
          .fetch(url.toString(), { method, headers: stringHeaders, ...(body ? { body: body.data } : {}), signal: controller.signal, redirect: 'manual' })
          .then(async (response) => {
            const text = await response.text();
            const replyHeaders: Record<string, string> = {};
            response.headers.forEach((value, key) => (replyHeaders[key.toLowerCase()] = value));
            resolve({ status: response.status, statusText: http.STATUS_CODES[response.status] ?? '', headers: replyHeaders, body: text.slice(0, 256 * 1024) });
          })
          .catch((error: unknown) => {
            // fetch wraps the socket's error ("fetch failed"); its cause carries the code.
            reject(why ?? ((error as { cause?: unknown })?.cause as Error | undefined) ?? error);
          })
          .finally(() => {
            clearTimeout(deadline);
            limits.signal?.removeEventListener('abort', cancel);
          });
        return;
      }
      const options: https.RequestOptions = { method, headers, ...(ca ? { ca } : {}), minVersion: 'TLSv1.2' };
      const req = (url.protocol === 'http:' ? http : https).request(url, options, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          // A runaway body cannot grow without bound: only its start is read.
          if (size <= 256 * 1024) chunks.push(chunk);
        });
        res.on('end', () => {
          clearTimeout(timer);
          limits.signal?.removeEventListener('abort', onAbort);
          resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', fail);
      });
      const timer = setTimeout(() => {
        req.destroy(new SocketFailure('timeout', `no answer within the step timeout (${spec.timeoutMs} ms)`));
      }, remaining);
      function onAbort() {
        req.destroy(new SocketFailure('cancelled', 'cancelled'));
      }
      function fail(error: Error) {
        clearTimeout(timer);
        limits.signal?.removeEventListener('abort', onAbort);
        reject(error);
      }
      req.on('error', fail);
      if (limits.signal?.aborted) onAbort();
      else limits.signal?.addEventListener('abort', onAbort, { once: true });
      req.end(body?.data);
    });

  /** Writes the reply into the transcript and throws GraphReplyError unless it is one of `ok`. */
  const expect = (exchange: HttpExchange, ok: number[]): unknown => {
    transcript.server(`HTTP/1.1 ${exchange.status} ${exchange.statusText}`);
    for (const name of SHOWN_HEADERS) {
      const value = exchange.headers[name];
      if (value !== undefined) transcript.server(`${name}: ${Array.isArray(value) ? value.join(', ') : value}`);
    }
    if (exchange.body) transcript.server(exchange.body.length > MAX_BODY_CHARS ? `${exchange.body.slice(0, MAX_BODY_CHARS)} [... ${exchange.body.length - MAX_BODY_CHARS} more characters]` : exchange.body);
    let json: unknown;
    try {
      json = exchange.body ? JSON.parse(exchange.body) : undefined;
    } catch {
      json = undefined;
    }
    if (ok.includes(exchange.status)) return json;
    const error = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    throw new GraphReplyError(exchange, typeof error?.code === 'string' ? error.code : undefined, typeof error?.message === 'string' ? error.message : undefined);
  };

  /** A request failure as a failed step: Graph's reply, or the network's error. */
  const stepFailure = (step: TestStepName, error: unknown): never => {
    if (error instanceof TestCancelled || error instanceof StepError) throw error;
    const operation: GraphOperation = step === 'send-mail' ? 'send' : step === 'mailbox' ? 'user' : 'folder';
    if (error instanceof SocketFailure && error.kind === 'cancelled') throw error;
    if (error instanceof GraphReplyError) {
      const retryAfter = Number(error.exchange.headers['retry-after']);
      const header = (name: string) => {
        const value = error.exchange.headers[name];
        return typeof value === 'string' ? value : null;
      };
      failedRequest = {
        operation,
        error: new GraphError({
          status: error.exchange.status,
          graphCode: error.graphCode ?? '',
          graphMessage: error.graphMessage ?? '',
          retryAfterMs: Number.isFinite(retryAfter) ? retryAfter * 1000 : null,
          wwwAuthenticate: header('www-authenticate'),
          requestId: header('request-id'),
          request: step,
        }),
      };
      throw new StepError({ kind: 'reply', reply: error.message }, `Graph answered ${error.message}`);
    }
    // No answer: the network's words, read the way the Graph client reads them.
    const timedOut = error instanceof SocketFailure && error.kind === 'timeout';
    const network = timedOut ? { kind: 'timeout' as const, reason: `no answer within ${spec.timeoutMs} ms`, message: `Microsoft Graph did not answer within ${spec.timeoutMs} ms.` } : describeNetworkFailure(error, `Microsoft Graph at ${base.host}`);
    failedRequest = { operation, error: new GraphError({ status: 0, graphCode: '', graphMessage: '', retryAfterMs: null, wwwAuthenticate: null, requestId: null, request: step, network }) };
    throw new StepError({ kind: timedOut ? 'timeout' : 'closed' }, `could not reach ${base.host}: ${network.reason}`);
  };

  try {
    // ---- token
    await rec.run(
      'token',
      async () => {
        try {
          const got = await spec.getToken();
          token = got.accessToken;
          redactor.add(token);
        } catch (error) {
          const info = isAppError(error) ? error : undefined;
          fixed = {
            code: 'OAUTH_TOKEN_UNAVAILABLE',
            summary: `No token for Microsoft Graph could be had for ${spec.mailbox}: ${info?.message ?? (error as Error).message}`,
            hint: info?.hint ?? 'Sign in again on the mailbox (Mailboxes > the mailbox > Sign in again), then test again.',
            serverReply: info?.code ?? null,
          };
          throw new StepError({ kind: 'reply' }, `${info?.code ?? 'no token'}: ${info?.message ?? (error as Error).message}`);
        }
        const facts = tokenFacts(token);
        transcript.info(`Token for ${facts.audience ?? 'an unknown audience'} (${facts.kind === 'app' ? 'app-only, roles' : 'delegated, scopes'}: ${facts.permissions.join(' ') || 'none'}); the token itself is never shown.`);
        return { detail: `${facts.kind === 'app' ? 'app-only' : facts.kind === 'delegated' ? 'delegated' : 'token'}${facts.audience ? ` for ${facts.audience}` : ''}${facts.permissions.length ? `; ${facts.permissions.join(', ')}` : ''}`, value: undefined };
      },
      (failure) => new StepError({ kind: 'closed' }, failure.message),
    );

    // ---- mailbox: GET /users/{id}
    await rec.run(
      'mailbox',
      async (limits) => {
        const path = `${userPath}?$select=id,displayName,mail,userPrincipalName,assignedLicenses`;
        curlFor('GET', path);
        const exchange = await request('GET', path, limits).catch((e) => stepFailure('mailbox', e));
        // Mail.* permissions alone may not read the directory: Graph answers 403 Authorization_RequestDenied.
        // That is no fault of the mailbox: the folder step reaches the mailbox itself.
        if (exchange.status === 403 && /Authorization_RequestDenied/i.test(exchange.body)) {
          expect(exchange, [403]);
          transcript.info('The token may not read the directory (no User.Read.All); the folder step checks that the mailbox exists and has an Exchange Online licence.');
          return { detail: 'the directory cannot be read with Mail permissions only; the folder step checks the mailbox', value: undefined };
        }
        let user: { displayName?: string; mail?: string; userPrincipalName?: string; assignedLicenses?: unknown[] } | undefined;
        try {
          user = expect(exchange, [200]) as typeof user;
        } catch (error) {
          stepFailure('mailbox', error);
        }
        // A shared mailbox needs no licence, so none is no failure here; an unlicensed user mailbox fails at the folder step (MailboxNotEnabledForRESTAPI).
        const licences = Array.isArray(user?.assignedLicenses) ? (user.assignedLicenses.length ? `; ${user.assignedLicenses.length} licence${user.assignedLicenses.length === 1 ? '' : 's'} assigned` : '; no licence assigned (right for a shared mailbox)') : '';
        return { detail: `${user?.displayName ?? spec.mailbox}${user?.mail ? ` <${user.mail}>` : ''}${user?.userPrincipalName && user.userPrincipalName !== user.mail ? ` (UPN ${user.userPrincipalName})` : ''}${licences}`, value: undefined };
      },
      (failure) => stepFailure('mailbox', failure),
    );

    // ---- folder: GET /users/{id}/mailFolders/{folder}, walking a path of display names
    await rec.run(
      'folder',
      async (limits) => {
        const target = graphFolderPath(spec.folder);
        let folder: { id?: string; displayName?: string; totalItemCount?: number; unreadItemCount?: number } | undefined;
        try {
          if ('wellKnown' in target) {
            const path = `${userPath}/mailFolders/${target.wellKnown}`;
            curlFor('GET', path);
            folder = expect(await request('GET', path, limits), [200]) as typeof folder;
          } else {
            let parent: string | undefined;
            for (const [i, name] of target.path.entries()) {
              if (i === 0 && WELL_KNOWN_FOLDERS.includes(name)) {
                const path = `${userPath}/mailFolders/${name}`;
                curlFor('GET', path);
                folder = expect(await request('GET', path, limits), [200]) as typeof folder;
              } else {
                const list = parent ? `${userPath}/mailFolders/${encodeURIComponent(parent)}/childFolders` : `${userPath}/mailFolders`;
                const path = `${list}?$filter=${encodeURIComponent(`displayName eq '${name.replace(/'/g, "''")}'`)}`;
                curlFor('GET', path);
                const found = expect(await request('GET', path, limits), [200]) as { value?: (typeof folder)[] } | undefined;
                folder = found?.value?.[0];
                if (!folder?.id) {
                  // Graph lists no such folder: the same meaning as its 404 ErrorItemNotFound for a folder id.
                  failedRequest = {
                    operation: 'folder',
                    error: new GraphError({ status: 404, graphCode: 'ErrorItemNotFound', graphMessage: `No folder named "${name}"${parent ? ' under the folder before it' : ''}.`, retryAfterMs: null, wwwAuthenticate: null, requestId: null, request: 'folder' }),
                  };
                  throw new StepError({ kind: 'reply', reply: `no folder named "${name}"` }, `no folder named "${name}" in ${spec.mailbox}`);
                }
              }
              parent = folder?.id;
            }
          }
        } catch (error) {
          stepFailure('folder', error);
        }
        const counts = folder?.totalItemCount !== undefined ? ` (${folder.totalItemCount} messages, ${folder.unreadItemCount ?? 0} unread)` : '';
        return { detail: `${folder?.displayName ?? spec.folder}${counts}`, value: undefined };
      },
      (failure) => stepFailure('folder', failure),
    );

    // ---- send-mail: POST /users/{id}/sendMail with MIME
    if (spec.to) {
      await rec.run(
        'send-mail',
        async (limits) => {
          const mime = graphTestMessage(spec.mailbox, spec.to!);
          const data = Buffer.from(mime, 'utf8').toString('base64');
          // The MIME variant has no saveToSentItems field; Graph saves a MIME message to Sent Items as it does by default.
          const path = `${userPath}/sendMail`;
          curlFor('POST', path, { type: 'text/plain', file: 'mailroom-test.eml.b64' });
          try {
            expect(await request('POST', path, limits, { type: 'text/plain', data, note: `(the test message as base64 MIME, ${mime.length} bytes: From ${spec.mailbox}, To ${spec.to})` }), [202, 200]);
          } catch (error) {
            stepFailure('send-mail', error);
          }
          return { detail: `202 Accepted: a test message to ${spec.to} was queued for delivery`, value: undefined };
        },
        (failure) => stepFailure('send-mail', failure),
      );
    }
  } catch (error) {
    if (error instanceof TestCancelled) {
      cancelled = true;
      transcript.info('The test was cancelled.');
    } else if (!(error instanceof StepError)) {
      throw error;
    }
  }

  const failure = rec.failure;
  let diagnosis: ConnectionTestReport['diagnosis'] = null;
  if (failure && !cancelled) {
    if (failedRequest) {
      const found = diagnoseGraphError(failedRequest.error, { operation: failedRequest.operation, address: spec.mailbox, folder: spec.folder, auth: spec.signIn });
      const hint = found.code === 'OAUTH_TOKEN_REJECTED' && token ? `${claimsHint(token, failedRequest.operation)}${found.hint}` : found.hint;
      const e = failedRequest.error;
      const reply = e.status ? `${e.status}${e.graphCode ? ` ${e.graphCode}` : ''}${e.graphMessage ? `: ${e.graphMessage}` : ''}${e.wwwAuthenticate ? `\nWWW-Authenticate: ${e.wwwAuthenticate}` : ''}` : null;
      diagnosis = { code: found.code as ConnectionTestCode, step: failure.step, summary: redactor.redact(found.summary), hint: redactor.redact(hint), serverReply: reply === null ? null : redactor.redact(reply) };
      transcript.info(`Diagnosis ${found.code} (${found.rule}) at step ${failure.step}: ${diagnosis.summary}`);
    } else {
      const found = fixed ?? { code: 'SERVER_TEMPORARY' as const, summary: 'The step failed for a reason Mailroom could not tell.', hint: 'Read the transcript.', serverReply: null };
      diagnosis = { code: found.code, step: failure.step, summary: redactor.redact(found.summary), hint: redactor.redact(found.hint), serverReply: found.serverReply === null ? null : redactor.redact(found.serverReply) };
      transcript.info(`Diagnosis ${found.code} at step ${failure.step}: ${diagnosis.summary}`);
    }
  }

  return {
    ok: !failure && !cancelled,
    protocol: 'graph',
    target: { host: base.host, port: Number(base.port) || (base.protocol === 'http:' ? 80 : 443), security: base.protocol === 'http:' ? 'none' : 'tls' },
    steps: rec.steps.map((s) => ({ ...s, detail: redactor.redact(s.detail) })),
    diagnosis,
    transcript: transcript.toJSON(),
    startedAt,
    durationMs: Math.round(performance.now() - started),
    cancelled,
    curlCommand: curls.join('\n'),
    tls: null,
    dns: null,
  };
}

/** What a token's claims say (never the token). */
interface TokenFacts {
  kind: 'delegated' | 'app' | 'unknown';
  audience?: string;
  permissions: string[];
  appId?: string;
}

/** Microsoft Graph's audiences; a token for Exchange Online (outlook.office365.com) is refused by Graph. */
const GRAPH_AUDIENCES = ['https://graph.microsoft.com', '00000003-0000-0000-c000-000000000000'];

/**
 * What the token's own claims say about a refusal, before the rule's hint:
 * a token for another service, or one without the permission the request
 * needs (Mail.Send to send, Mail.ReadWrite to read). Empty when the claims
 * look right.
 */
function claimsHint(token: string, operation: GraphOperation): string {
  const facts = tokenFacts(token);
  if (facts.audience && !GRAPH_AUDIENCES.includes(facts.audience.replace(/\/+$/, ''))) {
    return `The token is for ${facts.audience}, not Microsoft Graph (https://graph.microsoft.com): it was asked for without Graph's scopes. `;
  }
  const needed = operation === 'send' ? 'Mail.Send' : 'Mail.ReadWrite';
  const has = facts.permissions.some((p) => p.toLowerCase() === needed.toLowerCase() || (needed === 'Mail.ReadWrite' && /^Mail\.Read(Write)?(\.Shared)?$/i.test(p)));
  if (facts.kind !== 'unknown' && !has) {
    return `The token has no ${needed} ${facts.kind === 'app' ? 'application permission (roles' : 'delegated permission (scopes'}: ${facts.permissions.join(', ') || 'none'}). `;
  }
  return '';
}

/** What a token's claims say (never the token). */
function tokenFacts(token: string): TokenFacts {
  const decoded = decodeAccessToken(token);
  if (!decoded.readable) return { kind: 'unknown', permissions: [] };
  const c = decoded.claims;
  return { kind: c.kind, ...(c.audience ? { audience: c.audience } : {}), permissions: c.kind === 'app' ? c.roles : c.scopes, ...(c.appId ? { appId: c.appId } : {}) };
}
