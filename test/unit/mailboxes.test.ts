/**
 * MailboxService over a real SQLite file: defaults per security mode,
 * presets, validation messages, update semantics, cascade of secrets and
 * the all-or-nothing settings import/export.
 */
import crypto from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { isAppError, type AppError } from '../../src-main/shared/errors';
import type { Mailbox } from '../../src-main/shared/mailbox';
import { tempDir } from '../helpers/temp';

const open: Mailroom[] = [];
afterEach(() => {
  for (const engine of open.splice(0)) engine.close();
});

function engine(): Mailroom {
  const e = openMailroom({ dataDir: tempDir(), keyProvider: staticKeyProvider(crypto.randomBytes(32), 'test key') });
  open.push(e);
  return e;
}

function catchAppError(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    if (isAppError(error)) return error;
    throw error;
  }
  throw new Error('expected an AppError, but nothing was thrown');
}

const GENERIC = { preset: 'generic', imap: { host: 'imap.example.com' }, smtp: { host: 'smtp.example.com' } } as const;

function addGeneric(e: Mailroom, extra: Record<string, unknown> = {}): Mailbox {
  return e.mailboxes.create({ name: 'Support', address: 'support@example.com', ...GENERIC, ...extra });
}

/** Everything but the update timestamp, to compare a mailbox before and after a refused change. */
function stable(m: Mailbox) {
  return { ...m, updatedAt: 0 };
}

describe('defaults', () => {
  it.each([
    ['tls', 993],
    ['starttls', 143],
    ['none', 143],
  ] as const)('IMAP with %s security defaults to port %i', (security, port) => {
    const m = addGeneric(engine(), { imap: { host: 'imap.example.com', security } });
    expect(m.imap).toMatchObject({ security, port });
  });

  it.each([
    ['tls', 465],
    ['starttls', 587],
    ['none', 25],
  ] as const)('SMTP with %s security defaults to port %i', (security, port) => {
    const m = addGeneric(engine(), { smtp: { host: 'smtp.example.com', security } });
    expect(m.smtp).toMatchObject({ security, port });
  });

  it('fills in the rest: TLS, user name = address, INBOX, mark-seen, 60 s, password sign-in, enabled', () => {
    const m = addGeneric(engine());
    expect(m).toMatchObject({
      name: 'Support',
      address: 'support@example.com',
      enabled: true,
      preset: 'generic',
      passwordSet: false,
      imap: { host: 'imap.example.com', port: 993, security: 'tls', username: 'support@example.com', auth: 'password', folder: 'INBOX', afterImport: 'mark-seen', pollIntervalSeconds: 60 },
      smtp: { host: 'smtp.example.com', port: 465, security: 'tls', username: 'support@example.com', auth: 'password' },
    });
    expect(m.id).toBeGreaterThan(0);
    expect(m.createdAt).toBeGreaterThan(Date.UTC(2024, 0, 1));
    expect(m.updatedAt).toBe(m.createdAt);
  });

  it('keeps an explicit port whatever the security', () => {
    const m = addGeneric(engine(), { imap: { host: 'imap.example.com', security: 'starttls', port: 1143 }, smtp: { host: 'smtp.example.com', port: '2525' } });
    expect(m.imap.port).toBe(1143);
    expect(m.smtp.port).toBe(2525);
  });

  it('trims what people paste', () => {
    const m = engine().mailboxes.create({ name: '  Support  ', address: ' support@example.com ', preset: 'generic', imap: { host: ' imap.example.com ' }, smtp: { host: 'smtp.example.com' } });
    expect([m.name, m.address, m.imap.host]).toEqual(['Support', 'support@example.com', 'imap.example.com']);
  });
});

describe('presets', () => {
  it('microsoft365 brings Exchange Online servers and OAuth 2.0', () => {
    const m = engine().mailboxes.create({ name: 'Helpdesk', address: 'helpdesk@contoso.com', preset: 'microsoft365' });
    expect(m.imap).toMatchObject({ host: 'outlook.office365.com', port: 993, security: 'tls', auth: 'oauth2', username: 'helpdesk@contoso.com' });
    expect(m.smtp).toMatchObject({ host: 'smtp.office365.com', port: 587, security: 'starttls', auth: 'oauth2', username: 'helpdesk@contoso.com' });
  });

  it('gmail brings Google servers and password (app password) sign-in', () => {
    const m = engine().mailboxes.create({ name: 'Gmail', address: 'desk@gmail.com', preset: 'gmail' });
    expect(m.imap).toMatchObject({ host: 'imap.gmail.com', port: 993, security: 'tls', auth: 'password' });
    expect(m.smtp).toMatchObject({ host: 'smtp.gmail.com', port: 465, security: 'tls', auth: 'password' });
  });

  it('generic needs both host names, and says so for each', () => {
    const e = engine();
    const error = catchAppError(() => e.mailboxes.create({ name: 'Support', address: 'support@example.com', preset: 'generic' }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.issues?.map((i) => i.path).sort()).toEqual(['imap.host', 'smtp.host']);
    expect(error.message).toContain('imap.host');
    expect(error.message).toContain('smtp.host');
    expect(error.issues![0]!.message).toMatch(/is required .*such as/);
    expect(e.mailboxes.list()).toEqual([]);
  });

  it('is guessed from the address when none is given', () => {
    const e = engine();
    expect(e.mailboxes.create({ name: 'G', address: 'someone@gmail.com' }).preset).toBe('gmail');
    expect(e.mailboxes.create({ name: 'M', address: 'desk@contoso.onmicrosoft.com' }).preset).toBe('microsoft365');
  });

  it('lets a flag override a preset; the port follows the chosen security', () => {
    const m = engine().mailboxes.create({ name: 'Helpdesk', address: 'helpdesk@contoso.com', preset: 'microsoft365', imap: { security: 'starttls' }, smtp: { auth: 'password' } });
    expect(m.imap).toMatchObject({ host: 'outlook.office365.com', security: 'starttls', port: 143 });
    expect(m.smtp).toMatchObject({ host: 'smtp.office365.com', port: 587, auth: 'password' });
  });
});

describe('validation', () => {
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['an empty name', { name: '' }, 'name', /is required/],
    ['a name of digits only', { name: '42' }, 'name', /not be only digits/],
    ['a name with a line break', { name: 'Sup\nport' }, 'name', /control characters/],
    ['an address without @', { address: 'support.example.com' }, 'address', /email address such as/],
    ['an unknown preset', { preset: 'yahoo' }, 'preset', /one of: microsoft365, gmail, generic/],
    ['port 0', { imap: { host: 'imap.example.com', port: 0 } }, 'imap.port', /1 to 65535/],
    ['port 70000', { smtp: { host: 'smtp.example.com', port: 70000 } }, 'smtp.port', /1 to 65535/],
    ['a port that is not a number', { imap: { host: 'imap.example.com', port: 'imaps' } }, 'imap.port', /whole number/],
    ['security "ssl"', { imap: { host: 'imap.example.com', security: 'ssl' } }, 'imap.security', /one of: tls, starttls, none/],
    ['SMTP auth "basic"', { smtp: { host: 'smtp.example.com', auth: 'basic' } }, 'smtp.auth', /one of: password, oauth2, oauth2-app, none/],
    ['IMAP auth "none"', { imap: { host: 'imap.example.com', auth: 'none' } }, 'imap.auth', /one of: password, oauth2/],
    ['a host with a scheme', { imap: { host: 'imaps://imap.example.com' } }, 'imap.host', /without a scheme, port or path/],
    ['a host with a port', { smtp: { host: 'smtp.example.com:587' } }, 'smtp.host', /without a scheme, port or path/],
    ['after-import "archive"', { imap: { host: 'imap.example.com', afterImport: 'archive' } }, 'imap.afterImport', /mark-seen, delete, or move:<folder>/],
    ['a poll interval of 1 s', { imap: { host: 'imap.example.com', pollIntervalSeconds: 1 } }, 'imap.pollIntervalSeconds', /at least 10 seconds/],
    ['an empty folder', { imap: { host: 'imap.example.com', folder: ' ' } }, 'imap.folder', /usual folder is INBOX/],
    ['an unknown field', { colour: 'blue' }, '(input)', /colour/],
  ];

  it.each(cases)('refuses %s, naming the field and what is allowed', (_label, patch, path, message) => {
    const e = engine();
    const input = { name: 'Support', address: 'support@example.com', ...GENERIC, ...patch };
    const error = catchAppError(() => e.mailboxes.create(input));
    expect(error.code).toBe('VALIDATION_FAILED');
    const issue = error.issues?.find((i) => i.path === path);
    expect(issue, `issues ${JSON.stringify(error.issues)}`).toBeDefined();
    expect(issue!.message).toMatch(message);
    // The one-line message carries the field too, for logs and the CLI.
    if (path !== '(input)') expect(error.message).toContain(path);
    expect(e.mailboxes.list()).toEqual([]);
  });

  it('reports every bad field at once', () => {
    const error = catchAppError(() => engine().mailboxes.create({ name: '', address: 'nope', imap: { port: -1 } }));
    expect(error.issues?.map((i) => i.path)).toEqual(expect.arrayContaining(['name', 'address', 'imap.port']));
  });
});

describe('update', () => {
  it('changes only the fields given', () => {
    const e = engine();
    const before = addGeneric(e, { imap: { host: 'imap.example.com', folder: 'Support', pollIntervalSeconds: 120 } });
    const after = e.mailboxes.update({ id: before.id, name: 'Help desk' });
    expect(after.name).toBe('Help desk');
    expect({ ...after, name: before.name, updatedAt: 0 }).toEqual(stable(before));
    expect(after.updatedAt).toBeGreaterThanOrEqual(before.updatedAt);
  });

  it('moves user names that followed the address along with it, and keeps custom ones', () => {
    const e = engine();
    const before = addGeneric(e, { smtp: { host: 'smtp.example.com', username: 'relay-user' } });
    const after = e.mailboxes.update({ id: before.id, address: 'help@example.com' });
    expect(after.imap.username).toBe('help@example.com');
    expect(after.smtp.username).toBe('relay-user');
  });

  it('moves a default port along when the security changes', () => {
    const e = engine();
    const before = addGeneric(e, { imap: { host: 'imap.example.com', security: 'tls' }, smtp: { host: 'smtp.example.com', security: 'starttls' } });
    expect([before.imap.port, before.smtp.port]).toEqual([993, 587]);
    const after = e.mailboxes.update({ id: before.id, imap: { security: 'starttls' }, smtp: { security: 'tls' } });
    expect([after.imap.port, after.smtp.port]).toEqual([143, 465]);
  });

  it('keeps a custom port when the security changes', () => {
    const e = engine();
    const before = addGeneric(e, { imap: { host: 'imap.example.com', security: 'tls', port: 10993 } });
    const after = e.mailboxes.update({ id: before.id, imap: { security: 'starttls' } });
    expect(after.imap).toMatchObject({ security: 'starttls', port: 10993 });
  });

  it('applies the servers of a new preset and keeps folder, after-import and poll interval', () => {
    const e = engine();
    const before = addGeneric(e, { address: 'desk@example.com', imap: { host: 'imap.example.com', folder: 'Helpdesk', afterImport: 'move:Done', pollIntervalSeconds: 300 } });
    const after = e.mailboxes.update({ id: before.id, preset: 'microsoft365' });
    expect(after.preset).toBe('microsoft365');
    expect(after.imap).toMatchObject({ host: 'outlook.office365.com', port: 993, security: 'tls', auth: 'oauth2', folder: 'Helpdesk', afterImport: 'move:Done', pollIntervalSeconds: 300 });
    expect(after.smtp).toMatchObject({ host: 'smtp.office365.com', port: 587, security: 'starttls', auth: 'oauth2' });
  });

  it('refuses a rename to an existing name (any case) with CONFLICT and changes nothing', () => {
    const e = engine();
    const support = addGeneric(e);
    const sales = e.mailboxes.create({ name: 'Sales', address: 'sales@example.com', ...GENERIC });
    const error = catchAppError(() => e.mailboxes.update({ id: sales.id, name: 'SUPPORT', imap: { port: 1993 } }));
    expect(error.code).toBe('CONFLICT');
    expect(error.message).toContain('SUPPORT');
    expect(error.hint).toBeTruthy();
    expect(error.issues?.[0]?.path).toBe('name');
    expect(stable(e.mailboxes.get(sales.id))).toEqual(stable(sales));
    expect(stable(e.mailboxes.get(support.id))).toEqual(stable(support));
  });

  it('refuses a new mailbox with an existing name with CONFLICT', () => {
    const e = engine();
    addGeneric(e);
    expect(catchAppError(() => e.mailboxes.create({ name: 'support', address: 'other@example.com', ...GENERIC })).code).toBe('CONFLICT');
    expect(e.mailboxes.list()).toHaveLength(1);
  });

  it('refuses bad values and changes nothing', () => {
    const e = engine();
    const before = addGeneric(e, { password: 'keep-this-one' });
    const error = catchAppError(() => e.mailboxes.update({ id: before.id, name: 'Renamed', imap: { port: 99999 }, password: 'new-password' }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(stable(e.mailboxes.get(before.id))).toEqual(stable(before));
    expect(e.mailboxes.password(before.id)).toBe('keep-this-one');
  });

  it('says NOT_FOUND for an unknown id', () => {
    const error = catchAppError(() => engine().mailboxes.update({ id: 4242, name: 'X' }));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.hint).toBeTruthy();
  });

  it('sets, keeps and clears the password: absent keeps it, null clears it', () => {
    const e = engine();
    const m = addGeneric(e, { password: 'first' });
    expect(m.passwordSet).toBe(true);
    expect(e.mailboxes.update({ id: m.id, name: 'Renamed' }).passwordSet).toBe(true);
    expect(e.mailboxes.password(m.id)).toBe('first');
    e.mailboxes.update({ id: m.id, password: 'second' });
    expect(e.mailboxes.password(m.id)).toBe('second');
    expect(e.mailboxes.update({ id: m.id, password: null }).passwordSet).toBe(false);
    expect(e.mailboxes.password(m.id)).toBeUndefined();
  });
});

describe('find, list and remove', () => {
  it('finds a mailbox by id or by name in any case', () => {
    const e = engine();
    const m = addGeneric(e);
    expect(e.mailboxes.resolve(String(m.id)).id).toBe(m.id);
    expect(e.mailboxes.resolve('sUpPoRt').id).toBe(m.id);
    const error = catchAppError(() => e.mailboxes.resolve('Nobody'));
    expect(error.code).toBe('NOT_FOUND');
    expect(error.message).toContain('Nobody');
  });

  it('lists by name', () => {
    const e = engine();
    for (const name of ['charlie', 'Alpha', 'bravo']) e.mailboxes.create({ name, address: `${name}@example.com`.toLowerCase(), ...GENERIC });
    expect(e.mailboxes.list().map((m) => m.name)).toEqual(['Alpha', 'bravo', 'charlie']);
  });

  it('removes the mailbox and its stored secrets with it', () => {
    const e = engine();
    const m = addGeneric(e, { password: 'remove-me-too' });
    e.db.prepare("INSERT INTO mailbox_secrets (mailbox_id, name, ciphertext, updated_at) VALUES (?, 'oauth-token-cache', x'01', 0)").run(m.id);
    const count = () => (e.db.prepare('SELECT COUNT(*) AS n FROM mailbox_secrets WHERE mailbox_id = ?').get(m.id) as { n: number }).n;
    expect(count()).toBe(2);
    expect(e.mailboxes.remove(m.id)).toBe(true);
    expect(count()).toBe(0);
    expect(catchAppError(() => e.mailboxes.get(m.id)).code).toBe('NOT_FOUND');
    expect(e.mailboxes.remove(m.id)).toBe(false);
  });

  it('announces every change on the event bus', () => {
    const e = engine();
    const seen: unknown[] = [];
    e.events.on('mailboxes.changed', (payload) => seen.push(payload));
    const m = addGeneric(e);
    e.mailboxes.update({ id: m.id, name: 'Renamed' });
    e.mailboxes.remove(m.id);
    expect(seen).toEqual([{ id: m.id }, { id: m.id }, { id: m.id }]);
  });
});

describe('settings export and import', () => {
  const SECRET = 'Exp0rt-Must-Not-Carry-This';

  it('exports settings without any secret', () => {
    const e = engine();
    addGeneric(e, { password: SECRET });
    e.mailboxes.create({ name: 'Helpdesk', address: 'helpdesk@contoso.com', preset: 'microsoft365', password: SECRET });
    const exported = e.mailboxes.exportSettings();
    const text = JSON.stringify(exported);
    expect(text).not.toContain(SECRET);
    expect(exported).toMatchObject({ format: 'mailroom-settings', version: 1 });
    expect(exported.mailboxes.map((m) => m.name)).toEqual(['Helpdesk', 'Support']);
    const keys = new Set<string>();
    JSON.parse(text, (key, value) => (keys.add(key), value));
    for (const forbidden of ['password', 'passwordSet', 'secret', 'token', 'ciphertext', 'id']) expect(keys.has(forbidden), `key ${forbidden}`).toBe(false);
  });

  it('round-trips into another data folder with identical settings', () => {
    const source = engine();
    addGeneric(source, { imap: { host: 'imap.example.com', security: 'starttls', folder: 'Helpdesk', afterImport: 'delete' }, smtp: { host: 'smtp.example.com', port: 2525, auth: 'none' }, enabled: false });
    source.mailboxes.create({ name: 'Helpdesk', address: 'helpdesk@contoso.com', preset: 'microsoft365' });
    const target = engine();
    const result = target.mailboxes.importSettings(JSON.parse(JSON.stringify(source.mailboxes.exportSettings())));
    expect(result).toEqual({ created: ['Helpdesk', 'Support'], updated: [] });
    const strip = (m: Mailbox) => ({ ...m, id: 0, createdAt: 0, updatedAt: 0 });
    expect(target.mailboxes.list().map(strip)).toEqual(source.mailboxes.list().map(strip));
  });

  it('updates mailboxes that exist by name and keeps their passwords', () => {
    const e = engine();
    const m = addGeneric(e, { password: SECRET });
    const settings = e.mailboxes.exportSettings();
    settings.mailboxes[0]!.imap!.folder = 'Archive';
    expect(e.mailboxes.importSettings(settings)).toEqual({ created: [], updated: ['Support'] });
    const after = e.mailboxes.get(m.id);
    expect(after.imap.folder).toBe('Archive');
    expect(after.passwordSet).toBe(true);
    expect(e.mailboxes.password(m.id)).toBe(SECRET);
  });

  it('imports nothing when one entry is bad, and names the entry and field', () => {
    const e = engine();
    const existing = addGeneric(e);
    const settings = {
      format: 'mailroom-settings',
      version: 1,
      exportedAt: new Date().toISOString(),
      mailboxes: [
        { name: 'Support', address: 'changed@example.com' },
        { name: 'Sales', address: 'sales@example.com', preset: 'generic', imap: { host: 'imap.example.com' }, smtp: { host: 'smtp.example.com' } },
        { name: 'Broken', address: 'broken@example.com', preset: 'generic', imap: { host: 'imap.example.com', port: 0 }, smtp: { host: 'smtp.example.com' } },
      ],
    };
    const error = catchAppError(() => e.mailboxes.importSettings(settings));
    expect(error.code).toBe('SETTINGS_FILE_INVALID');
    expect(error.message).toContain('Broken');
    expect(error.message).toContain('Nothing was imported');
    expect(error.issues?.map((i) => i.path)).toContain('mailboxes.2.imap.port');
    expect(e.mailboxes.list().map(stable)).toEqual([stable(existing)]);
  });

  it('imports nothing when a generic entry lacks its hosts', () => {
    const e = engine();
    const settings = { format: 'mailroom-settings', version: 1, exportedAt: '', mailboxes: [{ name: 'A', address: 'a@example.com', preset: 'gmail' }, { name: 'B', address: 'b@example.com', preset: 'generic' }] };
    const error = catchAppError(() => e.mailboxes.importSettings(settings));
    expect(error.code).toBe('SETTINGS_FILE_INVALID');
    expect(error.issues?.map((i) => i.path)).toEqual(expect.arrayContaining(['mailboxes.1.imap.host', 'mailboxes.1.smtp.host']));
    expect(e.mailboxes.list()).toEqual([]);
  });

  it.each([
    ['not an object', 'hello'],
    ['another format', { format: 'thunderbird', version: 1, exportedAt: '', mailboxes: [] }],
    ['a newer version', { format: 'mailroom-settings', version: 2, exportedAt: '', mailboxes: [] }],
    ['a password inside', { format: 'mailroom-settings', version: 1, exportedAt: '', mailboxes: [{ name: 'A', address: 'a@example.com', preset: 'gmail', password: 'x' }] }],
  ])('refuses %s as SETTINGS_FILE_INVALID with a hint', (_label, settings) => {
    const e = engine();
    const error = catchAppError(() => e.mailboxes.importSettings(settings));
    expect(error.code).toBe('SETTINGS_FILE_INVALID');
    expect(error.hint ?? error.message).toBeTruthy();
    expect(e.mailboxes.list()).toEqual([]);
  });
});
