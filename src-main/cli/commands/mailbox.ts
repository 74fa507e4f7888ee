/** `mailroom mailbox ...` commands. */
import type { Mailbox } from '../../shared/mailbox.js';
import { usesAppOnly } from '../../shared/mailbox.js';
import { withEngine, readPasswordOption, type CommonOptions } from '../context.js';
import { printJson, reportError, table, usageError } from '../output.js';
import { checkOutputPath, readInputFile, writeOutputFile } from '../files.js';

/** Largest settings file read: an export of a thousand mailboxes is well under 1 MB. */
const MAX_SETTINGS_BYTES = 10 * 1024 * 1024;

interface MailboxFlags extends CommonOptions {
  name?: string;
  address?: string;
  preset?: string;
  imapHost?: string;
  imapPort?: string;
  imapSecurity?: string;
  imapUser?: string;
  imapFolder?: string;
  afterImport?: string;
  pollSeconds?: string;
  smtpHost?: string;
  smtpPort?: string;
  smtpSecurity?: string;
  smtpUser?: string;
  auth?: string;
  smtpAuth?: string;
  passwordEnv?: string;
  passwordStdin?: boolean;
  /** Declared only to be refused: secrets never go on the command line. */
  password?: string;
  disabled?: boolean;
  enabled?: boolean;
}

/** Only the flags given, in the engine's input shape. */
function flagsToInput(f: MailboxFlags): Record<string, unknown> {
  const pick = (entries: Record<string, unknown>) => Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));
  const imap = pick({
    host: f.imapHost,
    port: f.imapPort,
    security: f.imapSecurity,
    username: f.imapUser,
    auth: f.auth,
    folder: f.imapFolder,
    afterImport: f.afterImport,
    pollIntervalSeconds: f.pollSeconds,
  });
  const smtp = pick({ host: f.smtpHost, port: f.smtpPort, security: f.smtpSecurity, username: f.smtpUser, auth: f.smtpAuth ?? f.auth });
  if (f.enabled && f.disabled) throw usageError('Use either --enabled or --disabled, not both.');
  return pick({
    name: f.name,
    address: f.address,
    preset: f.preset,
    enabled: f.disabled ? false : f.enabled ? true : undefined,
    imap: Object.keys(imap).length ? imap : undefined,
    smtp: Object.keys(smtp).length ? smtp : undefined,
  });
}

function describe(m: Mailbox): string {
  return [
    `${m.name} (#${m.id}) <${m.address}>  ${m.enabled ? 'enabled' : 'disabled'}  preset ${m.preset}`,
    `  incoming  imap ${m.imap.host}:${m.imap.port} ${m.imap.security}  user ${m.imap.username}  auth ${m.imap.auth}  folder ${m.imap.folder}  after import ${m.imap.afterImport}  every ${m.imap.pollIntervalSeconds}s`,
    `  outgoing  smtp ${m.smtp.host}:${m.smtp.port} ${m.smtp.security}  user ${m.smtp.username}  auth ${m.smtp.auth}`,
    `  password  ${m.passwordSet ? 'set (stored encrypted)' : 'not set'}`,
  ].join('\n') + '\n';
}

/**
 * Checks the flags that need no data (required, exclusive, refused) and reads
 * the password, before the data folder is opened: a usage error touches nothing.
 */
async function checkUsage(f: MailboxFlags, required: Array<'name' | 'address'>): Promise<{ input: Record<string, unknown>; password?: string } | undefined> {
  try {
    if (f.password !== undefined) {
      // Never repeat the value: it is the secret.
      throw usageError(
        '--password is not accepted: a password on the command line is visible to other programs and kept in the shell history.',
        'Use --password-env NAME (the name of an environment variable that holds it) or --password-stdin (pipe it in, or type it at the prompt).',
      );
    }
    if (required.includes('name') && !f.name) throw usageError('--name is required: give the mailbox a short name such as Support.');
    if (required.includes('address') && !f.address) throw usageError('--address is required: the email address of the mailbox.');
    const input = flagsToInput(f);
    const password = await readPasswordOption(f);
    return password ? { input, password } : { input };
  } catch (error) {
    reportError(error, Boolean(f.json));
    return undefined;
  }
}

export async function addMailbox(f: MailboxFlags): Promise<void> {
  const checked = await checkUsage(f, ['name', 'address']);
  if (!checked) return;
  await withEngine(f, async (engine) => {
    const created = engine.mailboxes.create({ ...checked.input, ...(checked.password ? { password: checked.password } : {}) });
    if (f.json) printJson(created);
    else process.stdout.write(`Created mailbox:\n${describe(created)}`);
  });
}

export async function updateMailbox(idOrName: string, f: MailboxFlags): Promise<void> {
  const checked = await checkUsage(f, []);
  if (!checked) return;
  await withEngine(f, async (engine) => {
    const existing = engine.mailboxes.resolve(idOrName);
    const updated = engine.mailboxes.update({ id: existing.id, ...checked.input, ...(checked.password ? { password: checked.password } : {}) });
    if (f.json) printJson(updated);
    else process.stdout.write(`Updated mailbox:\n${describe(updated)}`);
  });
}

export async function listMailboxes(f: CommonOptions): Promise<void> {
  await withEngine(f, (engine) => {
    const all = engine.mailboxes.list();
    if (f.json) return printJson(all);
    if (!all.length) return void process.stdout.write('No mailboxes yet. Add one with: mailroom mailbox add --name Support --address support@example.com --preset microsoft365\n');
    process.stdout.write(
      table(
        ['ID', 'NAME', 'ADDRESS', 'INCOMING', 'OUTGOING', 'AUTH', 'STATE'],
        all.map((m) => [
          String(m.id),
          m.name,
          m.address,
          `${m.imap.host}:${m.imap.port} ${m.imap.security}`,
          `${m.smtp.host}:${m.smtp.port} ${m.smtp.security}`,
          m.imap.auth === 'oauth2' || m.imap.auth === 'oauth2-app' ? m.imap.auth : m.passwordSet ? 'password' : 'password (missing)',
          m.enabled ? 'enabled' : 'disabled',
        ]),
      ),
    );
  });
}

export async function showMailbox(idOrName: string, f: CommonOptions): Promise<void> {
  await withEngine(f, (engine) => {
    const m = engine.mailboxes.resolve(idOrName);
    if (!usesAppOnly(m)) {
      if (f.json) printJson(m);
      else process.stdout.write(describe(m));
      return;
    }
    // App-only: which registration it signs in with, and the client secret's expiry warning (30 days ahead).
    const app = engine.oauth.appOnly.getSettings();
    const expiry = engine.oauth.appOnly.checkSecretExpiry();
    if (f.json) {
      printJson({ ...m, appOnly: { configured: app.configured, clientId: app.clientId, credential: app.credential, secretExpiry: expiry, credentialRequired: app.credentialRequired } });
      return;
    }
    const lines = [
      `  app-only  ${app.configured ? `signs in as app ${app.clientId} (${app.credential === 'secret' ? 'client secret' : 'certificate'})` : 'the app-only registration is not set up: mailroom oauth app --tenant <tenant-id> --client-id <client-id> --secret-env NAME'}`,
      ...(expiry && expiry.state !== 'ok' ? [`  WARNING   ${expiry.message}`] : expiry ? [`  secret    expires ${new Date(expiry.expiresAt).toISOString().slice(0, 10)}`] : []),
    ];
    process.stdout.write(describe(m) + lines.join('\n') + '\n');
  });
}

export async function removeMailbox(idOrName: string, f: CommonOptions): Promise<void> {
  await withEngine(f, (engine) => {
    const m = engine.mailboxes.resolve(idOrName);
    engine.mailboxes.remove(m.id);
    if (f.json) printJson({ removed: true, id: m.id, name: m.name });
    else process.stdout.write(`Removed mailbox ${m.name} (#${m.id}) and its stored secrets.\n`);
  });
}

export async function exportMailboxes(f: CommonOptions & { out?: string }): Promise<void> {
  try {
    if (f.out !== undefined) checkOutputPath(f.out, '--out');
  } catch (error) {
    return reportError(error, Boolean(f.json));
  }
  await withEngine(f, (engine) => {
    const data = engine.mailboxes.exportSettings();
    const text = JSON.stringify(data, null, 2) + '\n';
    if (f.out !== undefined) {
      const target = writeOutputFile(f.out, '--out', text);
      if (f.json) printJson({ written: target, mailboxes: data.mailboxes.length });
      else process.stdout.write(`Wrote ${data.mailboxes.length} mailbox(es) to ${target} (no passwords or tokens).\n`);
    } else process.stdout.write(text);
  });
}

export async function importMailboxes(file: string, f: CommonOptions): Promise<void> {
  // The file is read before the data folder is opened: a file that cannot be used touches nothing.
  let data: unknown;
  try {
    const bytes = readInputFile(file, '<file>', MAX_SETTINGS_BYTES);
    try {
      data = JSON.parse(bytes.toString('utf8').replace(/^\uFEFF/, ''));
    } catch (error) {
      throw usageError(`Cannot read ${file} as JSON: ${(error as Error).message}. Nothing was imported.`, 'Choose a file made by "mailroom mailbox export".');
    }
  } catch (error) {
    return reportError(error, Boolean(f.json));
  }
  await withEngine(f, (engine) => {
    const result = engine.mailboxes.importSettings(data);
    if (f.json) printJson(result);
    else process.stdout.write(`Imported: ${result.created.length} created, ${result.updated.length} updated. Enter passwords or sign in for the new mailboxes.\n`);
  });
}
