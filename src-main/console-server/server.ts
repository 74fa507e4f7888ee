/**
 * The browser console: the renderer and the same router as the desktop app,
 * served over HTTP on 127.0.0.1 only. Every request needs the random per-run
 * token (a cookie set from the printed URL, and a header on API calls); Host
 * and Origin are checked against the server's own address; no CORS.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Router } from '../ipc/router.js';
import type { EventBus } from '../engine/events.js';

export interface ConsoleServerOptions {
  router: Router;
  events?: EventBus;
  /** The built renderer (dist/renderer). */
  rendererDir: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Fixed token for tests; a random one otherwise. */
  token?: string;
  /** Largest accepted request body in bytes. */
  maxBodyBytes?: number;
  /** Files the engine wrote for the user (log exports, bundles): served at /downloads/<name>. */
  downloadsDir?: string;
}

export interface ConsoleServer {
  readonly port: number;
  readonly token: string;
  /** The URL to open: carries the token once, then a cookie holds it. */
  readonly url: string;
  /**
   * A URL for launching a browser: it carries a one-time ticket (valid 60 s)
   * instead of the token, so a browser's command line never holds the token.
   */
  launchUrl(): string;
  close(): Promise<void>;
}

const TOKEN_HEADER = 'x-mailroom-token';
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  '.zip': 'application/zip',
};

function safeEqual(a: string | undefined, b: string): boolean {
  if (typeof a !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/**
 * The values of one cookie in a Cookie header. Browsers send every cookie of
 * 127.0.0.1, whatever program set it, to every port: a value that does not
 * decode (`a=%E0%A4%A`) belongs to someone else and is skipped, never an error.
 */
export function cookieValues(header: string | undefined, name: string): string[] {
  const out: string[] = [];
  if (typeof header !== 'string') return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i <= 0 || part.slice(0, i).trim() !== name) continue;
    let value = part.slice(i + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    try {
      out.push(decodeURIComponent(value));
    } catch {
      // Not ours (ours is URL-safe base64): ignore it.
    }
  }
  return out;
}

function baseHeaders(): Record<string, string> {
  return {
    'Content-Security-Policy': CSP,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': 'no-store',
  };
}

function sendText(res: http.ServerResponse, status: number, text: string, code?: string): void {
  res.writeHead(status, { ...baseHeaders(), 'Content-Type': 'text/plain; charset=utf-8', ...(code ? { 'X-Mailroom-Error': code } : {}) });
  res.end(text);
}

/**
 * Refuses a request with a stable code: the API answers the result
 * envelope `{ ok: false, error }` (what the renderer's client reads), pages
 * a line of text; both carry the code in the X-Mailroom-Error header.
 */
function refuse(res: http.ServerResponse, api: boolean, status: number, code: string, message: string, hint?: string): void {
  if (!api) return sendText(res, status, message, code);
  res.writeHead(status, { ...baseHeaders(), 'Content-Type': 'application/json; charset=utf-8', 'X-Mailroom-Error': code });
  res.end(JSON.stringify({ ok: false, error: { code, message, ...(hint ? { hint } : {}) } }));
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const code = status >= 400 ? (body as { error?: { code?: string } }).error?.code : undefined;
  res.writeHead(status, { ...baseHeaders(), 'Content-Type': 'application/json; charset=utf-8', ...(code ? { 'X-Mailroom-Error': code } : {}) });
  res.end(JSON.stringify(body));
}

export async function startConsoleServer(options: ConsoleServerOptions): Promise<ConsoleServer> {
  const token = options.token ?? crypto.randomBytes(24).toString('base64url');
  // Large enough for an imported diagnostics bundle (base64 in JSON).
  const maxBody = options.maxBodyBytes ?? 72 * 1024 * 1024;
  const rendererDir = path.resolve(options.rendererDir);
  const indexFile = path.join(rendererDir, 'index.html');
  if (!fs.existsSync(indexFile)) {
    throw new Error(`The renderer is not built: ${indexFile} is missing. Run "npm run build" first.`);
  }
  let port = 0;
  const tickets = new Map<string, number>();
  const sseClients = new Set<http.ServerResponse>();

  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  const allowedOrigins = () => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`]);
  const cookieName = () => `mailroom_${port}`;

  // Without a Host header Node would answer a bare 400 itself; the handler's 421 names the fault.
  const server = http.createServer({ requireHostHeader: false }, (req, res) => {
    handle(req, res).catch(() => {
      // Nothing a request carries may get here (the console fuzz test holds it to that).
      if (!res.headersSent) refuse(res, (req.url ?? '').startsWith('/api/'), 500, 'INTERNAL_ERROR', 'The console could not answer this request.');
      else res.end();
    });
  });
  // Requests Node's parser refuses (bad header bytes, headers over its limit) get a code too, not a bare 400.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return void socket.destroy();
    const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
    const body = JSON.stringify({ ok: false, error: { code: tooLarge ? 'HEADERS_TOO_LARGE' : 'BAD_REQUEST', message: tooLarge ? 'The request headers are too large.' : 'The request could not be read.' } });
    socket.end(`HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\nContent-Type: application/json; charset=utf-8\r\nX-Mailroom-Error: ${tooLarge ? 'HEADERS_TOO_LARGE' : 'BAD_REQUEST'}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const api = (req.url ?? '').startsWith('/api/');
    // DNS rebinding and cross-site requests: the Host must be our own loopback address.
    if (!allowedHosts().has(req.headers.host ?? '')) return refuse(res, api, 421, 'WRONG_HOST', 'Wrong Host header: open the console at the printed 127.0.0.1 address.');
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins().has(origin)) return refuse(res, api, 403, 'CROSS_ORIGIN', 'Cross-origin requests are not allowed.');
    let url: URL;
    try {
      url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    } catch {
      return refuse(res, api, 400, 'BAD_REQUEST', 'The request address cannot be read.');
    }
    // Only a path on this server: "//other/x" would otherwise be read as another host.
    if (url.origin !== `http://127.0.0.1:${port}`) return refuse(res, api, 400, 'BAD_REQUEST', 'The request address cannot be read.');

    // First visit: the token arrives in the URL; trade it for a cookie and drop it from the address bar.
    const queryToken = url.searchParams.get('token');
    const ticket = url.searchParams.get('ticket');
    if (ticket !== null && req.method === 'GET' && url.pathname === '/') {
      const expires = tickets.get(ticket);
      tickets.delete(ticket);
      if (expires === undefined || expires < Date.now()) return refuse(res, false, 401, 'TICKET_EXPIRED', 'This launch link was already used or has expired: open the URL printed when the console started.');
    } else if (queryToken !== null && req.method === 'GET' && url.pathname === '/') {
      if (!safeEqual(queryToken, token)) return refuse(res, false, 401, 'WRONG_TOKEN', 'Wrong or expired token: open the URL printed when the console started.');
    }
    if ((ticket !== null || queryToken !== null) && req.method === 'GET' && url.pathname === '/') {
      res.writeHead(303, {
        ...baseHeaders(),
        'Set-Cookie': `${cookieName()}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
        Location: '/',
      });
      return void res.end();
    }

    const headerToken = req.headers[TOKEN_HEADER];
    const authenticated = cookieValues(req.headers.cookie, cookieName()).some((value) => safeEqual(value, token)) || safeEqual(typeof headerToken === 'string' ? headerToken : undefined, token);
    if (!authenticated) return refuse(res, api, 401, 'WRONG_TOKEN', 'This console needs its access token: open the URL printed when it started (it ends in ?token=...).');

    if (url.pathname === '/api/invoke') {
      if (req.method !== 'POST') return refuse(res, true, 405, 'METHOD_NOT_ALLOWED', 'Use POST.');
      // Cookies ride along on cross-site requests; the header cannot, so API calls must carry it.
      if (!safeEqual(typeof headerToken === 'string' ? headerToken : undefined, token)) return refuse(res, true, 401, 'WRONG_TOKEN', 'API calls need the X-Mailroom-Token header.');
      if (!/^application\/json(\s*;|\s*$)/i.test(req.headers['content-type'] ?? '')) return refuse(res, true, 415, 'UNSUPPORTED_MEDIA_TYPE', 'Send application/json.');
      const tooLarge = () => {
        // Close the connection after the answer: the rest of the body is not wanted.
        res.setHeader('Connection', 'close');
        sendJson(res, 413, { ok: false, error: { code: 'INVALID_PAYLOAD', message: `The request is larger than ${maxBody} bytes.`, hint: 'Send less data in one request.' } });
      };
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > maxBody * DRAIN_FACTOR) {
        tooLarge();
        res.on('finish', () => req.destroy());
        return;
      }
      let text: string;
      try {
        text = await readBody(req, maxBody);
      } catch (error) {
        if (error instanceof BodyTooLargeError) return tooLarge();
        return void req.destroy();
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return sendJson(res, 400, { ok: false, error: { code: 'INVALID_PAYLOAD', message: 'The request body is not valid JSON.' } });
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        return sendJson(res, 400, { ok: false, error: { code: 'INVALID_PAYLOAD', message: 'The request body must be a JSON object: { "channel": "...", "payload": {...} }.' } });
      }
      const { channel, payload } = body as { channel?: unknown; payload?: unknown };
      const result = await options.router.invoke(typeof channel === 'string' ? channel : '', payload, { transport: 'console', ...(origin ? { senderUrl: origin } : {}) });
      return sendJson(res, 200, result);
    }

    if (url.pathname === '/api/events') {
      if (req.method !== 'GET') return refuse(res, true, 405, 'METHOD_NOT_ALLOWED', 'Use GET.');
      res.writeHead(200, { ...baseHeaders(), 'Content-Type': 'text/event-stream', Connection: 'keep-alive' });
      res.write(': connected\n\n');
      sseClients.add(res);
      req.on('close', () => sseClients.delete(res));
      return;
    }

    if (url.pathname.startsWith('/api/')) return refuse(res, true, 404, 'NOT_FOUND', `No API at ${url.pathname.slice(0, 100)}.`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, false, 405, 'METHOD_NOT_ALLOWED', 'Method not allowed.');
    if (url.pathname.startsWith('/downloads/')) return serveDownload(url.pathname.slice('/downloads/'.length), res);
    return serveStatic(url.pathname, res);
  }

  function serveDownload(name: string, res: http.ServerResponse): void {
    // Only plain file names straight inside the downloads folder.
    if (!options.downloadsDir || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/.test(name)) return sendText(res, 404, 'Not found.', 'NOT_FOUND');
    const file = path.join(path.resolve(options.downloadsDir), name);
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) return sendText(res, 404, 'Not found.', 'NOT_FOUND');
    res.writeHead(200, {
      ...baseHeaders(),
      'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'Content-Disposition': `attachment; filename="${name}"`,
      'Content-Length': String(fs.statSync(file).size),
    });
    fs.createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  }

  function serveStatic(pathname: string, res: http.ServerResponse): void {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return sendText(res, 400, 'Bad path.', 'BAD_REQUEST');
    }
    const file = path.resolve(rendererDir, '.' + path.posix.normalize('/' + decoded));
    const inside = file === rendererDir || file.startsWith(rendererDir + path.sep);
    let target = inside && fs.existsSync(file) && fs.statSync(file).isFile() ? file : undefined;
    // Client-side routes fall back to the app shell; missing assets are 404s.
    if (!target && inside && !path.extname(file)) target = indexFile;
    if (!target) return sendText(res, 404, 'Not found.', 'NOT_FOUND');
    let body: Buffer;
    try {
      body = fs.readFileSync(target);
    } catch {
      return sendText(res, 404, 'Not found.', 'NOT_FOUND');
    }
    if (target === indexFile) {
      body = Buffer.from(body.toString('utf8').replace('<head>', `<head>\n    <meta name="mailroom-token" content="${token}">`), 'utf8');
    }
    res.writeHead(200, { ...baseHeaders(), 'Content-Type': TYPES[path.extname(target)] ?? 'application/octet-stream' });
    res.end(body);
  }

  const unsubscribe = options.events?.onAny((name, payload) => {
    const frame = `event: message\ndata: ${JSON.stringify({ name, payload })}\n\n`;
    for (const client of sseClients) client.write(frame);
  });
  const keepAlive = setInterval(() => {
    for (const client of sseClients) client.write(': keep-alive\n\n');
  }, 20_000);
  keepAlive.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: options.port ?? 0 }, () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  return {
    port,
    token,
    url: `http://127.0.0.1:${port}/?token=${token}`,
    launchUrl() {
      const ticket = crypto.randomBytes(18).toString('base64url');
      tickets.set(ticket, Date.now() + 60_000);
      return `http://127.0.0.1:${port}/?ticket=${ticket}`;
    },
    close: async () => {
      unsubscribe?.();
      clearInterval(keepAlive);
      for (const client of sseClients) client.end();
      sseClients.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** How far past the limit a body is still read (and dropped) so the client can read the 413; beyond it the connection is cut. */
const DRAIN_FACTOR = 4;

class BodyTooLargeError extends Error {}

/**
 * Reads a request body up to `limit` bytes. A larger body is read to its end
 * without being kept, so the client gets the 413 rather than a reset
 * connection, up to DRAIN_FACTOR times the limit; then the connection is cut.
 */
function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (tooLarge) {
        if (size > limit * DRAIN_FACTOR) req.destroy();
        return;
      }
      if (size > limit) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => (tooLarge ? reject(new BodyTooLargeError('too large')) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('close', () => reject(new Error('the request was aborted')));
    req.on('error', reject);
  });
}
