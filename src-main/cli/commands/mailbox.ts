/** `mailroom mailbox ...` commands. */
import type { Mailbox } from '../../shared/mailbox.js';
import { usesAppOnly } from '../../shared/mailbox.js';
import { withEngine, readPasswordOption, secretFromEnv, secretFromStdin, type CommonOptions } from '../context.js';
import type { Mailroom } from '../../engine/mailroom.js';
import { AppError } from '../../shared/errors.js';
import { afterImportWords, type FirstImportLook } from '../../shared/inbox.js';
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
  /** `--incoming imap|pop3` also names how mail is received; given with --receive-via, the two must agree. */
  incoming?: string;
  pop3Host?: string;
  pop3Port?: string;
  pop3Security?: string;
  pop3User?: string;
  pop3Auth?: string;
  pop3AfterImport?: string;
  smtpHost?: string;
  smtpPort?: string;
  smtpSecurity?: string;
  smtpUser?: string;
  auth?: string;
  smtpAuth?: string;
  passwordEnv?: string;
  passwordStdin?: boolean;
  smtpPasswordEnv?: string;
  smtpPasswordStdin?: boolean;
  smtpPasswordSame?: boolean;
  importExisting?: string;
  sendVia?: string;
  receiveVia?: string;
  graphSaveSent?: string;
  /** Declared only to be refused: secrets never go on the command line. */
  password?: string;
  /** Declared only to be refused, like `password`. */
  smtpPassword?: string;
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
  const pop3 = pick({ host: f.pop3Host, port: f.pop3Port, security: f.pop3Security, username: f.pop3User, auth: f.pop3Auth, afterImport: f.pop3AfterImport });
  if (f.enabled && f.disabled) throw usageError('Use either --enabled or --disabled, not both.');
  // --incoming and --receive-via both say how mail comes in: given together, they must agree.
  if (f.incoming !== undefined && f.receiveVia !== undefined && f.incoming !== f.receiveVia) {
    throw usageError(`--incoming ${f.incoming} and --receive-via ${f.receiveVia} disagree: give one of them.`, '--receive-via imap|graph|pop3 names every way in; --incoming imap|pop3 is the same for IMAP and POP3.');
  }
  if (f.graphSaveSent !== undefined && f.graphSaveSent !== 'yes' && f.graphSaveSent !== 'no') {
    throw usageError(`--graph-save-sent takes yes or no; it is "${f.graphSaveSent}".`, 'yes: Microsoft Graph keeps a copy of each message in Sent Items; no: it does not.');
  }
  return pick({
    name: f.name,
    address: f.address,
    preset: f.preset,
    enabled: f.disabled ? false : f.enabled ? true : undefined,
    imap: Object.keys(imap).length ? imap : undefined,
    smtp: Object.keys(smtp).length ? smtp : undefined,
    sendVia: f.sendVia,
    receiveVia: f.incoming ?? f.receiveVia,
    graph: f.graphSaveSent !== undefined ? { saveToSentItems: f.graphSaveSent === 'yes' } : undefined,
    pop3: Object.keys(pop3).length ? pop3 : undefined,
  });
}

function describe(m: Mailbox): string {
  return [
    `${m.name} (#${m.id}) <${m.address}>  ${m.enabled ? 'enabled' : 'disabled'}  preset ${m.preset}`,
    m.receiveVia === 'pop3' && m.pop3
      ? `  incoming  pop3 ${m.pop3.host}:${m.pop3.port} ${m.pop3.security}  user ${m.pop3.username}  auth ${m.pop3.auth}  after import ${m.pop3.afterImport === 'delete' ? 'delete from the server' : 'leave on the server'}  every ${m.imap.pollIntervalSeconds}s`
      : `  incoming  imap ${m.imap.host}:${m.imap.port} ${m.imap.security}  user ${m.imap.username}  auth ${m.imap.auth}  folder ${m.imap.folder}  after import ${m.imap.afterImport}  every ${m.imap.pollIntervalSeconds}s`,
    m.receiveVia === 'graph'
      ? `  incoming  via Microsoft Graph (signs in as IMAP's auth ${m.imap.auth})  folder ${m.imap.folder}  after import ${m.imap.afterImport}  every ${m.imap.pollIntervalSeconds}s`
      : null,
    `  outgoing  smtp ${m.smtp.host}:${m.smtp.port} ${m.smtp.security}  user ${m.smtp.username}  auth ${m.smtp.auth}`,
    m.sendVia === 'graph' ? `  outgoing  via Microsoft Graph (signs in as SMTP's auth ${m.smtp.auth})  save to Sent Items ${m.graph.saveToSentItems ? 'yes' : 'no'}` : null,
    `  password  ${m.passwordSet ? 'set (stored encrypted)' : 'not set'}`,
    `  smtp password  ${m.smtpPasswordSet ? "SMTP's own, set (stored encrypted)" : 'same as incoming'}`,
  ].filter((line) => line !== null).join('\n') + '\n';
}

/**
 * Checks the flags that need no data (required, exclusive, refused) and reads
 * the password, before the data folder is opened: a usage error touches nothing.
 */
async function checkUsage(
  f: MailboxFlags,
  required: Array<'name' | 'address'>,
): Promise<Checked | undefined> {
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
    if (f.smtpPassword !== undefined) {
      throw usageError(
        '--smtp-password is not accepted: a password on the command line is visible to other programs and kept in the shell history.',
        'Use --smtp-password-env NAME (the name of an environment variable that holds it) or --smtp-password-stdin (pipe it in, or type it at the prompt).',
      );
    }
    const input = flagsToInput(f);
    if (f.importExisting !== undefined && f.importExisting !== 'yes' && f.importExisting !== 'no') {
      throw usageError(`--import-existing takes yes or no; it is "${f.importExisting}".`, 'yes: import the mail already in the folder; no: only mail that arrives from now on.');
    }
    if (f.importExisting !== undefined && f.disabled) throw usageError('--import-existing is for enabling a mailbox; it does not go with --disabled.');
    if (f.passwordStdin && f.smtpPasswordStdin) {
      throw usageError('Standard input can carry one password only: use either --password-stdin or --smtp-password-stdin.', 'Give the other one with --password-env NAME or --smtp-password-env NAME.');
    }
    const smtpSources = [f.smtpPasswordEnv !== undefined, Boolean(f.smtpPasswordStdin), Boolean(f.smtpPasswordSame)].filter(Boolean).length;
    if (smtpSources > 1) throw usageError('Use only one of --smtp-password-env, --smtp-password-stdin and --smtp-password-same.');
    const password = await readPasswordOption(f);
    const smtpPassword = f.smtpPasswordEnv !== undefined
      ? secretFromEnv(f.smtpPasswordEnv, '--smtp-password-env')
      : f.smtpPasswordStdin
        ? await secretFromStdin('SMTP password: ', '--smtp-password-stdin')
        : f.smtpPasswordSame
          ? null
          : undefined;
    return {
      input,
      ...(password ? { password } : {}),
      ...(smtpPassword !== undefined ? { smtpPassword } : {}),
      ...(f.importExisting ? { importExisting: f.importExisting as 'yes' | 'no' } : {}),
    };
  } catch (error) {
    reportError(error, Boolean(f.json));
    return undefined;
  }
}

/** What checkUsage read: the engine input, the secrets and the first-import choice. */
interface Checked {
  input: Record<string, unknown>;
  password?: string;
  smtpPassword?: string | null;
  importExisting?: 'yes' | 'no';
}

/** The engine input with the secrets read from their flags. */
function withSecrets(checked: Checked): Record<string, unknown> {
  return {
    ...checked.input,
    ...(checked.password ? { password: checked.password } : {}),
    ...(checked.smtpPassword !== undefined ? { smtpPassword: checked.smtpPassword } : {}),
  };
}

/**
 * Saves a mailbox that this save enables for the first time (its folder has
 * no import position), so that mail already in the folder is never imported
 * and marked, moved or deleted without a choice (issue 13, item 13):
 *
 * - `--import-existing no`: saved disabled, the folder's end recorded as the
 *   import position (a connection to the server), then enabled. If the
 *   folder cannot be reached the mailbox stays saved but disabled (exit 1).
 * - `--import-existing yes`: saved as asked; the first poll imports everything.
 * - neither: Mailroom looks into the folder first (when it can sign in). A
 *   folder that holds mail is refused with IMPORT_CHOICE_REQUIRED (exit 2)
 *   and nothing is saved; an empty one is saved; a folder it cannot look
 *   into is saved with a warning that says what the first poll will do.
 */
async function saveWithFirstImport(engine: Mailroom, checked: Checked, preview: Mailbox, save: (enabled?: boolean) => Mailbox): Promise<Mailbox> {
  // A POP3 mailbox has one maildrop, whose after-import action is its POP3 one.
  const pop3 = preview.receiveVia === 'pop3' && preview.pop3 ? preview.pop3 : null;
  const folder = pop3 ? 'the POP3 maildrop' : preview.imap.folder;
  const action = afterImportWords(pop3 ? pop3.afterImport : preview.imap.afterImport);
  if (!preview.enabled || checked.importExisting === 'yes') {
    const saved = save();
    if (saved.enabled) note(`${saved.name}: the first poll imports every message already in ${folder}; each is then ${action}.`);
    return saved;
  }
  if (checked.importExisting === 'no') {
    const saved = save(false);
    try {
      const start = await engine.inbox.startFromNow(saved.id);
      note(`${saved.name}: only mail that arrives from now on is imported; the ${start.leftAlone} message${start.leftAlone === 1 ? '' : 's'} already in ${folder} ${start.leftAlone === 1 ? 'is left as it is' : 'are left as they are'}.`);
    } catch (error) {
      const e = error as { code?: string; message?: string; hint?: string };
      throw new AppError(e.code ?? 'IMPORT_START_FAILED', `${saved.name} was saved but left disabled: Mailroom could not look into ${folder} to start after the mail already there. ${e.message ?? String(error)}`, {
        hint: `${e.hint ? `${e.hint} ` : ''}Then run: mailroom mailbox update "${saved.name}" --enabled --import-existing no`,
        cause: error,
      });
    }
    return engine.mailboxes.update({ id: saved.id, enabled: true });
  }
  let look: FirstImportLook | undefined;
  let why = '';
  try {
    look = await engine.inbox.lookIntoFolder(preview, checked.password !== undefined ? { password: checked.password } : {});
  } catch (error) {
    why = (error as { message?: string }).message ?? String(error);
  }
  if (look && look.messages > 0) {
    throw new AppError(
      'IMPORT_CHOICE_REQUIRED',
      `${pop3 ? 'The POP3 maildrop' : folder} holds ${look.messages} message${look.messages === 1 ? '' : 's'}${look.unseen ? ` (${look.unseen} unread)` : ''}. Enabling the mailbox would import ${look.messages === 1 ? 'it' : 'them all'} at once, and each would be ${action}. Nothing was saved.`,
      { hint: 'Choose: --import-existing yes (import them) or --import-existing no (only mail that arrives from now on; they are left as they are).' },
    );
  }
  const saved = save();
  if (!look) {
    note(`warning: could not look into ${folder} (${why.replace(/\.$/, '')}). The first poll imports every message already in it; each is then ${action}. To import only mail that arrives from now on: mailroom mailbox update "${saved.name}" --import-existing no`);
  }
  return saved;
}

/** A line for the person (or the log of a script) on stderr: stdout stays the one result, JSON or text. */
function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

export async function addMailbox(f: MailboxFlags): Promise<void> {
  const checked = await checkUsage(f, ['name', 'address']);
  if (!checked) return;
  await withEngine(f, async (engine) => {
    const input = withSecrets(checked);
    const created = await saveWithFirstImport(engine, checked, engine.mailboxes.preview(input, 'create'), (enabled) =>
      engine.mailboxes.create(enabled === undefined ? input : { ...input, enabled }),
    );
    if (f.json) printJson(created);
    else process.stdout.write(`Created mailbox:\n${describe(created)}`);
  });
}

export async function updateMailbox(idOrName: string, f: MailboxFlags): Promise<void> {
  const checked = await checkUsage(f, []);
  if (!checked) return;
  await withEngine(f, async (engine) => {
    const existing = engine.mailboxes.resolve(idOrName);
    const input = { id: existing.id, ...withSecrets(checked) };
    const preview = engine.mailboxes.preview(input, 'update');
    // A first enable: this update enables the mailbox (--enabled, or it was disabled) or moves it to another folder,
    // and that folder has no import position. Other changes of an enabled mailbox (a rename) ask nothing.
    const enabling = f.enabled === true || !existing.enabled || preview.imap.folder !== existing.imap.folder;
    const firstEnable = preview.enabled && enabling && engine.inbox.firstImportNeeded(existing.id, preview.imap.folder);
    const updated = firstEnable
      ? await saveWithFirstImport(engine, checked, preview, (enabled) => engine.mailboxes.update(enabled === undefined ? input : { ...input, enabled }))
      : engine.mailboxes.update(input);
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
          m.receiveVia === 'graph' ? 'Microsoft Graph' : `${m.imap.host}:${m.imap.port} ${m.imap.security}`,
          m.sendVia === 'graph' ? 'Microsoft Graph' : `${m.smtp.host}:${m.smtp.port} ${m.smtp.security}`,
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
