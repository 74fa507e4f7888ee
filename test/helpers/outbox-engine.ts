/**
 * An engine over a temporary data folder with one mailbox pointing at a
 * loopback SMTP server, and an OutboxService with an injectable clock and
 * jitter over the same store.
 */
import crypto from 'node:crypto';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { OutboxService, type OutboxServiceOptions } from '../../src-main/engine/outbox/index';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import type { Mailbox } from '../../src-main/shared/mailbox';
import type { OutboxSettingsInput } from '../../src-main/shared/outbox';

export interface OutboxTestEnv {
  engine: Mailroom;
  mailbox: Mailbox;
  /** An outbox over the engine's store with the test's clock and jitter. */
  outbox: OutboxService;
  close(): Promise<void>;
}

export interface OutboxEnvOptions {
  port: number;
  /** SMTP sign-in; default none. */
  auth?: { mode: 'password'; user: string; password: string } | { mode: 'oauth2'; user: string } | { mode: 'none' };
  settings?: Omit<OutboxSettingsInput, 'mailboxId'>;
  clock?: () => number;
  random?: () => number;
  tokens?: OutboxServiceOptions['tokens'];
  address?: string;
  /** SMTP security of the mailbox; default none (smtp-server without TLS). */
  security?: 'tls' | 'starttls' | 'none';
}

/** Opens the engine and creates the mailbox `Support`. */
export function openOutboxEnv(dataDir: string, options: OutboxEnvOptions): OutboxTestEnv {
  const engine = openMailroom({ dataDir, keyProvider: staticKeyProvider(crypto.randomBytes(32), 'test key') });
  const auth = options.auth ?? { mode: 'none' };
  const mailbox = engine.mailboxes.create({
    name: 'Support',
    address: options.address ?? 'support@example.test',
    preset: 'generic',
    imap: { host: '127.0.0.1', port: 1, security: 'none' },
    smtp: {
      host: '127.0.0.1',
      port: options.port,
      security: options.security ?? 'none',
      auth: auth.mode,
      ...(auth.mode !== 'none' ? { username: auth.user } : {}),
    },
    ...(auth.mode === 'password' ? { password: auth.password } : {}),
  });
  engine.outbox.saveSettings({ mailboxId: mailbox.id, timeoutSeconds: 5, ...options.settings });
  const outbox = new OutboxService({
    db: engine.db,
    mailboxes: engine.mailboxes,
    log: engine.log,
    events: engine.events,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.random ? { random: options.random } : {}),
    ...(options.tokens ? { tokens: options.tokens } : {}),
  });
  return {
    engine,
    mailbox,
    outbox,
    close: async () => {
      await outbox.stopSending(1_000);
      outbox.shutdown();
      engine.close();
    },
  };
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.UTC(2026, 0, 15, 9, 0, 0)): { now: () => number; advance(ms: number): void; set(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms), set: (ms) => void (t = ms) };
}
