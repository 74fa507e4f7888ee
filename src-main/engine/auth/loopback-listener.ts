/**
 * The redirect listener of a sign-in: HTTP on 127.0.0.1 only, at a port the
 * OS picks, accepting exactly one authorization response whose `state`
 * matches (as a query string, or posted with response_mode=form_post).
 * Responses with another state are answered with a failure page and ignored,
 * so a stale tab or a forged request cannot end or hijack the sign-in. The
 * browser's request is held open until the token exchange is done, so its
 * page can say how the sign-in ended; then the listener closes.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PAGE_CSP, renderResultPage, type ResultPage } from './pages.js';

/** What came back from the authorization server. */
export interface AuthorizationResponse {
  state: string;
  code?: string;
  error?: string;
  errorDescription?: string;
  /** How it arrived: GET with a query, or POST (form_post). */
  mode: 'query' | 'form_post';
}

/** A running listener. */
export interface LoopbackListener {
  /** The port the OS gave. */
  readonly port: number;
  /** Always 127.0.0.1: nothing else is ever bound. */
  readonly address: string;
  /** The first response with the right state. */
  readonly response: Promise<AuthorizationResponse>;
  /** How many responses with a wrong state were turned away. */
  readonly rejectedResponses: number;
  /** Answers the accepted response with a page, then closes the listener. */
  finish(page: ResultPage): Promise<void>;
  /** Closes the listener (idempotent); a pending `response` rejects with `reason`. */
  close(reason?: Error): Promise<void>;
  /** True once closed. */
  readonly closed: boolean;
}

/** How a listener is started. */
export interface LoopbackOptions {
  expectedState: string;
  /** Called when a response with a wrong state arrives. */
  onRejected?: () => void;
  /** Largest accepted form body. */
  maxBodyBytes?: number;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

function sendPage(res: http.ServerResponse, status: number, page: ResultPage): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': PAGE_CSP,
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    Connection: 'close',
  });
  res.end(renderResultPage(page));
}

function readForm(req: http.IncomingMessage, limit: number): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

/** Starts the listener on 127.0.0.1 at a free port. */
export async function startLoopbackListener(options: LoopbackOptions): Promise<LoopbackListener> {
  const limit = options.maxBodyBytes ?? 64 * 1024;
  let port = 0;
  let rejected = 0;
  let closed = false;
  let accepted: http.ServerResponse | undefined;
  let resolveResponse!: (r: AuthorizationResponse) => void;
  let rejectResponse!: (e: Error) => void;
  const response = new Promise<AuthorizationResponse>((resolve, reject) => {
    resolveResponse = resolve;
    rejectResponse = reject;
  });
  // A rejection nobody awaits (closed before anyone asked) must not crash the process.
  response.catch(() => undefined);

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => sendPage(res, 500, { kind: 'failure', title: 'Sign-in response not understood', message: 'Mailroom could not read this response.' }));
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // DNS rebinding: only our own loopback names, with our port.
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      return sendPage(res, 421, { kind: 'failure', title: 'Wrong address', message: 'This listener only answers on 127.0.0.1 and localhost.' });
    }
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (url.pathname !== '/') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
      return void res.end('Not found');
    }
    let params: URLSearchParams;
    let mode: AuthorizationResponse['mode'];
    if (req.method === 'GET') {
      params = url.searchParams;
      mode = 'query';
    } else if (req.method === 'POST') {
      if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
        return sendPage(res, 415, { kind: 'failure', title: 'Sign-in response not understood', message: 'Expected a form post from the sign-in page.' });
      }
      params = await readForm(req, limit);
      mode = 'form_post';
    } else {
      res.writeHead(405, { Allow: 'GET, POST' });
      return void res.end();
    }
    const state = params.get('state') ?? '';
    const code = params.get('code') ?? undefined;
    const error = params.get('error') ?? undefined;
    if (!code && !error) {
      return sendPage(res, 400, {
        kind: 'failure',
        title: 'Waiting for Microsoft',
        message: 'This address receives the answer of a Mailroom sign-in. Finish signing in on the Microsoft page that Mailroom opened.',
      });
    }
    if (!state || !safeEqual(state, options.expectedState)) {
      rejected += 1;
      options.onRejected?.();
      return sendPage(res, 400, {
        kind: 'failure',
        title: 'This sign-in answer does not belong to the current sign-in',
        message: 'It may come from an older sign-in tab or from another program. It was ignored; the current sign-in keeps waiting.',
        hint: 'Use the sign-in page opened by the latest "Sign in with Microsoft", or start the sign-in again.',
        code: 'OAUTH_STATE_MISMATCH',
      });
    }
    if (accepted || closed) {
      return sendPage(res, 409, { kind: 'failure', title: 'Already received', message: 'This sign-in has already been answered. Close this tab and look in Mailroom.' });
    }
    accepted = res;
    resolveResponse({
      state,
      mode,
      ...(code ? { code } : {}),
      ...(error ? { error } : {}),
      ...(params.get('error_description') ? { errorDescription: params.get('error_description')! } : {}),
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  const close = async (reason?: Error) => {
    if (closed) return;
    closed = true;
    rejectResponse(reason ?? new Error('The sign-in listener was closed.'));
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };

  return {
    port,
    address: '127.0.0.1',
    response,
    get rejectedResponses() {
      return rejected;
    },
    get closed() {
      return closed;
    },
    async finish(page) {
      if (accepted) {
        const res = accepted;
        await new Promise<void>((resolve) => {
          res.once('finish', () => resolve());
          res.once('close', () => resolve());
          sendPage(res, page.kind === 'success' ? 200 : 400, page);
          if (res.writableEnded) resolve();
        });
      }
      await close();
    },
    close,
  };
}
