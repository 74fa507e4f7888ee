/** `mailroom relay start | show | set | account add | account remove`. */
import type { RelayFromMode, RelaySettings } from '../../shared/outbox.js';
import type { LogEntry } from '../../shared/activity-log.js';
import type { CommonOptions } from '../context.js';
import { readPasswordOption, untilInterrupted } from '../context.js';
import { printJson, table, usageError } from '../output.js';
import { withOutboxEngine } from './send.js';
import type { OutboxEngine } from '../../engine/outbox/open-outbox.js';
import { readInputFile } from '../files.js';

function parsePort(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > 65535) throw usageError(`--port must be a whole number from 1 to 65535, not "${value}".`);
  return n;
}

function printSettings(s: RelaySettings): void {
  const lines = [
    `Relay: ${s.enabled ? 'enabled' : 'disabled'} (starts with the desktop app, the browser console and "mailroom engine run" when enabled)`,
    `  address:  ${s.host}:${s.port} (this computer only)`,
    `  sign-in:  ${s.allowUnauthenticated ? "optional (without it, the sender must be a mailbox's address)" : 'required'}`,
    `  STARTTLS: ${s.starttls ? `offered (${s.tlsSubject})` : 'not offered'}`,
    `  largest message: ${Math.round(s.maxMessageBytes / 1048576)} MB`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
  if (s.accounts.length) {
    process.stdout.write(
      table(
        ['USER', 'MAILBOX', 'FROM', 'LAST USED'],
        s.accounts.map((a) => [a.username, a.mailboxName, a.fromMode === 'mailbox' ? "the mailbox's address" : "the application's", a.lastUsedAt ? new Date(a.lastUsedAt).toLocaleString() : 'never']),
      ),
    );
  } else process.stdout.write('  No accounts yet: mailroom relay account add scanner --mailbox Support --password-stdin\n');
  for (const w of s.warnings) process.stdout.write(`WARNING ${w.code}: ${w.message}\n  What to change: ${w.hint}\n`);
}

function parseFrom(value: string | undefined): RelayFromMode | undefined {
  if (value === undefined) return undefined;
  if (value !== 'keep' && value !== 'mailbox') throw usageError(`--from must be keep (the application's From) or mailbox (the mailbox's address), not "${value}".`);
  return value;
}

/** `mailroom relay start [--port P]`: foreground, until Ctrl+C. */
export async function startCommand(f: CommonOptions & { port?: string }): Promise<void> {
  await withOutboxEngine(f, async (engine) => {
    const port = parsePort(f.port);
    const interrupted = untilInterrupted();
    try {
      await serveRelay(engine, f, port, interrupted.signal);
    } finally {
      interrupted.dispose();
    }
  });
}

/** Runs the relay until `interrupted` resolves. */
async function serveRelay(engine: OutboxEngine, f: CommonOptions, port: number | undefined, interrupted: Promise<string>): Promise<void> {
  const where = await engine.relay.start(port);
  // Send what the relay queues, unless another Mailroom already sends this outbox.
  const holder = engine.outbox.startSending('relay');
  const accounts = engine.relay.settings().accounts.length;
  if (f.json) printJson({ host: where.host, port: where.port, sending: holder === null, accounts }, { compact: true });
  else {
    engine.events.on('logs.appended', (e) => void process.stdout.write(`${new Date((e as LogEntry).at).toLocaleTimeString()}  ${(e as LogEntry).level.padEnd(7)} ${(e as LogEntry).message}\n`));
    process.stdout.write(
      `Relay listening on ${where.host}:${where.port} (${accounts} account${accounts === 1 ? '' : 's'}). ${
        holder ? `The Mailroom running as process ${holder.pid} sends what it queues.` : 'Queued mail is sent from here.'
      } Ctrl+C stops.\n`,
    );
  }
  await interrupted;
}

export async function showCommand(f: CommonOptions): Promise<void> {
  await withOutboxEngine(f, (engine) => {
    const settings = engine.relay.settings();
    if (f.json) printJson(settings);
    else printSettings(settings);
  });
}

/** A PEM file holds a certificate chain or a key: a few KB. */
const MAX_PEM_BYTES = 1024 * 1024;

function readPem(file: string, flag: string): string {
  return readInputFile(file, flag, MAX_PEM_BYTES).toString('utf8');
}

type SetFlags = CommonOptions & { enable?: boolean; disable?: boolean; port?: string; allowUnauthenticated?: string; maxMessageMb?: string; tlsCert?: string; tlsKey?: string; tls?: boolean };

export async function setCommand(f: SetFlags): Promise<void> {
  await withOutboxEngine(f, async (engine) => {
    if (f.enable && f.disable) throw usageError('Use either --enable or --disable, not both.');
    if (Boolean(f.tlsCert) !== Boolean(f.tlsKey)) throw usageError('--tls-cert and --tls-key go together: give both PEM files.');
    if (f.tls === false && f.tlsCert) throw usageError('Use either --tls-cert/--tls-key or --no-tls, not both.');
    let allow: boolean | undefined;
    if (f.allowUnauthenticated !== undefined) {
      if (!/^(on|off)$/i.test(f.allowUnauthenticated)) throw usageError(`--allow-unauthenticated must be on or off, not "${f.allowUnauthenticated}".`);
      allow = /^on$/i.test(f.allowUnauthenticated);
    }
    let maxBytes: number | undefined;
    if (f.maxMessageMb !== undefined) {
      const mb = Number(f.maxMessageMb);
      if (!Number.isFinite(mb) || mb < 1 || mb > 150) throw usageError(`--max-message-mb must be a number from 1 to 150, not "${f.maxMessageMb}".`);
      maxBytes = Math.round(mb * 1048576);
    }
    const port = parsePort(f.port);
    const settings = await engine.relay.saveSettings({
      ...(f.enable ? { enabled: true } : f.disable ? { enabled: false } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(allow !== undefined ? { allowUnauthenticated: allow } : {}),
      ...(maxBytes !== undefined ? { maxMessageBytes: maxBytes } : {}),
      ...(f.tlsCert && f.tlsKey ? { tls: { certPem: readPem(f.tlsCert, '--tls-cert'), keyPem: readPem(f.tlsKey, '--tls-key') } } : f.tls === false ? { tls: null } : {}),
    });
    if (f.json) printJson(settings);
    else printSettings(settings);
  });
}

export async function accountAddCommand(username: string, f: CommonOptions & { mailbox: string; passwordEnv?: string; passwordStdin?: boolean; from?: string }): Promise<void> {
  await withOutboxEngine(f, async (engine) => {
    const fromMode = parseFrom(f.from);
    const password = await readPasswordOption(f);
    if (password === undefined) throw usageError('Give the password with --password-env NAME or --password-stdin (never on the command line).');
    const mailbox = engine.mailboxes.resolve(f.mailbox);
    const settings = await engine.relay.saveSettings({ addAccounts: [{ username, mailboxId: mailbox.id, password, ...(fromMode ? { fromMode } : {}) }] });
    const account = settings.accounts.find((a) => a.username.toLowerCase() === username.toLowerCase());
    if (f.json) printJson(account);
    else {
      process.stdout.write(
        `Relay account ${username} sends from ${mailbox.name}${account?.fromMode === 'mailbox' ? ` as ${mailbox.address} (the application's From goes to Reply-To)` : " with the application's own From"}. Configure the application with server 127.0.0.1, port ${settings.port}, user ${username}.\n`,
      );
      for (const w of settings.warnings.filter((w) => w.accounts.includes(account?.username ?? username))) process.stdout.write(`WARNING ${w.code}: ${w.message}\n  What to change: ${w.hint}\n`);
    }
  });
}

/** `mailroom relay account update <user> [--mailbox M] [--password-env NAME | --password-stdin] [--from keep|mailbox]`: only what is given changes. */
export async function accountUpdateCommand(username: string, f: CommonOptions & { mailbox?: string; passwordEnv?: string; passwordStdin?: boolean; from?: string }): Promise<void> {
  await withOutboxEngine(f, async (engine) => {
    const fromMode = parseFrom(f.from);
    const password = f.passwordEnv !== undefined || f.passwordStdin ? await readPasswordOption(f) : undefined;
    const mailboxId = f.mailbox !== undefined ? engine.mailboxes.resolve(f.mailbox).id : undefined;
    if (fromMode === undefined && password === undefined && mailboxId === undefined) throw usageError('Give what to change: --from keep|mailbox, --mailbox M, or a new password (--password-env NAME | --password-stdin).');
    const settings = await engine.relay.saveSettings({
      updateAccounts: [{ username, ...(mailboxId !== undefined ? { mailboxId } : {}), ...(password !== undefined ? { password } : {}), ...(fromMode ? { fromMode } : {}) }],
    });
    const account = settings.accounts.find((a) => a.username.toLowerCase() === username.toLowerCase());
    if (f.json) printJson(account);
    else {
      process.stdout.write(`Relay account ${account?.username ?? username} sends from ${account?.mailboxName} ${account?.fromMode === 'mailbox' ? "as the mailbox's address (the application's From goes to Reply-To)" : "with the application's own From"}.\n`);
      for (const w of settings.warnings.filter((w) => w.accounts.includes(account?.username ?? username))) process.stdout.write(`WARNING ${w.code}: ${w.message}\n  What to change: ${w.hint}\n`);
    }
  });
}

export async function accountRemoveCommand(username: string, f: CommonOptions): Promise<void> {
  await withOutboxEngine(f, async (engine) => {
    await engine.relay.saveSettings({ removeAccounts: [username] });
    if (f.json) printJson({ removed: true, username });
    else process.stdout.write(`Relay account ${username} removed.\n`);
  });
}
