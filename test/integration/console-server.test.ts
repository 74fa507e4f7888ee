/**
 * The browser console server over HTTP on a random loopback port, with the
 * real router and engine over a temporary data folder and the built
 * renderer: loopback only, the per-run token on every request, Host and
 * Origin checks, no CORS, security headers, no path traversal, bounded bodies.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { createMailroomRouter } from '../../src-main/ipc/index';
import { startConsoleServer, type ConsoleServer } from '../../src-main/console-server/server';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { RENDERER_DIR } from '../helpers/paths';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const VALID = { name: 'Support', address: 'support@example.com', preset: 'generic', imap: { host: 'imap.example.com' }, smtp: { host: 'smtp.example.com' } };
const MAX_BODY = 64 * 1024;

let dataDir: string;
let engine: Mailroom;
let server: ConsoleServer;
let downloadsDir: string;

beforeAll(async () => {
  // tempDir() folders are removed after each test; this one lives for the whole file.
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-console-'));
  downloadsDir = path.join(dataDir, 'downloads');
  fs.mkdirSync(downloadsDir);
  fs.writeFileSync(path.join(downloadsDir, 'report.txt'), 'a report\n');
  engine = openMailroom({ dataDir, keyProvider: staticKeyProvider(crypto.randomBytes(32), 'test key') });
  const router = createMailroomRouter(engine, { runtime: 'console' });
  server = await startConsoleServer({ router, events: engine.events, rendererDir: RENDERER_DIR, maxBodyBytes: MAX_BODY, downloadsDir });
});

afterAll(async () => {
  await server?.close();
  engine?.close();
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

/** One HTTP request to the console on 127.0.0.1, with full control of the headers (Host included). */
function request(
  pathname: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; host?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: server.port,
        path: pathname,
        method: options.method ?? 'GET',
        headers: { host: options.host ?? `127.0.0.1:${server.port}`, ...options.headers },
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}

const authHeader = () => ({ 'x-mailroom-token': server.token });
const cookieHeader = () => ({ cookie: `mailroom_${server.port}=${encodeURIComponent(server.token)}` });

function invoke(channel: string, payload: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return request('/api/invoke', {
    method: 'POST',
    headers: { ...authHeader(), 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ channel, payload }),
  });
}

describe('listening', () => {
  it('listens on 127.0.0.1 and prints a URL there that carries the token', () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${server.token}`);
    expect(server.token.length).toBeGreaterThanOrEqual(32);
  });

  it('does not listen on [::1]', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const socket = net.connect({ host: '::1', port: server.port, timeout: 5000 });
      socket.once('connect', () => (socket.destroy(), resolve('connected')));
      socket.once('timeout', () => (socket.destroy(), resolve('timeout')));
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(['ECONNREFUSED', 'EADDRNOTAVAIL', 'ENETUNREACH', 'EAFNOSUPPORT']).toContain(outcome);
  });

  it.skipIf(process.platform !== 'linux')('binds its listening socket to 127.0.0.1 only (kernel socket table)', () => {
    const hexPort = server.port.toString(16).toUpperCase().padStart(4, '0');
    const listening = ['/proc/net/tcp', '/proc/net/tcp6']
      .filter((f) => fs.existsSync(f))
      .flatMap((f) => fs.readFileSync(f, 'utf8').split('\n').slice(1))
      .map((line) => line.trim().split(/\s+/))
      .filter((cols) => cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '0A')
      .map((cols) => cols[1]!.split(':')[0]);
    // 0100007F is 127.0.0.1 in the kernel's little-endian notation.
    expect(listening).toEqual(['0100007F']);
  });
});

describe('the token', () => {
  it('is required: no token gets 401 on pages, API and events', async () => {
    for (const p of ['/', '/index.html', '/mailboxes', '/api/events', '/favicon.svg']) {
      const reply = await request(p);
      expect(reply.status, p).toBe(401);
      expect(reply.body).toMatch(/token/i);
      expect(reply.body).not.toContain(server.token);
    }
    expect((await request('/api/invoke', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
  });

  it('must be the right one: a wrong token gets 401 in the URL, the cookie and the header', async () => {
    const wrong = crypto.randomBytes(24).toString('base64url');
    expect((await request(`/?token=${wrong}`)).status).toBe(401);
    expect((await request(`/?token=${server.token.slice(0, -1)}`)).status).toBe(401);
    expect((await request('/', { headers: { cookie: `mailroom_${server.port}=${wrong}` } })).status).toBe(401);
    expect((await request('/', { headers: { 'x-mailroom-token': wrong } })).status).toBe(401);
    expect((await invoke('mailboxes.list', {}, { 'x-mailroom-token': wrong })).status).toBe(401);
  });

  it('is traded for an HttpOnly, SameSite=Strict cookie by a 303 to / that drops it from the address bar', async () => {
    const reply = await request(`/?token=${encodeURIComponent(server.token)}`);
    expect(reply.status).toBe(303);
    expect(reply.headers.location).toBe('/');
    const cookie = reply.headers['set-cookie']?.[0] ?? '';
    expect(cookie).toMatch(new RegExp(`^mailroom_${server.port}=`));
    expect(cookie).toMatch(/;\s*HttpOnly/i);
    expect(cookie).toMatch(/;\s*SameSite=Strict/i);
    expect(cookie).toMatch(/;\s*Path=\//i);
    // The cookie then opens the app.
    const page = await request('/', { headers: { cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
  });

  it('reaches the page only for authenticated requests, injected in index.html', async () => {
    const page = await request('/', { headers: cookieHeader() });
    expect(page.body).toContain(`<meta name="mailroom-token" content="${server.token}">`);
    expect(page.body).toContain('<div id="root">');
    // Client-side routes get the same shell.
    expect((await request('/connection-tests', { headers: cookieHeader() })).body).toContain(server.token);
    // Other files never carry it.
    expect((await request('/favicon.svg', { headers: cookieHeader() })).body).not.toContain(server.token);
  });

  it('accepts a launch ticket once, then refuses it', async () => {
    const launch = new URL(server.launchUrl());
    expect(launch.host).toBe(`127.0.0.1:${server.port}`);
    expect(launch.href).not.toContain(server.token);
    const first = await request(launch.pathname + launch.search);
    expect(first.status).toBe(303);
    expect(first.headers['set-cookie']?.[0]).toContain(encodeURIComponent(server.token));
    expect((await request(launch.pathname + launch.search)).status).toBe(401);
    expect((await request('/?ticket=made-up')).status).toBe(401);
  });
});

describe('Host and Origin', () => {
  it.each(['evil.example', `evil.example:${0}`, 'mailroom.attacker.example', '127.0.0.1', '127.0.0.1:1', '[::1]', '0.0.0.0'])(
    'refuses Host %j with 421, even with the token (DNS rebinding)',
    async (host) => {
      const reply = await request('/', { host: host.replace(':0', `:${server.port}`), headers: cookieHeader() });
      expect(reply.status).toBe(421);
      expect(reply.body).not.toContain(server.token);
      expect((await invoke('mailboxes.list', {}, { host: host.replace(':0', `:${server.port}`) })).status).toBe(421);
    },
  );

  it('refuses a request without a Host header with 421', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port: server.port });
      let text = '';
      socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
      socket.on('data', (d) => (text += d.toString('latin1')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
      socket.write(`GET / HTTP/1.0\r\nCookie: mailroom_${server.port}=${encodeURIComponent(server.token)}\r\n\r\n`);
    });
    expect(reply).toMatch(/^HTTP\/1\.[01] 421 /);
    expect(reply).not.toContain('mailroom-token');
  });

  it('accepts localhost:<port> as well as 127.0.0.1:<port>', async () => {
    expect((await request('/', { host: `localhost:${server.port}`, headers: cookieHeader() })).status).toBe(200);
  });

  it.each(['https://evil.example', 'null', `http://127.0.0.1:${1}`, 'http://127.0.0.1', 'file://'])('refuses Origin %j with 403 and runs nothing', async (origin) => {
    const before = engine.mailboxes.list().length;
    const reply = await invoke('mailboxes.create', { ...VALID, name: `Cross-site ${crypto.randomUUID().slice(0, 8)}` }, { origin });
    expect(reply.status).toBe(403);
    expect(engine.mailboxes.list()).toHaveLength(before);
  });

  it('accepts its own Origin', async () => {
    const reply = await invoke('mailboxes.list', {}, { origin: `http://127.0.0.1:${server.port}` });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ ok: true });
  });
});

describe('/api/invoke', () => {
  it('runs a channel and answers with the result envelope', async () => {
    const created = await invoke('mailboxes.create', { ...VALID, name: 'Api', password: 'api-Secret-19' });
    expect(created.status).toBe(200);
    expect(created.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(created.body);
    expect(body).toMatchObject({ ok: true, value: { name: 'Api', passwordSet: true } });
    expect(created.body).not.toContain('api-Secret-19');
    const list = JSON.parse((await invoke('mailboxes.list', {})).body);
    expect(list.value.map((m: { name: string }) => m.name)).toContain('Api');
  });

  it('passes router errors through with their codes', async () => {
    const reply = await invoke('mailboxes.create', { name: 42 });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    expect(JSON.parse((await invoke('no.such', {})).body)).toMatchObject({ ok: false, error: { code: 'UNKNOWN_CHANNEL' } });
  });

  it('needs the X-Mailroom-Token header: the cookie alone is refused (CSRF)', async () => {
    const before = engine.mailboxes.list().length;
    const reply = await request('/api/invoke', {
      method: 'POST',
      headers: { ...cookieHeader(), 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'mailboxes.create', payload: { ...VALID, name: 'Csrf' } }),
    });
    expect(reply.status).toBe(401);
    expect(reply.body).toContain('X-Mailroom-Token');
    expect(engine.mailboxes.list()).toHaveLength(before);
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', ''])('needs a JSON content type: %j gets 415', async (type) => {
    const reply = await request('/api/invoke', {
      method: 'POST',
      headers: { ...authHeader(), ...(type ? { 'content-type': type } : {}) },
      body: JSON.stringify({ channel: 'mailboxes.list', payload: {} }),
    });
    expect(reply.status).toBe(415);
  });

  // Issue 12 item 5: browsers send 127.0.0.1 cookies of other local programs to every port.
  it.each([
    ['a value that does not URL-decode', 'a=%E0%A4%A'],
    ['a lone percent sign', 'x=%'],
    ['bad UTF-8 in percent escapes', 'y=%FF%FE'],
    ['a cookie of ours that does not decode', 'mailroom_PORT=%E0%A4%A'],
    ['no name, no value, quotes and spaces', '=; ; "q"="%"; z'],
  ])('ignores a cookie with %s: a valid token still gets in', async (_what, bad) => {
    const foreign = bad.replace('PORT', String(server.port));
    const api = await request('/api/invoke', { method: 'POST', headers: { ...authHeader(), cookie: foreign, 'content-type': 'application/json' }, body: JSON.stringify({ channel: 'mailboxes.list', payload: {} }) });
    expect(api.status).toBe(200);
    expect(JSON.parse(api.body)).toMatchObject({ ok: true });
    const page = await request('/', { headers: { cookie: `${foreign}; ${cookieHeader().cookie}` } });
    expect(page.status).toBe(200);
    const refused = await request('/api/invoke', { method: 'POST', headers: { cookie: foreign, 'content-type': 'application/json' }, body: '{}' });
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body)).toMatchObject({ ok: false, error: { code: 'WRONG_TOKEN' } });
  });

  it('gives every API refusal a code in the result envelope and the X-Mailroom-Error header', async () => {
    const cases: [string, Parameters<typeof request>[1], number, string][] = [
      ['/api/invoke', { headers: authHeader() }, 405, 'METHOD_NOT_ALLOWED'],
      ['/api/invoke', { method: 'POST', headers: { ...authHeader(), 'content-type': 'text/plain' }, body: '{}' }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['/api/invoke', { method: 'POST', headers: { ...authHeader(), 'content-type': 'application/json' }, body: '[1,2]' }, 400, 'INVALID_PAYLOAD'],
      ['/api/invoke', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }, 401, 'WRONG_TOKEN'],
      ['/api/other', { headers: authHeader() }, 404, 'NOT_FOUND'],
      ['/api/invoke', { method: 'POST', headers: { ...authHeader(), 'content-type': 'application/json' }, host: 'evil.test' }, 421, 'WRONG_HOST'],
      ['//evil.test/api/invoke', { headers: authHeader() }, 400, 'BAD_REQUEST'],
    ];
    for (const [pathname, options, status, code] of cases) {
      const reply = await request(pathname, options);
      expect(reply.status, `${pathname} ${JSON.stringify(options)}`).toBe(status);
      expect(reply.headers['x-mailroom-error']).toBe(code);
      if (pathname.startsWith('/api/')) expect(JSON.parse(reply.body)).toMatchObject({ ok: false, error: { code } });
    }
  });

  it('answers INVALID_PAYLOAD for a body that is not JSON', async () => {
    const reply = await request('/api/invoke', { method: 'POST', headers: { ...authHeader(), 'content-type': 'application/json' }, body: '{"channel": ' });
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.body)).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
  });

  it('only takes POST', async () => {
    expect((await request('/api/invoke', { headers: authHeader() })).status).toBe(405);
    expect((await request('/api/invoke', { method: 'PUT', headers: { ...authHeader(), 'content-type': 'application/json' }, body: '{}' })).status).toBe(405);
  });

  it('refuses an oversized body with 413, runs nothing and keeps serving', async () => {
    const before = engine.mailboxes.list().length;
    const huge = JSON.stringify({ channel: 'mailboxes.create', payload: { ...VALID, name: 'Huge', imap: { host: 'imap.example.com', folder: 'x'.repeat(MAX_BODY * 2) } } });
    const reply = await request('/api/invoke', { method: 'POST', headers: { ...authHeader(), 'content-type': 'application/json' }, body: huge });
    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.body)).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    expect(engine.mailboxes.list()).toHaveLength(before);
    expect((await invoke('mailboxes.list', {})).status).toBe(200);
  });

  it('refuses a body that is too big while it streams in (no Content-Length)', async () => {
    const reply = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: server.port, path: '/api/invoke', method: 'POST', headers: { ...authHeader(), 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, timeout: 10_000 },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? resolve(-1) : reject(error)));
      req.write('{"channel":"mailboxes.list","payload":{"x":"');
      const chunk = 'y'.repeat(16 * 1024);
      let sent = 0;
      const pump = () => {
        while (sent < MAX_BODY * 3) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end('"}}');
      };
      pump();
    });
    expect(reply).toBe(413);
    expect((await invoke('mailboxes.list', {})).status).toBe(200);
  });

  it('cuts a body far over the limit short instead of reading it all', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const req = http.request(
        { host: '127.0.0.1', port: server.port, path: '/api/invoke', method: 'POST', headers: { ...authHeader(), 'content-type': 'application/json', 'content-length': String(1024 * 1024 * 1024) }, timeout: 10_000 },
        (res) => {
          res.resume();
          resolve(String(res.statusCode));
        },
      );
      req.on('timeout', () => (req.destroy(), resolve('timeout')));
      req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      req.write('{"channel":"mailboxes.list","payload":{');
    });
    // A 1 GB announcement is answered at once, never waited for.
    expect(['413', 'ECONNRESET', 'EPIPE']).toContain(outcome);
    expect((await invoke('mailboxes.list', {})).status).toBe(200);
  });
});

describe('responses', () => {
  it('never carry Access-Control-Allow-Origin, and always the CSP and nosniff headers', async () => {
    const replies = [
      await request('/'),
      await request('/', { headers: cookieHeader() }),
      await request('/', { headers: { ...cookieHeader(), origin: 'https://evil.example' } }),
      await request('/api/invoke', { method: 'OPTIONS', headers: { ...authHeader(), origin: 'https://evil.example', 'access-control-request-method': 'POST' } }),
      await request('/api/invoke', { method: 'OPTIONS', headers: { ...authHeader(), origin: `http://127.0.0.1:${server.port}` } }),
      await invoke('mailboxes.list', {}),
      await request('/nope.js', { headers: cookieHeader() }),
      await request('/', { host: 'evil.example' }),
    ];
    for (const reply of replies) {
      expect(Object.keys(reply.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
      expect(reply.headers['content-security-policy']).toMatch(/default-src 'none'/);
      expect(reply.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
      expect(reply.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('serves the built renderer assets with their types', async () => {
    const page = await request('/', { headers: cookieHeader() });
    const script = /src="\.?(\/assets\/[^"]+\.js)"/.exec(page.body)?.[1];
    expect(script).toBeDefined();
    const js = await request(script!, { headers: cookieHeader() });
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
  });
});

describe('paths', () => {
  it.each([
    '/../package.json',
    '/..%2fpackage.json',
    '/%2e%2e/package.json',
    '/%2e%2e%2f%2e%2e%2fpackage.json',
    '/assets/../../package.json',
    '/assets/%2e%2e/%2e%2e/package.json',
    '/..%5c..%5cpackage.json',
    '/%252e%252e/package.json',
    '/index.html%00.js',
    '/../../../../../../etc/passwd',
    '/..%2f..%2f..%2f..%2fetc%2fpasswd',
  ])('does not leave the renderer folder: %s', async (p) => {
    const reply = await request(p, { headers: cookieHeader() });
    expect(reply.body).not.toMatch(/"name":\s*"mailroom"|root:x:0/);
    // Either not found, or (extension-less paths that URL parsing folds back inside) the app shell of a client-side route.
    if (reply.status !== 404) {
      expect(reply.status).toBe(200);
      expect(reply.body).toContain('<div id="root">');
    }
  });

  it('keeps files beside the renderer folder out of reach', async () => {
    for (const p of ['/../package.json', '/%2e%2e/package.json', '/..%2fpackage.json', '/..%2f..%2fpackage.json']) {
      expect((await request(p, { headers: cookieHeader() })).status, p).toBe(404);
    }
  });

  it('answers 400 for a path that does not decode', async () => {
    expect((await request('/%E0%A4%A', { headers: cookieHeader() })).status).toBe(400);
  });

  it('serves downloads by plain name only', async () => {
    expect((await request('/downloads/report.txt', { headers: cookieHeader() })).body).toBe('a report\n');
    for (const p of ['/downloads/..%2fmailroom.db', '/downloads/../mailroom.db', '/downloads/.hidden', '/downloads/%2e%2e%2fmailroom.db']) {
      expect((await request(p, { headers: cookieHeader() })).status, p).toBe(404);
    }
    expect((await request('/downloads/report.txt')).status).toBe(401);
  });
});

describe('events', () => {
  it('streams engine events to an authenticated client', async () => {
    const received = await new Promise<string>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port: server.port, path: '/api/events', headers: authHeader(), timeout: 10_000 }, (res) => {
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toBe('text/event-stream');
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          if (text.includes(': connected') && !text.includes('mailboxes.changed')) void invoke('mailboxes.create', { ...VALID, name: 'Evented' });
          if (text.includes('mailboxes.changed')) {
            req.destroy();
            resolve(text);
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error('no event within 10 s')));
      req.on('error', (error) => (error.message.includes('no event') ? reject(error) : undefined));
    });
    expect(received).toMatch(/data: \{"name":"mailboxes\.changed","payload":\{"id":\d+\}\}/);
  });
});
