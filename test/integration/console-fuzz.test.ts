/**
 * The console fuzz of issue 12 (items 5 and 12): seeded, bounded, over the
 * real console server and the real engine on a throw-away data folder.
 *
 * 1. Channel payloads: for every IPC channel of the contract, payloads are
 *    generated from the channel's own input schema (zod -> JSON Schema),
 *    valid ones and mutants (wrong types, missing and extra fields, huge and
 *    odd strings, deep nesting, prototype keys), and sent with a valid token.
 *    No answer is a 5xx; every refusal carries a code; no channel fails with
 *    INTERNAL_ERROR (an exception nobody turned into a code).
 * 2. Raw requests: malformed bodies, wrong content types, huge and deeply
 *    nested JSON, odd headers and cookies, odd request lines.
 *
 * Nothing reaches a real server: every host in a payload is 127.0.0.1 on a
 * port that was just closed, the OAuth authority is https://127.0.0.1 on
 * that port, file paths point into the temporary folder. Skipped, because
 * its look-ups go to the system's DNS resolver and the address's own domain
 * whatever the payload says: `detect.address`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { contract } from '../../src-main/shared/contract/index';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { createMailroomRouter } from '../../src-main/ipc/index';
import { startConsoleServer, type ConsoleServer } from '../../src-main/console-server/server';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { RENDERER_DIR } from '../helpers/paths';

const SEED = 12_0005;
const PAYLOADS = 1200;
const MAX_BODY = 1024 * 1024;
/** Channels whose side effects cannot be pointed at this machine (see the header comment). */
const SKIPPED = new Set(['detect.address']);

let dir: string;
let engine: Mailroom;
let server: ConsoleServer;
let closedPort: number;
const internalErrors: string[] = [];
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

/** mulberry32, so a failing payload can be replayed from the seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  pattern?: string;
  format?: string;
  default?: unknown;
};

class Fuzzer {
  constructor(readonly random: () => number) {}

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.random() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  oddString(): string {
    return this.pick([
      '',
      ' ',
      '\u0000',
      '\r\n',
      '../../../../etc/passwd',
      '%E0%A4%A',
      '\ud800',
      '😀'.repeat(this.int(1, 50)),
      'a'.repeat(this.int(1000, 100_000)),
      '<script>alert(1)</script>',
      '${7*7}',
      "'; DROP TABLE mailboxes; --",
      'Ünïcödé Grüße',
      '__proto__',
      'constructor',
      '-1',
      '1e309',
      'null',
      'true',
      '=?utf-8?B?w5w=?=',
      'x@example.invalid',
      'C:\\Windows\\System32',
    ]);
  }

  /** A string for a pattern of the shapes the contract uses (`^[class]{m,n}$`, `^[class]+$`); else any string. */
  stringFor(schema: JsonSchema): string {
    if (schema.format === 'email') return `user${this.int(1, 9)}@example.invalid`;
    const m = schema.pattern ? /^\^\[([^\]]+)\](?:\{(\d+),(\d+)\}|\+|\*)\$$/.exec(schema.pattern) : null;
    const lo = Math.max(schema.minLength ?? 0, m?.[2] ? Number(m[2]) : 1);
    const hi = Math.min(schema.maxLength ?? 40, m?.[3] ? Number(m[3]) : 40, lo + 40);
    const length = this.int(lo, Math.max(lo, hi));
    if (m) {
      const chars: string[] = [];
      const cls = m[1]!.replace(/\\/g, '');
      for (let i = 0; i < cls.length; i++) {
        if (cls[i + 1] === '-' && cls[i + 2]) {
          for (let c = cls.charCodeAt(i); c <= cls.charCodeAt(i + 2); c++) chars.push(String.fromCharCode(c));
          i += 2;
        } else chars.push(cls[i]!);
      }
      return Array.from({ length }, () => this.pick(chars)).join('');
    }
    return Array.from({ length }, () => String.fromCharCode(this.int(0x20, 0x7e))).join('');
  }

  /** What a field of this name usually holds, so that more payloads get past the refinements a JSON Schema cannot express. */
  hinted(key: string | undefined, type: string | undefined): unknown {
    if (!key || this.chance(0.2)) return undefined;
    if (type === 'integer' && /^(id|mailboxId)$/.test(key)) return this.int(1, 3);
    if (type === 'string' && /^(address|to|from|cc|bcc|username|user)$/i.test(key)) return `fuzz${this.int(1, 9)}@example.invalid`;
    if (type === 'string' && key === 'name') return `Fuzz ${this.int(1, 1e6)}`;
    if (type === 'string' && key === 'tenant') return 'contoso.onmicrosoft.com';
    if (type === 'string' && key === 'clientId') return '11111111-2222-3333-4444-555555555555';
    if (type === 'string' && key === 'version') return this.pick(['10.1.4', 'G9 9.2 R10', '8.5', 'x']);
    return undefined;
  }

  /** A value that fits the schema as far as a JSON Schema says (refinements may still refuse it). */
  valid(schema: JsonSchema, depth = 0, key?: string): unknown {
    if (schema.const !== undefined) return schema.const;
    if (schema.enum) return this.pick(schema.enum);
    const options = schema.anyOf ?? schema.oneOf;
    if (options) return this.valid(this.pick(options), depth + 1, key);
    const type = Array.isArray(schema.type) ? this.pick(schema.type) : schema.type;
    const hint = this.hinted(key, type === 'array' ? schema.items?.type as string | undefined : type);
    if (hint !== undefined) return type === 'array' ? [hint] : hint;
    switch (type) {
      case 'object': {
        const out: Record<string, unknown> = {};
        for (const [key, sub] of Object.entries(schema.properties ?? {})) {
          if ((schema.required ?? []).includes(key) || this.chance(0.5)) out[key] = this.valid(sub, depth + 1, key);
        }
        return out;
      }
      case 'array': {
        const length = this.int(schema.minItems ?? 0, Math.min(schema.maxItems ?? 3, (schema.minItems ?? 0) + 3));
        return Array.from({ length }, () => (schema.items ? this.valid(schema.items, depth + 1, key) : null));
      }
      case 'string':
        return this.stringFor(schema);
      case 'integer':
      case 'number': {
        const lo = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 0);
        const hi = Math.min(schema.maximum ?? lo + 10, lo + 10);
        const n = this.int(lo, Math.max(lo, hi));
        return type === 'number' && this.chance(0.3) ? n + 0.5 : n;
      }
      case 'boolean':
        return this.chance(0.5);
      case 'null':
        return null;
      default:
        return this.any(depth);
    }
  }

  any(depth = 0): unknown {
    const kind = this.int(0, depth > 3 ? 4 : 6);
    if (kind === 0) return null;
    if (kind === 1) return this.chance(0.5);
    if (kind === 2) return this.pick([0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, 7]);
    if (kind === 3 || kind === 4) return this.oddString();
    if (kind === 5) return Array.from({ length: this.int(0, 4) }, () => this.any(depth + 1));
    return Object.fromEntries(Array.from({ length: this.int(0, 4) }, () => [this.pick(['a', 'id', 'mailboxId', '__proto__', 'constructor', 'x y', '']), this.any(depth + 1)]));
  }

  deep(depth: number): unknown {
    let value: unknown = 'bottom';
    for (let i = 0; i < depth; i++) value = this.chance(0.5) ? [value] : { a: value };
    return value;
  }

  /** A payload broken in one or a few places. */
  mutate(value: unknown, depth = 0): unknown {
    const roll = this.random();
    if (depth > 0 && roll < 0.15) return this.any(depth);
    if (roll < 0.05) return this.deep(this.int(50, 3000));
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
      const keys = Object.keys(copy);
      if (keys.length && this.chance(0.3)) delete copy[this.pick(keys)];
      if (this.chance(0.2)) copy[this.pick(['extra', '__proto__', 'constructor', 'prototype', ''])] = this.any(depth + 1);
      if (keys.length && this.chance(0.5)) {
        const key = this.pick(keys);
        copy[key] = this.mutate(copy[key], depth + 1);
      }
      return copy;
    }
    if (Array.isArray(value)) {
      if (this.chance(0.3)) return Array.from({ length: this.int(50, 2000) }, () => value[0] ?? 1);
      return value.map((v) => (this.chance(0.3) ? this.mutate(v, depth + 1) : v));
    }
    if (typeof value === 'string') return this.chance(0.5) ? this.oddString() : this.any(depth);
    if (typeof value === 'number') return this.pick([-1, 0, 0.5, 2 ** 53 + 1, -(2 ** 31), 1e21, String(value), null]);
    return this.any(depth);
  }
}

/** Points every host at a closed port here and every path into the temporary folder. */
function confine(value: unknown, fuzz: Fuzzer, depth = 0): unknown {
  if (depth > 200 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => confine(v, fuzz, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) out[key] = confine(v, fuzz, depth + 1);
  if ('host' in out) {
    out.host = '127.0.0.1';
    out.port = closedPort;
  }
  if ('authorityHost' in out || ('tenant' in out && 'clientId' in out)) out.authorityHost = `https://127.0.0.1:${closedPort}`;
  if ('preset' in out || 'imap' in out || 'smtp' in out || ('address' in out && 'name' in out)) {
    // A preset fills in real servers where a side has no host: give both sides one here.
    for (const side of ['imap', 'smtp'] as const) {
      const given = out[side] && typeof out[side] === 'object' && !Array.isArray(out[side]) ? (out[side] as Record<string, unknown>) : {};
      out[side] = { ...given, host: '127.0.0.1', port: closedPort };
    }
  }
  if (typeof out.path === 'string' || 'path' in out) out.path = fuzz.pick([path.join(dir, 'site', 'web.config'), path.join(dir, 'site', 'missing.config'), path.join(dir, 'site')]);
  if ('handoffDir' in out && out.handoffDir !== null) out.handoffDir = path.join(dir, 'handoff', String(fuzz.int(1, 3)));
  return out;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function post(body: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: server.port,
        path: '/api/invoke',
        method: 'POST',
        agent,
        headers: { host: `127.0.0.1:${server.port}`, 'content-type': 'application/json', 'x-mailroom-token': server.token, ...headers },
        timeout: 30_000,
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
    req.end(body);
  });
}

/** Sends raw bytes as one HTTP request on a new connection; returns the status (0 when the server closed without a reply). */
function rawRequest(bytes: Buffer | string): Promise<{ status: number; text: string }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      // One answer is enough: close once its head and body are in.
      const text = Buffer.concat(chunks).toString('latin1');
      const length = /content-length: (\d+)/i.exec(text);
      const head = text.indexOf('\r\n\r\n');
      if (head >= 0 && length && text.length >= head + 4 + Number(length[1])) socket.end();
    });
    const done = () => {
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    };
    socket.on('close', done);
    socket.on('error', () => undefined);
    socket.setTimeout(20_000, () => socket.destroy());
    socket.end(bytes);
  });
}

/** What every answer must be: below 500, and a refusal carries a code. */
function checkReply(reply: Reply, context: string): { ok: boolean; code?: string } {
  expect(reply.status, context).toBeLessThan(500);
  if (reply.status >= 400) expect(reply.headers['x-mailroom-error'], `${context}: ${reply.body.slice(0, 200)}`).toMatch(/^[A-Z][A-Z0-9_]+$/);
  const body = JSON.parse(reply.body) as { ok: boolean; error?: { code: string; message: string } };
  expect(typeof body.ok, context).toBe('boolean');
  if (!body.ok) {
    expect(body.error?.code, context).toMatch(/^[A-Z][A-Z0-9_]+$/);
    expect(body.error?.message, context).toBeTruthy();
  }
  return { ok: body.ok, ...(body.error ? { code: body.error.code } : {}) };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-console-fuzz-'));
  fs.mkdirSync(path.join(dir, 'site'));
  fs.writeFileSync(path.join(dir, 'site', 'web.config'), '<?xml version="1.0"?>\r\n<configuration>\r\n  <appSettings>\r\n  </appSettings>\r\n</configuration>\r\n');
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  closedPort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));

  engine = openMailroom({ dataDir: path.join(dir, 'data'), keyProvider: staticKeyProvider(crypto.randomBytes(32), 'fuzz key') });
  engine.oauth.saveSettings({ tenant: 'contoso.onmicrosoft.com', clientId: '11111111-2222-3333-4444-555555555555', authorityHost: `https://127.0.0.1:${closedPort}`, redirectHost: '127.0.0.1' });
  const side = { host: '127.0.0.1', port: closedPort, security: 'none' as const };
  const m1 = engine.mailboxes.create({ name: 'Support', address: 'support@example.invalid', preset: 'generic', imap: side, smtp: side, password: 'Fuzz-secret-1' });
  engine.mailboxes.create({ name: 'Office', address: 'office@example.invalid', preset: 'microsoft365', imap: side, smtp: side });
  await engine.outbox.compose({ mailboxId: m1.id, to: ['a@example.invalid'], subject: 'seed', text: 'seed' });
  const router = createMailroomRouter(engine, { runtime: 'console' }, (channel, error) => internalErrors.push(`${channel}: ${(error as Error)?.message ?? String(error)}`));
  server = await startConsoleServer({ router, events: engine.events, rendererDir: RENDERER_DIR, maxBodyBytes: MAX_BODY, downloadsDir: path.join(dir, 'data', 'exports') });
});

afterAll(async () => {
  agent.destroy();
  await server?.close();
  await engine?.oauth.close();
  engine?.close();
  // Every mailbox a payload made still points at this machine.
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('console fuzz', () => {
  it(`answers ${PAYLOADS} generated payloads over every channel with no 5xx and a code on every refusal`, async () => {
    const fuzz = new Fuzzer(prng(SEED));
    const channels = Object.entries(contract).flatMap(([area, methods]) =>
      Object.entries(methods as Record<string, { input: z.ZodType }>).map(([method, ch]) => ({ name: `${area}.${method}`, schema: z.toJSONSchema(ch.input, { io: 'input', unrepresentable: 'any' }) as JsonSchema })),
    );
    const tried = channels.filter((c) => !SKIPPED.has(c.name));
    expect(tried.length).toBeGreaterThan(50);
    const seen = new Map<string, { ok: number; codes: Set<string> }>();
    for (let i = 0; i < PAYLOADS; i++) {
      // Every channel at least once, in order, then at random.
      const channel = i < tried.length ? tried[i]! : fuzz.pick(tried);
      const base = fuzz.valid(channel.schema);
      const payload = confine(fuzz.chance(0.4) ? fuzz.mutate(base) : base, fuzz);
      const text = JSON.stringify({ channel: channel.name, payload });
      const context = `#${i} ${channel.name} (seed ${SEED}) ${text.slice(0, 300)}`;
      const reply = await post(text);
      // A payload over the body limit is refused before any channel runs.
      if (Buffer.byteLength(text) > MAX_BODY) {
        expect(reply.status, context).toBe(413);
        continue;
      }
      const { ok, code } = checkReply(reply, context);
      expect(code, context).not.toBe('INTERNAL_ERROR');
      const entry = seen.get(channel.name) ?? { ok: 0, codes: new Set<string>() };
      if (ok) entry.ok++;
      else entry.codes.add(code!);
      seen.set(channel.name, entry);
    }
    expect(internalErrors).toEqual([]);
    if (process.env.FUZZ_STATS) console.log([...seen].map(([n, e]) => `${n} ok=${e.ok} ${[...e.codes].join(',')}`).join('\n'));
    expect(seen.size).toBe(tried.length);
    // The generator reaches past validation: most channels ran at least once.
    expect([...seen.values()].filter((e) => e.ok > 0).length).toBeGreaterThan(tried.length / 2);
  }, 120_000);

  it('answers malformed bodies, wrong content types, huge and deeply nested JSON with a coded 4xx or an envelope', async () => {
    const fuzz = new Fuzzer(prng(SEED + 1));
    const cases: { body: string | Buffer; headers?: Record<string, string>; what: string }[] = [
      { what: 'empty body', body: '' },
      { what: 'truncated JSON', body: '{"channel": "mailboxes.list", "payload": {' },
      { what: 'JSON null', body: 'null' },
      { what: 'a JSON string', body: '"mailboxes.list"' },
      { what: 'a JSON array', body: '[{"channel":"mailboxes.list"}]' },
      { what: 'a number', body: '42' },
      { what: 'a BOM before JSON', body: '\ufeff{"channel":"mailboxes.list","payload":{}}' },
      { what: 'invalid UTF-8', body: Buffer.from([0x7b, 0x22, 0x63, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) },
      { what: 'a NUL byte', body: '{"channel":"mailboxes.list\u0000","payload":{}}' },
      { what: 'a channel of the wrong type', body: '{"channel":["mailboxes.list"],"payload":{}}' },
      { what: 'an Object.prototype name as channel', body: '{"channel":"constructor","payload":{}}' },
      { what: 'a prototype key as channel', body: '{"channel":"__proto__.toString","payload":{}}' },
      { what: 'a __proto__ payload', body: '{"channel":"mailboxes.get","payload":{"__proto__":{"id":1}}}' },
      { what: 'a huge string over the limit', body: JSON.stringify({ channel: 'mailboxes.list', payload: { x: 'a'.repeat(MAX_BODY + 10) } }) },
      { what: 'a large string under the limit', body: JSON.stringify({ channel: 'logs.query', payload: { filter: { text: 'b'.repeat(MAX_BODY - 200) } } }) },
      { what: 'arrays nested 100,000 deep', body: `{"channel":"mailboxes.importSettings","payload":{"settings":${'['.repeat(100_000)}${']'.repeat(100_000)}}}` },
      { what: 'objects nested 50,000 deep', body: `{"channel":"mailboxes.importSettings","payload":{"settings":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}}` },
      { what: 'nesting in a typed field', body: `{"channel":"outbox.compose","payload":{"mailboxId":1,"to":${'['.repeat(30_000)}${']'.repeat(30_000)},"subject":"s","text":"t"}}` },
      { what: 'a wide object', body: JSON.stringify({ channel: 'logs.query', payload: Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i])) }) },
      { what: 'text/plain', body: '{"channel":"mailboxes.list","payload":{}}', headers: { 'content-type': 'text/plain' } },
      { what: 'form encoding', body: 'channel=mailboxes.list', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      { what: 'application/jsonp', body: '{"channel":"mailboxes.list","payload":{}}', headers: { 'content-type': 'application/jsonp' } },
      { what: 'JSON with a charset', body: '{"channel":"mailboxes.list","payload":{}}', headers: { 'content-type': 'application/json; charset=latin1' } },
      { what: 'upper-case JSON type', body: '{"channel":"mailboxes.list","payload":{}}', headers: { 'content-type': 'APPLICATION/JSON' } },
      { what: 'malformed cookies beside the token', body: '{"channel":"mailboxes.list","payload":{}}', headers: { cookie: 'a=%E0%A4%A; b=%; c; =; d="%ZZ"; mailroom_1=%' } },
      { what: 'a 12 KB cookie', body: '{"channel":"mailboxes.list","payload":{}}', headers: { cookie: `big=${'%'.repeat(12_000)}` } },
      { what: 'an Origin that is not ours', body: '{"channel":"mailboxes.list","payload":{}}', headers: { origin: 'http://evil.test' } },
      { what: 'Origin null', body: '{"channel":"mailboxes.list","payload":{}}', headers: { origin: 'null' } },
      { what: 'a wrong token', body: '{"channel":"mailboxes.list","payload":{}}', headers: { 'x-mailroom-token': 'x'.repeat(32) } },
      { what: 'an 8-bit token', body: '{"channel":"mailboxes.list","payload":{}}', headers: { 'x-mailroom-token': Buffer.from('t\xe9\xff', 'latin1').toString('latin1') } },
      { what: 'a wrong Host', body: '{"channel":"mailboxes.list","payload":{}}', headers: { host: 'localhost.evil.test' } },
    ];
    for (let i = 0; i < 40; i++) cases.push({ what: `random bytes ${i}`, body: crypto.createHash('sha512').update(String(fuzz.random())).digest().subarray(0, fuzz.int(1, 64)) });
    for (const c of cases) {
      const reply = await post(c.body, c.headers);
      const context = `${c.what}: ${reply.status} ${reply.body.slice(0, 200)}`;
      expect(reply.status, context).toBeLessThan(500);
      if (reply.status === 413) continue;
      checkReply(reply, context);
      expect(JSON.parse(reply.body).error?.code, context).not.toBe('INTERNAL_ERROR');
    }
    expect(internalErrors).toEqual([]);
    // The server still serves.
    expect(checkReply(await post('{"channel":"mailboxes.list","payload":{}}'), 'after').ok).toBe(true);
  }, 60_000);

  it('answers odd request lines and headers with a coded 4xx, never a 5xx or a hang', async () => {
    const host = `Host: 127.0.0.1:${server.port}\r\n`;
    const token = `X-Mailroom-Token: ${server.token}\r\n`;
    const requests = [
      `GET //evil.test/ HTTP/1.1\r\n${host}${token}\r\n`,
      `GET http://[::1 HTTP/1.1\r\n${host}${token}\r\n`,
      `GET /%E0%A4%A HTTP/1.1\r\n${host}${token}\r\n`,
      `GET /../../etc/passwd HTTP/1.1\r\n${host}${token}\r\n`,
      `GET /api/events?x=%ZZ HTTP/1.1\r\n${host}Cookie: a=%E0%A4%A\r\n\r\n`,
      `GET /downloads/..%2F..%2Fmailroom.db HTTP/1.1\r\n${host}${token}\r\n`,
      `GET / HTTP/1.1\r\n${host}Cookie: mailroom_${server.port}=%E0%A4%A; mailroom_${server.port}=${encodeURIComponent(server.token)}\r\n\r\n`,
      `POST /api/invoke HTTP/1.1\r\n${host}${token}Content-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n{}{}{}`,
      `POST /api/invoke HTTP/1.1\r\n${host}${token}Content-Type: application/json\r\nContent-Length: abc\r\n\r\n{}`,
      `POST /api/invoke HTTP/1.1\r\n${host}${token}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n`,
      `POST /api/invoke HTTP/1.1\r\n${host}${token}Content-Type: application/json\r\nX-Bad: a\u0001b\r\nContent-Length: 2\r\n\r\n{}`,
      `POST /api/invoke HTTP/1.1\r\n${host}${token}X-Huge: ${'h'.repeat(20_000)}\r\nContent-Length: 2\r\n\r\n{}`,
      `GET / HTTP/1.1\r\n\r\n`,
      `BREW /api/invoke HTTP/1.1\r\n${host}${token}\r\n`,
      `GET /api/invoke HTTP/9.9\r\n${host}${token}\r\n`,
      `GET / HTTP/1.1\r\n${host}Cookie: ${'x=%;'.repeat(2000)}\r\n\r\n`,
    ];
    for (const text of requests) {
      const reply = await rawRequest(text);
      const context = `${JSON.stringify(text.slice(0, 120))} -> ${reply.text.slice(0, 200)}`;
      expect(reply.status, context).toBeGreaterThanOrEqual(200);
      expect(reply.status, context).toBeLessThan(500);
      if (reply.status >= 400) expect(reply.text, context).toMatch(/\r\nX-Mailroom-Error: [A-Z][A-Z0-9_]+\r\n/i);
    }
    expect(internalErrors).toEqual([]);
  }, 60_000);
});
