/**
 * The engine's background work, started and stopped in one place for the
 * desktop app, the browser console's server and `mailroom engine run`: the
 * outbox senders (one per enabled mailbox, when this process holds the data
 * folder's outbox lease), the local relay (when enabled), and the inbound
 * importers.
 */
import type { Mailroom } from './mailroom.js';
import type { LeaseHolder } from './outbox/lease.js';

/** What to run. */
export interface RuntimeOptions {
  /** Who runs it, for the log and the lease: `desktop`, `console`, `cli`. */
  runtime: string;
  /** Start the relay when its settings say enabled. Default true. */
  relay?: boolean;
  /** Start the inbound importers. Default true. */
  inbox?: boolean;
  /** Start the outbox senders. Default true. */
  outbox?: boolean;
  /** Run the scheduled round-trip probes (in the process that sends the outbox) and keep the health states current. Default true. */
  watch?: boolean;
  /** Called with problems that do not stop the rest (the relay's port is taken). */
  onWarning?: (message: string) => void;
}

/** What started. */
export interface RuntimeStatus {
  /** True when this process sends the outbox. */
  sending: boolean;
  /** The process that sends it instead, when another one does. */
  sendingElsewhere: LeaseHolder | null;
  /** Where the relay listens, when it does. */
  relay: { host: string; port: number } | null;
  inbox: boolean;
  /** True when this process runs the scheduled probes. */
  probes: boolean;
}

/** The optional inbound part of the engine, as the inbox service offers it. */
interface Startable {
  start(): void | Promise<void>;
  stop(): void | Promise<void>;
}

function inboxOf(engine: Mailroom): Startable | undefined {
  const inbox = (engine as Partial<{ inbox: Partial<Startable> }>).inbox;
  return inbox && typeof inbox.start === 'function' && typeof inbox.stop === 'function' ? (inbox as Startable) : undefined;
}

/** The running background work of one engine. */
export class EngineRuntime {
  private started = false;
  private status: RuntimeStatus = { sending: false, sendingElsewhere: null, relay: null, inbox: false, probes: false };

  constructor(private readonly engine: Mailroom, private readonly options: RuntimeOptions) {}

  /** Starts everything; a part that cannot start is reported, the others still run. */
  async start(): Promise<RuntimeStatus> {
    if (this.started) return this.status;
    this.started = true;
    const warn = (message: string) => this.options.onWarning?.(message);
    if (this.options.outbox !== false) {
      const holder = this.engine.outbox.startSending(this.options.runtime);
      this.status.sending = holder === null;
      this.status.sendingElsewhere = holder;
      if (holder) warn(`The outbox is sent by another Mailroom (${holder.runtime}, process ${holder.pid}); this one only queues.`);
    }
    if (this.options.relay !== false) {
      this.engine.relay.setManaged(true);
      if (this.engine.relay.settings().enabled) {
        try {
          this.status.relay = await this.engine.relay.start();
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          warn(`The local relay did not start: ${message}`);
          this.engine.log.write({ direction: 'system', level: 'error', code: (error as { code?: string }).code ?? 'RELAY_START_FAILED', message: `The local relay did not start: ${message}`, detail: (error as { hint?: string }).hint ?? null });
        }
      }
    }
    const inbox = this.options.inbox !== false ? inboxOf(this.engine) : undefined;
    if (inbox) {
      try {
        await inbox.start();
        this.status.inbox = true;
      } catch (error) {
        warn(`The inbox import did not start: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const watched = this.engine as Partial<Pick<Mailroom, 'health' | 'probes'>>;
    if (this.options.watch !== false && watched.health && watched.probes) {
      watched.health.watch();
      // One process per data folder probes on schedule: the one that sends the outbox.
      if (this.status.sending) {
        watched.probes.start();
        this.status.probes = true;
      }
    }
    return this.status;
  }

  /** What runs now. */
  current(): RuntimeStatus {
    return { ...this.status, relay: this.engine.relay.running ? this.status.relay : null };
  }

  /** Stops everything, letting messages on the wire finish (up to `graceMs`). */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.engine.relay.setManaged(false);
    const watched = this.engine as Partial<Pick<Mailroom, 'health' | 'probes'>>;
    watched.health?.stop();
    await Promise.allSettled([
      this.engine.relay.stop(),
      this.engine.outbox.stopSending(graceMs),
      Promise.resolve(this.status.inbox ? inboxOf(this.engine)?.stop() : undefined),
      Promise.resolve(this.status.probes ? watched.probes?.stop() : undefined),
    ]);
    this.status = { sending: false, sendingElsewhere: null, relay: null, inbox: false, probes: false };
  }
}

/** Starts the engine's background work. */
export async function startEngineRuntime(engine: Mailroom, options: RuntimeOptions): Promise<EngineRuntime> {
  const runtime = new EngineRuntime(engine, options);
  await runtime.start();
  return runtime;
}
