/**
 * Microsoft Graph's Outlook limits, kept on this side so that Mailroom is not
 * the app that gets throttled: at most 4 requests in flight per mailbox, and
 * at most 10,000 requests per mailbox in any 10 minutes
 * (https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits:
 * "10,000 API requests in a 10 minute period", "4 concurrent requests", per
 * app ID and mailbox). A request waits for a free slot rather than being sent
 * to collect a 429. A server's own Retry-After (`holdUntil`) stops every
 * request to the mailbox until then.
 *
 * Time is injected (`now`, `sleep`) so that the window is tested without
 * waiting ten minutes.
 */

/** Outlook's concurrency limit per app and mailbox. */
export const GRAPH_MAX_CONCURRENT = 4;
/** Outlook's request limit per app and mailbox per window. */
export const GRAPH_MAX_REQUESTS_PER_WINDOW = 10_000;
/** The window of that limit: 10 minutes. */
export const GRAPH_WINDOW_MS = 10 * 60_000;

/** What the limiter runs on. */
export interface RateLimiterOptions {
  maxConcurrent?: number;
  maxPerWindow?: number;
  windowMs?: number;
  /** The clock, ms. Default Date.now. */
  now?: () => number;
  /** Waits `ms` (default: a timer). Tests pass one driven by their clock. */
  sleep?: (ms: number) => Promise<void>;
}

interface Lane {
  running: number;
  /** Start times of the requests of the current window, oldest first. */
  starts: number[];
  /** Waiting for a concurrency slot, in order. */
  queue: Array<() => void>;
  heldUntil: number;
}

/** Per-mailbox limiter of Graph requests. */
export class GraphRateLimiter {
  private readonly lanes = new Map<string, Lane>();
  private readonly maxConcurrent: number;
  private readonly maxPerWindow: number;
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: RateLimiterOptions = {}) {
    this.maxConcurrent = options.maxConcurrent ?? GRAPH_MAX_CONCURRENT;
    this.maxPerWindow = options.maxPerWindow ?? GRAPH_MAX_REQUESTS_PER_WINDOW;
    this.windowMs = options.windowMs ?? GRAPH_WINDOW_MS;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms).unref?.()));
  }

  private lane(key: string): Lane {
    const k = key.toLowerCase();
    let lane = this.lanes.get(k);
    if (!lane) {
      lane = { running: 0, starts: [], queue: [], heldUntil: 0 };
      this.lanes.set(k, lane);
    }
    return lane;
  }

  /** Requests of `key` in flight now. */
  inFlight(key: string): number {
    return this.lane(key).running;
  }

  /** Requests of `key` started in the current window. */
  startedInWindow(key: string): number {
    const lane = this.lane(key);
    this.expire(lane);
    return lane.starts.length;
  }

  /** Stops requests of `key` until `at` (ms UTC): the server said Retry-After. */
  holdUntil(key: string, at: number): void {
    const lane = this.lane(key);
    lane.heldUntil = Math.max(lane.heldUntil, at);
  }

  /** When requests of `key` may go again after a server's Retry-After (0: not held). */
  heldUntil(key: string): number {
    const lane = this.lane(key);
    return lane.heldUntil > this.now() ? lane.heldUntil : 0;
  }

  private expire(lane: Lane): void {
    const cutoff = this.now() - this.windowMs;
    while (lane.starts.length && lane.starts[0]! <= cutoff) lane.starts.shift();
  }

  /**
   * Runs `work` when `key` has a free slot, inside the window's budget and
   * after any hold; the slot is freed when it settles.
   */
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const lane = this.lane(key);
    if (lane.running >= this.maxConcurrent) await new Promise<void>((resolve) => lane.queue.push(resolve));
    else lane.running++;
    // The slot is ours from here (a waiter is handed the slot of the one that finished).
    try {
      for (;;) {
        const now = this.now();
        if (lane.heldUntil > now) {
          await this.sleep(lane.heldUntil - now);
          continue;
        }
        this.expire(lane);
        if (lane.starts.length >= this.maxPerWindow) {
          await this.sleep(Math.max(1, lane.starts[0]! + this.windowMs - now));
          continue;
        }
        lane.starts.push(now);
        break;
      }
      return await work();
    } finally {
      const next = lane.queue.shift();
      if (next) next();
      else lane.running--;
    }
  }
}
