/**
 * The per-mailbox Graph limiter (engine/graph/rate-limiter.ts), on an
 * injected clock: at most 4 requests in flight per mailbox, at most 10,000
 * per 10 minutes, and a server's Retry-After holds the mailbox.
 */
import { describe, expect, it } from 'vitest';
import { GRAPH_MAX_CONCURRENT, GRAPH_MAX_REQUESTS_PER_WINDOW, GRAPH_WINDOW_MS, GraphRateLimiter } from '../../src-main/engine/graph/rate-limiter';
import { retryAfterMs } from '../../src-main/engine/graph/graph-error';

/** A clock the test moves; sleepers wake when it passes their time. */
function fakeTime(start = 1_000_000) {
  let now = start;
  const sleepers: Array<{ at: number; wake: () => void }> = [];
  return {
    now: () => now,
    sleep: (ms: number) => new Promise<void>((resolve) => sleepers.push({ at: now + ms, wake: resolve })),
    sleeping: () => sleepers.length,
    async advance(ms: number) {
      now += ms;
      for (const s of sleepers.splice(0).filter((x) => (x.at <= now ? (x.wake(), false) : true))) sleepers.push(s);
      // Let the woken requests run.
      for (let i = 0; i < 5; i++) await Promise.resolve();
    },
  };
}

const flush = async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('Outlook limits per mailbox', () => {
  it('has Microsoft\'s numbers: 4 at once, 10,000 per 10 minutes', () => {
    expect([GRAPH_MAX_CONCURRENT, GRAPH_MAX_REQUESTS_PER_WINDOW, GRAPH_WINDOW_MS]).toEqual([4, 10_000, 600_000]);
  });

  it('lets 4 requests of a mailbox run at once, the fifth waits for a slot; another mailbox is not held', async () => {
    const time = fakeTime();
    const limiter = new GraphRateLimiter({ now: time.now, sleep: time.sleep });
    const gates: Array<() => void> = [];
    const started: string[] = [];
    const run = (key: string, name: string) => limiter.run(key, () => new Promise<void>((resolve) => (started.push(name), gates.push(resolve))));
    const all = [1, 2, 3, 4, 5].map((n) => run('a@x.test', `a${n}`));
    const other = run('B@X.test', 'b1');
    await flush();
    expect(started).toEqual(['a1', 'a2', 'a3', 'a4', 'b1']);
    expect(limiter.inFlight('a@x.test')).toBe(4);
    gates[0]!();
    await flush();
    expect(started).toContain('a5');
    expect(limiter.inFlight('a@x.test')).toBe(4);
    for (const g of gates) g();
    await Promise.all([...all, other]);
    expect(limiter.inFlight('a@x.test')).toBe(0);
  });

  it('starts no more than the window allows and goes on when the oldest request leaves the window', async () => {
    const time = fakeTime();
    const limiter = new GraphRateLimiter({ now: time.now, sleep: time.sleep, maxPerWindow: 3, windowMs: 60_000 });
    const done: number[] = [];
    const runs = [1, 2, 3, 4].map((n) => limiter.run('a', async () => void done.push(n)));
    await flush();
    expect(done).toEqual([1, 2, 3]);
    expect(time.sleeping()).toBe(1);
    await time.advance(59_999);
    expect(done).toEqual([1, 2, 3]);
    await time.advance(1);
    await Promise.all(runs);
    expect(done).toEqual([1, 2, 3, 4]);
    expect(limiter.startedInWindow('a')).toBe(1);
  });

  it('holds a mailbox until the server\'s Retry-After has passed', async () => {
    const time = fakeTime();
    const limiter = new GraphRateLimiter({ now: time.now, sleep: time.sleep });
    limiter.holdUntil('a', time.now() + 7000);
    expect(limiter.heldUntil('a')).toBe(time.now() + 7000);
    let ran = false;
    const run = limiter.run('a', async () => void (ran = true));
    await flush();
    expect(ran).toBe(false);
    await time.advance(7000);
    await run;
    expect(ran).toBe(true);
    expect(limiter.heldUntil('a')).toBe(0);
  });

  it('frees the slot when a request fails', async () => {
    const limiter = new GraphRateLimiter({ maxConcurrent: 1 });
    await expect(limiter.run('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await limiter.run('a', async () => 'next')).toBe('next');
  });
});

describe('Retry-After', () => {
  it('reads delta-seconds and an HTTP date; ignores what it cannot read', () => {
    const now = Date.UTC(2026, 11, 3, 10, 0, 0);
    expect(retryAfterMs('7', now)).toBe(7000);
    expect(retryAfterMs('Thu, 03 Dec 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('soon', now)).toBeNull();
    expect(retryAfterMs(null, now)).toBeNull();
  });
});
