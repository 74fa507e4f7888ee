/**
 * A Microsoft Graph request that did not succeed: the HTTP status, Graph's
 * error code and message (https://learn.microsoft.com/en-us/graph/errors:
 * `{ "error": { "code", "message", "innerError": { "request-id" } } }`), the
 * Retry-After of a 429/503 and the WWW-Authenticate of a 401; or, with status
 * 0, a request that got no answer (DNS, refused, TLS, timeout).
 */
import { describeNetworkFailure, type HttpResponse, type NetworkFailure } from '../auth/http.js';

/** Reads Retry-After (delta-seconds or an HTTP date) as milliseconds from `now`; null when absent or unreadable. */
export function retryAfterMs(value: string | null | undefined, now: number): number | null {
  if (!value) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}

/** A failed Graph request. */
export class GraphError extends Error {
  override readonly name = 'GraphError';
  /** HTTP status; 0 when no answer came. */
  readonly status: number;
  /** Graph's error code (`ErrorSendAsDenied`, `MailboxNotEnabledForRESTAPI`...), or '' when the body had none. */
  readonly graphCode: string;
  /** Graph's error message (never carries a token). */
  readonly graphMessage: string;
  /** How long the server asked to wait (429, 503), ms. */
  readonly retryAfterMs: number | null;
  readonly wwwAuthenticate: string | null;
  readonly requestId: string | null;
  /** The method and path (without the query) of the request. */
  readonly request: string;
  /** Why no answer came (status 0). */
  readonly network: NetworkFailure | null;

  constructor(fields: { status: number; graphCode: string; graphMessage: string; retryAfterMs: number | null; wwwAuthenticate: string | null; requestId: string | null; request: string; network?: NetworkFailure | null }) {
    super(fields.status ? `HTTP ${fields.status}${fields.graphCode ? ` ${fields.graphCode}` : ''}${fields.graphMessage ? `: ${fields.graphMessage}` : ''}` : (fields.network?.message ?? 'No answer from Microsoft Graph.'));
    this.status = fields.status;
    this.graphCode = fields.graphCode;
    this.graphMessage = fields.graphMessage;
    this.retryAfterMs = fields.retryAfterMs;
    this.wwwAuthenticate = fields.wwwAuthenticate;
    this.requestId = fields.requestId;
    this.request = fields.request;
    this.network = fields.network ?? null;
  }

  /** The server's reply as one line, as the outbox and the import show it. */
  get serverReply(): string | null {
    if (!this.status) return null;
    return `HTTP ${this.status}${this.graphCode ? ` ${this.graphCode}` : ''}${this.graphMessage ? `: ${this.graphMessage}` : ''}`.slice(0, 2000);
  }

  /** Builds the error from a response (its body already read as text). */
  static fromResponse(response: HttpResponse, bodyText: string, request: string, now: number): GraphError {
    let code = '';
    let message = '';
    try {
      const body = JSON.parse(bodyText) as { error?: { code?: unknown; message?: unknown } };
      code = typeof body.error?.code === 'string' ? body.error.code : '';
      message = typeof body.error?.message === 'string' ? body.error.message : '';
    } catch {
      // A proxy's HTML page or an empty body: keep its start as the message.
      message = bodyText.replace(/\s+/g, ' ').trim().slice(0, 200);
    }
    return new GraphError({
      status: response.status,
      graphCode: code,
      graphMessage: message,
      retryAfterMs: retryAfterMs(response.headers.get('retry-after'), now),
      wwwAuthenticate: response.headers.get('www-authenticate'),
      requestId: response.headers.get('request-id'),
      request,
    });
  }

  /** Builds the error for a request that got no answer. */
  static fromNetwork(error: unknown, request: string, host: string, timeoutMs: number): GraphError {
    return new GraphError({ status: 0, graphCode: '', graphMessage: '', retryAfterMs: null, wwwAuthenticate: null, requestId: null, request, network: describeNetworkFailure(error, host, timeoutMs) });
  }
}

/** True for a GraphError (also across bundles, by name). */
export function isGraphError(error: unknown): error is GraphError {
  return error instanceof GraphError || (typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'GraphError' && 'graphCode' in error);
}
