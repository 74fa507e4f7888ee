/**
 * The retry policy, pure: after a temporary failure, when is the next try,
 * and is there one at all? Exponential waits with proportional jitter, so
 * that many messages deferred together do not all come back in one burst.
 */
import type { OutboxSettings } from '../../shared/outbox.js';

/** The part of the settings the policy reads. */
export type RetryPolicy = Pick<OutboxSettings, 'maxAttempts' | 'firstRetrySeconds' | 'retryFactor' | 'maxRetrySeconds'>;

/** How far a wait may stray from the nominal one, each way: ±20 %. */
export const JITTER_FRACTION = 0.2;

/**
 * The nominal wait in ms after failed try number `attempt` (1 = the first
 * try failed): `firstRetrySeconds × retryFactor^(attempt-1)`, at most
 * `maxRetrySeconds`.
 */
export function nominalRetryDelayMs(policy: RetryPolicy, attempt: number): number {
  const exponent = Math.max(0, attempt - 1);
  const seconds = Math.min(policy.maxRetrySeconds, policy.firstRetrySeconds * Math.pow(policy.retryFactor, exponent));
  return Math.round(seconds * 1000);
}

/**
 * The wait in ms after failed try number `attempt`, with jitter: the
 * nominal wait scaled by a factor in [1 - JITTER_FRACTION, 1 + JITTER_FRACTION)
 * drawn from `random` (a number in [0, 1)). Never below one second.
 */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const nominal = nominalRetryDelayMs(policy, attempt);
  const r = Math.min(Math.max(random(), 0), 0.999_999);
  const factor = 1 - JITTER_FRACTION + 2 * JITTER_FRACTION * r;
  return Math.max(1000, Math.round(nominal * factor));
}

/** The outcome of the policy for a temporary failure. */
export type RetryDecision = { retry: true; nextAttemptAt: number; delayMs: number } | { retry: false; reason: string };

/**
 * Decides what follows a temporary failure of try number `attempts`
 * (counting this one): another try at a time, or none because the tries are
 * used up.
 */
export function decideRetry(policy: RetryPolicy, attempts: number, maxAttempts: number, now: number, random: () => number = Math.random): RetryDecision {
  if (attempts >= maxAttempts) {
    return { retry: false, reason: `gave up after ${attempts} ${attempts === 1 ? 'try' : 'tries'} (the limit is ${maxAttempts})` };
  }
  const delayMs = retryDelayMs(policy, attempts, random);
  return { retry: true, nextAttemptAt: now + delayMs, delayMs };
}

/**
 * The whole schedule, nominal: the wait after each failed try and the time
 * from the first try to the last, for the README and the settings screen.
 */
export function retrySchedule(policy: RetryPolicy): { waitsMs: number[]; totalMs: number } {
  const waitsMs: number[] = [];
  for (let attempt = 1; attempt < policy.maxAttempts; attempt++) waitsMs.push(nominalRetryDelayMs(policy, attempt));
  return { waitsMs, totalMs: waitsMs.reduce((a, b) => a + b, 0) };
}
