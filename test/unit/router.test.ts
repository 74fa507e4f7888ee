/**
 * The IPC router: payload validation with field paths, unknown channels,
 * foreign Electron senders refused before any handler runs, outputs held to
 * the contract, and errors mapped to stable codes without leaking details.
 * The real contract and handlers run over a temporary data folder; a small
 * contract of its own checks what the app's handlers never do.
 */
import crypto from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { createMailroomRouter } from '../../src-main/ipc/index';
import { createRouter, type CallContext, type Router } from '../../src-main/ipc/router';
import { isTrustedSender } from '../../src-main/ipc/sender';
import { channel, channelNames } from '../../src-main/shared/contract/channel';
import { contract } from '../../src-main/shared/contract/index';
import { AppError, type ErrorInfo, type Result } from '../../src-main/shared/errors';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { tempDir } from '../helpers/temp';

const INTERNAL: CallContext = { transport: 'internal' };
const APP_FRAME: CallContext = { transport: 'electron', senderUrl: 'app://mailroom/index.html' };
const VALID = { name: 'Support', address: 'support@example.com', preset: 'generic', imap: { host: 'imap.example.com' }, smtp: { host: 'smtp.example.com' } };

const engines: Mailroom[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

function appRouter(): { engine: Mailroom; router: Router; internalErrors: unknown[] } {
  const engine = openMailroom({ dataDir: tempDir(), keyProvider: staticKeyProvider(crypto.randomBytes(32)) });
  engines.push(engine);
  const internalErrors: unknown[] = [];
  const router = createMailroomRouter(engine, { runtime: 'electron' }, (_channel, error) => internalErrors.push(error));
  return { engine, router, internalErrors };
}

function failure(result: Result<unknown>): ErrorInfo {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.value)}`);
  return result.error;
}

/** A contract of its own, with handlers that misbehave on purpose. */
const testContract = {
  probe: {
    echo: channel(z.object({ text: z.string() }).strict(), z.object({ text: z.string() })),
    leaky: channel(z.object({}).strict(), z.object({ name: z.string(), nested: z.object({ port: z.number() }) })),
    wrongShape: channel(z.object({}).strict(), z.object({ count: z.number() })),
    appError: channel(z.object({}).strict(), z.void()),
    appErrorByShape: channel(z.object({}).strict(), z.void()),
    crash: channel(z.object({}).strict(), z.void()),
    asyncCrash: channel(z.object({}).strict(), z.void()),
  },
};

function probeRouter() {
  const calls: string[] = [];
  const internalErrors: Array<{ channel: string; error: unknown }> = [];
  const router = createRouter(
    testContract,
    {
      probe: {
        echo: ({ text }) => (calls.push('echo'), { text }),
        leaky: () => ({ name: 'Support', password: 'hunter2', nested: { port: 993, token: 'eyJhbGciOi' } }) as never,
        wrongShape: () => ({ count: 'many' }) as never,
        appError: () => {
          throw new AppError('NOT_FOUND', 'No mailbox is named "Sales".', { hint: 'Run "mailroom mailbox list".', issues: [{ path: 'id', message: 'unknown' }] });
        },
        appErrorByShape: () => {
          // An AppError from another bundle (e.g. a lazily loaded chunk) is recognised by its shape.
          throw Object.assign(new Error('Sign-in expired.'), { name: 'AppError', code: 'AUTH_EXPIRED', hint: 'Sign in again.' });
        },
        crash: () => {
          throw new Error('SQLITE_CORRUPT at C:\\Users\\admin\\AppData\\Roaming\\Mailroom\\mailroom.db');
        },
        asyncCrash: async () => {
          await Promise.resolve();
          throw new TypeError("Cannot read properties of undefined (reading 'secret')");
        },
      },
    },
    { isTrustedSender, onInternalError: (ch, error) => internalErrors.push({ channel: ch, error }) },
  );
  return { router, calls, internalErrors };
}

describe('payload validation', () => {
  it.each([
    ['a wrong type', { ...VALID, name: 42 }, 'name'],
    ['a missing field', { name: 'Support' }, 'address'],
    ['a wrong nested type', { ...VALID, imap: { host: 'imap.example.com', port: 'imaps' } }, 'imap.port'],
    ['an out-of-range value', { ...VALID, smtp: { host: 'smtp.example.com', port: 0 } }, 'smtp.port'],
    ['an unknown enum value', { ...VALID, imap: { host: 'imap.example.com', security: 'ssl' } }, 'imap.security'],
  ])('refuses %s with INVALID_PAYLOAD and the field path; nothing is stored', async (_label, payload, path) => {
    const { router, engine } = appRouter();
    const error = failure(await router.invoke('mailboxes.create', payload, APP_FRAME));
    expect(error.code).toBe('INVALID_PAYLOAD');
    expect(error.issues?.map((i) => i.path)).toContain(path);
    expect(error.message).toContain('mailboxes.create');
    expect(error.message).toContain(path);
    expect(engine.mailboxes.list()).toEqual([]);
  });

  it('refuses extra keys, naming them', async () => {
    const { router, engine } = appRouter();
    const error = failure(await router.invoke('mailboxes.create', { ...VALID, isAdmin: true }, APP_FRAME));
    expect(error.code).toBe('INVALID_PAYLOAD');
    expect(error.message).toContain('isAdmin');
    const nested = failure(await router.invoke('mailboxes.create', { ...VALID, imap: { host: 'imap.example.com', tlsRejectUnauthorized: false } }, APP_FRAME));
    expect(nested.issues?.[0]?.path).toBe('imap');
    expect(nested.message).toContain('tlsRejectUnauthorized');
    expect(engine.mailboxes.list()).toEqual([]);
  });

  it.each([
    ['a string', 'Support'],
    ['a number', 42],
    ['an array', [VALID]],
    ['true', true],
  ])('refuses %s instead of an object', async (_label, payload) => {
    const { router } = appRouter();
    const error = failure(await router.invoke('mailboxes.create', payload, APP_FRAME));
    expect(error.code).toBe('INVALID_PAYLOAD');
    expect(error.issues?.[0]?.path).toBe('(input)');
  });

  it('treats a missing payload as an empty object', async () => {
    const { router } = appRouter();
    expect(await router.invoke('mailboxes.list', undefined, APP_FRAME)).toEqual({ ok: true, value: [] });
    expect(failure(await router.invoke('mailboxes.get', undefined, APP_FRAME)).issues?.[0]?.path).toBe('id');
  });

  it.each([
    [{ id: -1 }],
    [{ id: 1.5 }],
    [{ id: '1; DROP TABLE mailboxes' }],
  ])('refuses a bad id %j', async (payload) => {
    const { router } = appRouter();
    const error = failure(await router.invoke('mailboxes.remove', payload, APP_FRAME));
    expect(error.code).toBe('INVALID_PAYLOAD');
    expect(error.issues?.[0]).toMatchObject({ path: 'id', message: expect.stringMatching(/positive whole number/) });
  });

  it('passes valid payloads on, parsed (strings to numbers, trimmed)', async () => {
    const { router } = appRouter();
    const created = await router.invoke('mailboxes.create', { ...VALID, name: ' Support ', imap: { host: 'imap.example.com', port: '1993' } }, APP_FRAME);
    expect(created).toMatchObject({ ok: true, value: { name: 'Support', imap: { port: 1993 } } });
    const id = (created as { value: { id: number } }).value.id;
    expect(await router.invoke('mailboxes.get', { id: String(id) }, APP_FRAME)).toMatchObject({ ok: true, value: { id } });
  });
});

describe('channels', () => {
  it('serves exactly the channels of the contract', () => {
    const { router } = appRouter();
    expect(router.channels.sort()).toEqual(channelNames(contract).sort());
  });

  it.each(['mailboxes.drop', 'mailboxes', '', 'constructor', '__proto__', 'toString', 'mailboxes.list.x', 'MAILBOXES.LIST'])('answers UNKNOWN_CHANNEL for %j', async (name) => {
    const { router } = appRouter();
    const error = failure(await router.invoke(name, {}, APP_FRAME));
    expect(error.code).toBe('UNKNOWN_CHANNEL');
  });

  it('answers UNKNOWN_CHANNEL for a channel name that is not a string, and cuts long names short', async () => {
    const { router } = appRouter();
    expect(failure(await router.invoke(42 as unknown as string, {}, APP_FRAME)).code).toBe('UNKNOWN_CHANNEL');
    const long = failure(await router.invoke('x'.repeat(10_000), {}, APP_FRAME));
    expect(long.code).toBe('UNKNOWN_CHANNEL');
    expect(long.message.length).toBeLessThan(200);
  });

  it('refuses to start when a channel has no handler', () => {
    expect(() => createRouter(testContract, { probe: {} } as never, { isTrustedSender })).toThrow(/probe\.echo/);
  });
});

describe('senders', () => {
  it.each([
    ['a web page', 'https://evil.example/'],
    ['a local file', 'file:///C:/Users/admin/Downloads/index.html'],
    ['another app:// host', 'app://other/index.html'],
    ['a look-alike host', 'app://mailroom.evil.example/index.html'],
    ['user info in front of another host', 'app://mailroom@evil.example/'],
    ['http with the app host', 'http://mailroom/index.html'],
    ['about:blank', 'about:blank'],
    ['an empty URL', ''],
    ['a URL that does not parse', 'not a url'],
  ])('refuses %s with FORBIDDEN_SENDER before any handler runs', async (_label, senderUrl) => {
    const { router, calls } = probeRouter();
    const error = failure(await router.invoke('probe.echo', { text: 'hi' }, { transport: 'electron', senderUrl }));
    expect(error.code).toBe('FORBIDDEN_SENDER');
    expect(calls).toEqual([]);
  });

  it('refuses an Electron call without a sender URL', async () => {
    const { router, calls } = probeRouter();
    expect(failure(await router.invoke('probe.echo', { text: 'hi' }, { transport: 'electron' })).code).toBe('FORBIDDEN_SENDER');
    expect(calls).toEqual([]);
  });

  it('says FORBIDDEN_SENDER, not which channels exist, to a foreign sender', async () => {
    const { router } = probeRouter();
    expect(failure(await router.invoke('no.such', {}, { transport: 'electron', senderUrl: 'https://evil.example/' })).code).toBe('FORBIDDEN_SENDER');
  });

  it('stores nothing when a foreign frame calls the real app', async () => {
    const { router, engine } = appRouter();
    const error = failure(await router.invoke('mailboxes.create', VALID, { transport: 'electron', senderUrl: 'https://evil.example/' }));
    expect(error.code).toBe('FORBIDDEN_SENDER');
    expect(engine.mailboxes.list()).toEqual([]);
  });

  it.each(['app://mailroom/index.html', 'app://mailroom/', 'app://mailroom/mailboxes?x=1#top'])('lets the app\'s own frame %s through', async (senderUrl) => {
    const { router, calls } = probeRouter();
    expect(await router.invoke('probe.echo', { text: 'hi' }, { transport: 'electron', senderUrl })).toEqual({ ok: true, value: { text: 'hi' } });
    expect(calls).toEqual(['echo']);
  });

  it('lets authenticated console requests and internal calls through', async () => {
    const { router } = probeRouter();
    expect((await router.invoke('probe.echo', { text: 'a' }, { transport: 'console', senderUrl: 'http://127.0.0.1:1234' })).ok).toBe(true);
    expect((await router.invoke('probe.echo', { text: 'b' }, INTERNAL)).ok).toBe(true);
  });
});

describe('outputs and errors', () => {
  it('strips fields a handler returns that the contract does not declare', async () => {
    const { router } = probeRouter();
    const result = await router.invoke('probe.leaky', {}, INTERNAL);
    expect(result).toEqual({ ok: true, value: { name: 'Support', nested: { port: 993 } } });
    expect(JSON.stringify(result)).not.toMatch(/hunter2|eyJhbGciOi/);
  });

  it('turns an output that breaks the contract into INTERNAL_ERROR and reports it for the log', async () => {
    const { router, internalErrors } = probeRouter();
    const error = failure(await router.invoke('probe.wrongShape', {}, INTERNAL));
    expect(error.code).toBe('INTERNAL_ERROR');
    expect(error.message).not.toContain('many');
    expect(internalErrors.map((e) => e.channel)).toEqual(['probe.wrongShape']);
  });

  it('keeps the code, message, hint and issues of an AppError', async () => {
    const { router } = probeRouter();
    expect(failure(await router.invoke('probe.appError', {}, INTERNAL))).toEqual({
      code: 'NOT_FOUND',
      message: 'No mailbox is named "Sales".',
      hint: 'Run "mailroom mailbox list".',
      issues: [{ path: 'id', message: 'unknown' }],
    });
  });

  it('keeps the hint of an AppError recognised by its shape', async () => {
    const { router } = probeRouter();
    expect(failure(await router.invoke('probe.appErrorByShape', {}, INTERNAL))).toEqual({ code: 'AUTH_EXPIRED', message: 'Sign-in expired.', hint: 'Sign in again.' });
  });

  it.each(['probe.crash', 'probe.asyncCrash'])('turns an unexpected error in %s into INTERNAL_ERROR without its message', async (name) => {
    const { router, internalErrors } = probeRouter();
    const error = failure(await router.invoke(name, {}, INTERNAL));
    expect(error.code).toBe('INTERNAL_ERROR');
    expect(error.message).toContain(name);
    expect(JSON.stringify(error)).not.toMatch(/SQLITE_CORRUPT|AppData|secret|undefined/);
    expect(internalErrors).toHaveLength(1);
    expect(internalErrors[0]!.channel).toBe(name);
    expect((internalErrors[0]!.error as Error).message).toMatch(/SQLITE_CORRUPT|secret/);
  });

  it('returns the engine\'s own errors with their codes (NOT_FOUND, CONFLICT)', async () => {
    const { router } = appRouter();
    expect(failure(await router.invoke('mailboxes.get', { id: 999 }, APP_FRAME))).toMatchObject({ code: 'NOT_FOUND', hint: expect.any(String) });
    await router.invoke('mailboxes.create', VALID, APP_FRAME);
    expect(failure(await router.invoke('mailboxes.create', VALID, APP_FRAME))).toMatchObject({ code: 'CONFLICT', issues: [{ path: 'name' }] });
  });
});
