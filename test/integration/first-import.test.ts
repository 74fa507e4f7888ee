/**
 * The first enable of a mailbox never imports (and marks read, moves or
 * deletes) the mail already in its folder without a choice (issue 13, item
 * 13), against a private Dovecot with messages in INBOX: the CLI refuses
 * without --import-existing, `no` starts after the folder's current end
 * (UIDVALIDITY, UIDNEXT - 1) and imports nothing of what is there, `yes`
 * imports it; the IPC channels behind the form count and start the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { startDovecot, type Dovecot } from '../helpers/dovecot';
import { startTestConsole, invokeConsole, type ConsoleHandle } from '../helpers/console';
import { tempDir } from '../helpers/temp';

const PASSWORD = 'first-import-pw';
const USERS = ['refuse@example.test', 'fromnow@example.test', 'all@example.test', 'update@example.test', 'empty@example.test', 'form@example.test'];

function message(n: number, to: string): string {
  return [`From: Customer ${n} <customer${n}@example.net>`, `To: ${to}`, `Subject: Existing ${n}`, `Message-ID: <existing-${n}-${to}>`, 'Date: Mon, 30 Nov 2026 10:00:00 +0000', '', `Body ${n}`, ''].join('\r\n');
}

let dovecot: Dovecot;

beforeAll(async () => {
  dovecot = await startDovecot({
    users: Object.fromEntries(USERS.map((u) => [u, PASSWORD])),
    messages: USERS.filter((u) => u !== 'empty@example.test').flatMap((user) => [1, 2, 3].map((n) => ({ user, raw: message(n, user) }))),
  });
}, 60_000);

afterAll(async () => {
  await dovecot?.stop();
});

const env = { IMAP_PASSWORD: PASSWORD };

function addArgs(dir: string, user: string, extra: string[] = []): string[] {
  return [
    'mailbox', 'add', '--name', user.split('@')[0]!, '--address', user, '--preset', 'generic',
    '--imap-host', '127.0.0.1', '--imap-port', String(dovecot.port), '--imap-security', 'none',
    '--smtp-host', '127.0.0.1', '--smtp-security', 'none', '--password-env', 'IMAP_PASSWORD',
    ...extra, '--json', '--data-dir', dir,
  ];
}

describe('first enable from the CLI', () => {
  it('refuses without --import-existing when the folder holds mail, saying how many and what would happen; nothing is saved', async () => {
    const dir = tempDir();
    const refused = await runCli(addArgs(dir, 'refuse@example.test'), { env });
    expect(refused.code, refused.stdout + refused.stderr).toBe(2);
    expect(refused.json.error.code).toBe('IMPORT_CHOICE_REQUIRED');
    expect(refused.json.error.message).toContain('INBOX holds 3 messages (3 unread)');
    expect(refused.json.error.message).toContain('marked as read on the server');
    expect(refused.json.error.hint).toContain('--import-existing no');
    const deleting = await runCli(addArgs(dir, 'refuse@example.test', ['--after-import', 'delete']), { env });
    expect(deleting.json.error.message).toContain('deleted from the server');
    const list = await runCli(['mailbox', 'list', '--json', '--data-dir', dir]);
    expect(list.json).toEqual([]);
    const bad = await runCli(addArgs(dir, 'refuse@example.test', ['--import-existing', 'maybe']), { env });
    expect(bad.code).toBe(2);
    expect(bad.json.error.message).toContain('--import-existing takes yes or no');
  });

  it('--import-existing no: imports only mail that arrives from now on and leaves what is there untouched', async () => {
    const dir = tempDir();
    const user = 'fromnow@example.test';
    const added = await runCli(addArgs(dir, user, ['--import-existing', 'no']), { env });
    expect(added.code, added.stdout + added.stderr).toBe(0);
    expect(added.json).toMatchObject({ enabled: true });
    expect(added.stderr).toContain('the 3 messages already in INBOX are left as they are');
    const first = await runCli(['inbox', 'poll', 'fromnow', '--json', '--data-dir', dir], { env });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.json).toMatchObject({ fetched: 0, imported: 0 });
    // Untouched on the server: still 3 unread (a refusal without the flag counts them again).
    const recount = await runCli(addArgs(tempDir(), user), { env });
    expect(recount.json.error.message).toContain('INBOX holds 3 messages (3 unread)');
    // What arrives now is imported.
    await dovecot.append(user, 'INBOX', message(4, user));
    const second = await runCli(['inbox', 'poll', 'fromnow', '--json', '--data-dir', dir], { env });
    expect(second.json).toMatchObject({ imported: 1 });
    const list = await runCli(['inbox', 'list', '--json', '--data-dir', dir]);
    const subjects = (list.json.items ?? list.json.messages ?? list.json).map((m: { subject: string }) => m.subject);
    expect(subjects).toEqual(['Existing 4']);
    const logs = await runCli(['logs', '--direction', 'receive', '--text', 'from now on', '--json', '--data-dir', dir]);
    expect(JSON.stringify(logs.json)).toContain('starts with mail that arrives from now on');
  });

  it('--import-existing yes: the first poll imports everything, as the admin chose', async () => {
    const dir = tempDir();
    const added = await runCli(addArgs(dir, 'all@example.test', ['--import-existing', 'yes']), { env });
    expect(added.code, added.stdout + added.stderr).toBe(0);
    expect(added.stderr).toContain('the first poll imports every message already in INBOX; each is then marked as read on the server');
    // A later change that does not enable it asks nothing (it is enabled, and not polled yet).
    const renamed = await runCli(['mailbox', 'update', 'all', '--poll-seconds', '90', '--json', '--data-dir', dir], { env });
    expect(renamed.code, renamed.stdout + renamed.stderr).toBe(0);
    const polled = await runCli(['inbox', 'poll', 'all', '--json', '--data-dir', dir], { env });
    expect(polled.json).toMatchObject({ imported: 3 });
  });

  it('update --enabled of a disabled mailbox asks the same question; an empty folder needs no choice', async () => {
    const dir = tempDir();
    const added = await runCli(addArgs(dir, 'update@example.test', ['--disabled']), { env });
    expect(added.code, added.stdout + added.stderr).toBe(0);
    const refused = await runCli(['mailbox', 'update', 'update', '--enabled', '--json', '--data-dir', dir], { env });
    expect(refused.code).toBe(2);
    expect(refused.json.error.code).toBe('IMPORT_CHOICE_REQUIRED');
    const show = await runCli(['mailbox', 'show', 'update', '--json', '--data-dir', dir]);
    expect(show.json.enabled).toBe(false);
    const enabled = await runCli(['mailbox', 'update', 'update', '--enabled', '--import-existing', 'no', '--json', '--data-dir', dir], { env });
    expect(enabled.code, enabled.stdout + enabled.stderr).toBe(0);
    expect(enabled.json.enabled).toBe(true);
    // Once the import has a position, later changes ask nothing.
    const renamed = await runCli(['mailbox', 'update', 'update', '--poll-seconds', '120', '--json', '--data-dir', dir], { env });
    expect(renamed.code, renamed.stdout + renamed.stderr).toBe(0);

    const empty = await runCli(addArgs(dir, 'empty@example.test'), { env });
    expect(empty.code, empty.stdout + empty.stderr).toBe(0);
    expect(empty.json.enabled).toBe(true);
  });

  it('saves with a warning when it cannot look into the folder (no server there)', async () => {
    const dir = tempDir();
    const args = addArgs(dir, 'refuse@example.test');
    args[args.indexOf(String(dovecot.port))] = '1';
    const added = await runCli(args, { env });
    expect(added.code, added.stdout + added.stderr).toBe(0);
    expect(added.stderr).toContain('warning: could not look into INBOX');
    expect(added.stderr).toContain('--import-existing no');
  });

  it.each([
    ['IMAP with a person\'s sign-in', []],
    ['Microsoft Graph', ['--send-via', 'graph', '--receive-via', 'graph']],
  ])('says why it cannot look into a new Microsoft 365 mailbox (%s): its sign-in comes after saving', async (_what, extra) => {
    const dir = tempDir();
    const added = await runCli(['mailbox', 'add', '--name', 'Helpdesk', '--address', 'help@contoso.onmicrosoft.com', '--preset', 'microsoft365', ...extra, '--json', '--data-dir', dir], { env });
    expect(added.code, added.stdout + added.stderr).toBe(0);
    expect(added.stderr).toContain('warning: could not look into INBOX (Helpdesk signs in with Microsoft 365, which it can do only once it is saved)');
    expect(added.stderr).not.toMatch(/id 0/);
  });
});

describe('first enable over IPC (the form)', () => {
  let handle: ConsoleHandle;
  beforeAll(async () => {
    handle = await startTestConsole(tempDir());
  });
  afterAll(async () => {
    await handle?.close();
  });

  it('counts the folder, starts from now without importing, and only then is the mailbox enabled', async () => {
    const user = 'form@example.test';
    const created = await invokeConsole(handle.server, 'mailboxes.create', {
      name: 'Form',
      address: user,
      preset: 'generic',
      enabled: false,
      imap: { host: '127.0.0.1', port: dovecot.port, security: 'none' },
      smtp: { host: '127.0.0.1', security: 'none' },
      password: PASSWORD,
    });
    expect(created.ok, JSON.stringify(created)).toBe(true);
    const id = (created as { value: { id: number } }).value.id;
    expect(await invokeConsole(handle.server, 'inbox.firstImportNeeded', { mailboxId: id })).toEqual({ ok: true, value: { needed: true } });
    const look = await invokeConsole(handle.server, 'inbox.firstImport', { mailboxId: id });
    expect(look).toMatchObject({ ok: true, value: { folder: 'INBOX', messages: 3, unseen: 3, afterImport: 'mark-seen', afterImportWords: 'marked as read on the server', started: false } });
    const started = await invokeConsole(handle.server, 'inbox.startFromNow', { mailboxId: id });
    expect(started).toMatchObject({ ok: true, value: { folder: 'INBOX', leftAlone: 3, startAfterUid: 3 } });
    expect(await invokeConsole(handle.server, 'inbox.firstImportNeeded', { mailboxId: id })).toEqual({ ok: true, value: { needed: false } });
    // Another folder would be a first import of its own.
    expect(await invokeConsole(handle.server, 'inbox.firstImportNeeded', { mailboxId: id, folder: 'Archive' })).toEqual({ ok: true, value: { needed: true } });
    await invokeConsole(handle.server, 'mailboxes.update', { id, enabled: true });
    const polled = await invokeConsole(handle.server, 'inbox.pollNow', { mailboxId: id });
    expect(polled).toMatchObject({ ok: true, value: { imported: 0 } });
  }, 60_000);
});
