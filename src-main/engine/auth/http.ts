/**
 * The HTTP seam of sign-in and autodetect: one injectable `fetch`-shaped
 * function (the global fetch in the app and CLI; tests pass one that trusts
 * their own CA), short timeouts, and network failures told in plain words.
 */
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';

/** The subset of a fetch Response Mailroom reads. */
export interface HttpResponse {
  status: number;
  headers: { get(name: string): string | null; forEach(callback: (value: string, key: string) => void): void };
  text(): Promise<string>;
}

/** The subset of fetch Mailroom calls. The global `fetch` satisfies it. */
export type HttpFetch = (
  url: string,
  init?: { method?: string; headers?: Record<string, string>; body?: string; signal?: AbortSignal; redirect?: 'follow' | 'manual' | 'error' },
) => Promise<HttpResponse>;

/** The global fetch, as an HttpFetch. */
export const globalHttpFetch: HttpFetch = (url, init) => fetch(url, init as RequestInit);

/** Why a request failed, for messages and for deciding "offline". */
export interface NetworkFailure {
  kind: 'timeout' | 'dns' | 'refused' | 'tls' | 'offline' | 'other';
  /** Plain words, without the URL's query (which may carry an address). */
  message: string;
  /** The reason alone, without the host: "the connection was refused (ECONNREFUSED)". */
  reason: string;
}

function causeCode(error: unknown): string | undefined {
  let e: unknown = error;
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Classifies a fetch failure (timeout, DNS, refused, TLS) in plain words. */
export function describeNetworkFailure(error: unknown, what: string, timeoutMs?: number): NetworkFailure {
  const failure = (kind: NetworkFailure['kind'], reason: string, message = `${what}: ${reason}.`): NetworkFailure => ({ kind, reason, message });
  const name = (error as { name?: string } | null)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    const reason = `no answer within ${timeoutMs ? `${(timeoutMs / 1000).toFixed(timeoutMs % 1000 ? 1 : 0)} s` : 'the time allowed'}`;
    return failure('timeout', reason, `${what} did not answer within ${timeoutMs ? `${(timeoutMs / 1000).toFixed(timeoutMs % 1000 ? 1 : 0)} s` : 'the time allowed'}.`);
  }
  const code = causeCode(error) ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ENODATA') return failure('dns', `the host name could not be resolved (${code})`);
  if (code === 'ECONNREFUSED') return failure('refused', `the connection was refused (${code})`);
  if (code === 'ENETUNREACH' || code === 'EHOSTUNREACH' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return failure('offline', `the network is unreachable (${code})`);
  }
  if (/CERT|SELF_SIGNED|TLS|SSL/i.test(code)) return failure('tls', `the TLS certificate was not accepted (${code})`);
  const text = error instanceof Error ? error.message : String(error);
  const reason = `${code ? `${code} ` : ''}${text}`.trim();
  return failure('other', reason, `${what} failed: ${reason}`);
}

/** A request that failed on the network, as the msal network module saw it (msal keeps only its own code). */
export interface ObservedNetworkFailure {
  /** host[:port] of the URL that failed. */
  host: string;
  failure: NetworkFailure;
  /** ms UTC. */
  at: number;
}

/**
 * Remembers the last network failure of msal's requests. msal turns any
 * failure of its network module into `endpoints_resolution_error` or
 * `network_error` without the cause; this keeps the cause and the host, so
 * that the error can say which host could not be reached and why.
 */
export class NetworkFailureLog {
  private last: ObservedNetworkFailure | undefined;

  record(url: string, error: unknown, timeoutMs: number): void {
    let host = url;
    try {
      host = new URL(url).host;
    } catch {
      // keep the text
    }
    this.last = { host, failure: describeNetworkFailure(error, host, timeoutMs), at: Date.now() };
  }

  /** The last failure at or after `since` (ms UTC), if any. */
  since(since: number): ObservedNetworkFailure | undefined {
    return this.last && this.last.at >= since ? this.last : undefined;
  }
}

/** A signal that aborts after `timeoutMs` or when `outer` aborts. */
export function timeoutSignal(timeoutMs: number, outer?: AbortSignal): AbortSignal {
  const timer = AbortSignal.timeout(timeoutMs);
  return outer ? AbortSignal.any([timer, outer]) : timer;
}

/** Reads a response body as text, at most `limit` bytes' worth of characters. */
export async function readLimited(response: HttpResponse, limit = 512 * 1024): Promise<string> {
  const text = await response.text();
  return text.length > limit ? text.slice(0, limit) : text;
}

/** Header names as a plain lower-case record, as msal expects. */
function headerRecord(response: HttpResponse): Record<string, string> {
  const out: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    out[key.toLowerCase()] = value;
  });
  return out;
}

/**
 * msal-node's network module over an HttpFetch, with a timeout on every
 * request (msal's own client has none on token requests).
 */
export function msalNetworkModule(httpFetch: HttpFetch, timeoutMs: number, failures?: NetworkFailureLog): INetworkModule {
  const send = async <T>(url: string, method: 'GET' | 'POST', options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> => {
    let response: HttpResponse;
    try {
      response = await httpFetch(url, {
        method,
        headers: options?.headers ?? {},
        ...(method === 'POST' ? { body: options?.body ?? '' } : {}),
        signal: AbortSignal.timeout(timeout ?? timeoutMs),
      });
    } catch (error) {
      failures?.record(url, error, timeout ?? timeoutMs);
      throw error;
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      // Not JSON (a proxy's HTML page, say): hand msal an error body it understands.
      body = { error: 'invalid_response', error_description: `The sign-in server answered HTTP ${response.status} with something that is not JSON.` };
    }
    return { headers: headerRecord(response), body: body as T, status: response.status };
  };
  return {
    sendGetRequestAsync: (url, options, timeout) => send(url, 'GET', options, timeout),
    sendPostRequestAsync: (url, options) => send(url, 'POST', options),
  };
}
