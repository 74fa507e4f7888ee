/**
 * The retry policy: exponential waits with ±20 % jitter, a cap, and an end
 * after the configured number of tries; the defaults span about 24 hours.
 */
import { describe, expect, it } from 'vitest';
import { decideRetry, nominalRetryDelayMs, retryDelayMs, retrySchedule, JITTER_FRACTION } from '../../src-main/engine/outbox/backoff';
import { DEFAULT_OUTBOX_SETTINGS } from '../../src-main/shared/outbox';

const policy = DEFAULT_OUTBOX_SETTINGS;

describe('outbox retry policy', () => {
  it('waits 4 min after the first failure and multiplies each wait by 2.45', () => {
    expect(nominalRetryDelayMs(policy, 1)).toBe(240_000);
    expect(nominalRetryDelayMs(policy, 2)).toBe(588_000);
    expect(nominalRetryDelayMs(policy, 3)).toBe(Math.round(240 * 2.45 ** 2 * 1000));
  });

  it('spreads the default 8 tries over about 24 hours', () => {
    const { waitsMs, totalMs } = retrySchedule(policy);
    expect(waitsMs).toHaveLength(7);
    expect(totalMs / 3_600_000).toBeGreaterThan(22);
    expect(totalMs / 3_600_000).toBeLessThan(26);
    for (let i = 1; i < waitsMs.length; i++) expect(waitsMs[i]!).toBeGreaterThan(waitsMs[i - 1]!);
  });

  it('never waits longer than the cap', () => {
    const capped = { ...policy, maxRetrySeconds: 3600, maxAttempts: 20 };
    expect(nominalRetryDelayMs(capped, 15)).toBe(3_600_000);
  });

  it('keeps the jitter within ±20 % of the nominal wait', () => {
    const nominal = nominalRetryDelayMs(policy, 4);
    expect(retryDelayMs(policy, 4, () => 0)).toBe(Math.round(nominal * (1 - JITTER_FRACTION)));
    expect(retryDelayMs(policy, 4, () => 0.5)).toBe(nominal);
    const high = retryDelayMs(policy, 4, () => 0.999999);
    expect(high).toBeLessThanOrEqual(Math.round(nominal * (1 + JITTER_FRACTION)));
    expect(high).toBeGreaterThan(Math.round(nominal * 1.19));
  });

  it('draws different waits for messages deferred together', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const waits = new Set(Array.from({ length: 20 }, () => retryDelayMs(policy, 2, random)));
    expect(waits.size).toBeGreaterThan(15);
  });

  it('schedules the next try from now while tries remain', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(decideRetry(policy, 1, 8, now, () => 0.5)).toEqual({ retry: true, nextAttemptAt: now + 240_000, delayMs: 240_000 });
  });

  it('gives up after the last try and says why', () => {
    const decision = decideRetry(policy, 8, 8, 0, () => 0.5);
    expect(decision.retry).toBe(false);
    if (!decision.retry) expect(decision.reason).toBe('gave up after 8 tries (the limit is 8)');
  });

  it('never waits less than a second, whatever the settings', () => {
    expect(retryDelayMs({ ...policy, firstRetrySeconds: 1 }, 1, () => 0)).toBe(1000);
  });
});
