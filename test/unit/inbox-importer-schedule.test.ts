/**
 * The background importer's schedule, on a fake clock and a scripted host:
 * polls on the interval while the connection holds; after a lost connection
 * it reconnects soon with a growing backoff; after a refusal that needs a
 * change (a wrong password) it waits at least the interval; new mail
 * (IDLE) and a stop wake it at once.
 */
import { EventEmitter } from 'node:events';
import type { ImapFlow } from 'imapflow';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PollDetail, PollTrigger } from '../../src-main/shared/inbox';
import type { Mailbox } from '../../src-main/shared/mailbox';
import { MailboxImporter, type ImporterHost, type ImporterSession } from '../../src-main/engine/inbox/mailbox-importer';
import type { SignInRequirement } from '../../src-main/engine/auth/sign-in-requirement';

const INTERVAL_S = 60;
const mailbox = {
  id: 7,
  name: 'Support',
  enabled: true,
  imap: { pollIntervalSeconds: INTERVAL_S },
} as unknown as Mailbox;

type Outcome = { ok: true } | { ok: false; code: string; connected: boolean };

class FakeClient extends EventEmitter {
  usable = true;
  idling = true;
}

function scriptedHost(outcomes: Outcome[], signIn: { needed: SignInRequirement | null; waits: (string | null)[] } = { needed: null, waits: [] }) {
  const calls: { trigger: PollTrigger; at: number }[] = [];
  const clients: FakeClient[] = [];
  const host: ImporterHost = {
    mailbox: () => mailbox,
    signInNeeded: () => signIn.needed,
    signInWait: (_m, requirement) => void signIn.waits.push(requirement?.code ?? null),
    clock: () => Date.now(),
    changed: () => undefined,
    closeClient: async () => undefined,
    async runPoll(_m, trigger, session: ImporterSession) {
      calls.push({ trigger, at: Date.now() });
      const outcome = outcomes.shift() ?? { ok: true };
      if (!session.client?.usable) {
        const client = new FakeClient();
        clients.push(client);
        session.client = client as unknown as ImapFlow;
        session.onClient?.(session.client);
      }
      if (!outcome.ok && !outcome.connected) {
        (session.client as unknown as FakeClient).usable = false;
        session.client = undefined;
      }
      return { outcome: outcome.ok ? 'ok' : 'failed', code: outcome.ok ? null : outcome.code } as PollDetail;
    },
  };
  return { host, calls, clients };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

describe('background importer schedule', () => {
  it('does not poll a mailbox that needs a Microsoft sign-in: one entry when it stops, one when it resumes after the sign-in', async () => {
    const signIn = { needed: { code: 'OAUTH_NOT_SIGNED_IN', message: 'Not signed in.', hint: 'Sign in.', since: null } as SignInRequirement | null, waits: [] as (string | null)[] };
    const { host, calls } = scriptedHost([], signIn);
    const importer = new MailboxImporter(host, mailbox.id);
    importer.start();
    await settle();
    // Ten intervals: no poll, and the stop is said once, not once a minute.
    await vi.advanceTimersByTimeAsync(10 * INTERVAL_S * 1000);
    expect(calls).toEqual([]);
    expect(signIn.waits).toEqual(['OAUTH_NOT_SIGNED_IN']);
    expect(importer.waitingForSignInNow).toBe(true);
    // Someone signs in: the service wakes the importer, which polls at once and says it resumed.
    signIn.needed = null;
    importer.request('start');
    await settle();
    expect(calls.map((c) => c.trigger)).toEqual(['start']);
    expect(signIn.waits).toEqual(['OAUTH_NOT_SIGNED_IN', null]);
    await vi.advanceTimersByTimeAsync(INTERVAL_S * 1000);
    expect(calls.map((c) => c.trigger)).toEqual(['start', 'schedule']);
    expect(signIn.waits).toHaveLength(2);
    await importer.stop();
  });

  it('polls at start, then on the interval', async () => {
    const { host, calls } = scriptedHost([]);
    const importer = new MailboxImporter(host, mailbox.id);
    importer.start();
    await settle();
    expect(calls.map((c) => c.trigger)).toEqual(['start']);
    expect(importer.nextPollAt).toBe(INTERVAL_S * 1000);
    await vi.advanceTimersByTimeAsync(INTERVAL_S * 1000);
    expect(calls.map((c) => [c.trigger, c.at])).toEqual([
      ['start', 0],
      ['schedule', 60_000],
    ]);
    const stopping = importer.stop();
    await vi.runAllTimersAsync();
    await stopping;
  });

  it('reconnects soon after a lost connection, backing off 2 s, 4 s, 8 s, then the interval once it works', async () => {
    const lost = { ok: false, code: 'CONNECTION_DROPPED', connected: false } as const;
    const { host, calls } = scriptedHost([lost, lost, lost, { ok: true }]);
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const importer = new MailboxImporter(host, mailbox.id);
    importer.start();
    await vi.advanceTimersByTimeAsync(2_000 + 4_000 + 8_000);
    expect(calls.map((c) => c.at)).toEqual([0, 2_000, 6_000, 14_000]);
    expect(importer.nextPollAt).toBe(14_000 + INTERVAL_S * 1000);
    const stopping = importer.stop();
    await vi.runAllTimersAsync();
    await stopping;
  });

  it('waits at least the interval after a refused password, so the account is not locked out', async () => {
    const refused = { ok: false, code: 'AUTH_FAILED', connected: false } as const;
    const { host, calls } = scriptedHost([refused, refused]);
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const importer = new MailboxImporter(host, mailbox.id);
    importer.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(INTERVAL_S * 1000);
    expect(calls.map((c) => c.at)).toEqual([0, 60_000]);
    const stopping = importer.stop();
    await vi.runAllTimersAsync();
    await stopping;
  });

  it('polls at once when IDLE reports new mail, and ignores a shrinking folder', async () => {
    const { host, calls, clients } = scriptedHost([]);
    const importer = new MailboxImporter(host, mailbox.id);
    importer.start();
    await settle();
    vi.setSystemTime(5_000);
    clients[0]!.emit('exists', { path: 'INBOX', count: 3, prevCount: 4 });
    await settle();
    expect(calls).toHaveLength(1);
    clients[0]!.emit('exists', { path: 'INBOX', count: 5, prevCount: 3 });
    await settle();
    expect(calls.map((c) => [c.trigger, c.at])).toEqual([
      ['start', 0],
      ['idle', 5_000],
    ]);
    const stopping = importer.stop();
    await vi.runAllTimersAsync();
    await stopping;
  });

  it('stops at once, mid-wait, and does not poll again', async () => {
    const { host, calls } = scriptedHost([]);
    const importer = new MailboxImporter(host, mailbox.id);
    importer.start();
    await settle();
    await importer.stop();
    await vi.advanceTimersByTimeAsync(10 * INTERVAL_S * 1000);
    expect(calls).toHaveLength(1);
    expect(importer.nextPollAt).toBeNull();
  });
});
