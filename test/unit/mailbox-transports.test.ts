/**
 * Transports per direction (issues 16 and 17): a mailbox receives through IMAP,
 * POP3 or Microsoft Graph and sends through SMTP or Graph. Settings resolve
 * from input, the existing mailbox and the preset; a refused change stores nothing.
 */
import crypto from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { staticKeyProvider } from '../../src-main/store/secret-box';
import { isAppError, type AppError } from '../../src-main/shared/errors';
import { tempDir } from '../helpers/temp';

const open: Mailroom[] = [];
afterEach(() => {
  for (const engine of open.splice(0)) engine.close();
});

function engine(dataDir = tempDir()): Mailroom {
  const e = openMailroom({ dataDir, keyProvider: staticKeyProvider(KEY, 'test key') });
  open.push(e);
  return e;
}
const KEY = crypto.randomBytes(32);

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

describe('defaults', () => {
  it('a new mailbox receives through IMAP and sends through SMTP, with no POP3 settings', () => {
    const m = engine().mailboxes.create({ name: 'Support', address: 'support@example.com', ...GENERIC });
    expect(m).toMatchObject({ receiveVia: 'imap', sendVia: 'smtp', pop3: null, graph: { saveToSentItems: true } });
  });

  it.each([
    ['tls', 995],
    ['starttls', 110],
    ['none', 110],
  ] as const)('POP3 with %s security defaults to port %i, leaves mail on the server and follows the address', (security, port) => {
    const m = engine().mailboxes.create({ name: 'Support', address: 'support@example.com', ...GENERIC, receiveVia: 'pop3', pop3: { host: 'pop.example.com', security } });
    expect(m.receiveVia).toBe('pop3');
    expect(m.pop3).toEqual({ host: 'pop.example.com', port, security, username: 'support@example.com', auth: 'password', afterImport: 'leave' });
  });

  it('the Microsoft 365 and Gmail presets fill the POP3 server', () => {
    const e = engine();
    const ms = e.mailboxes.create({ name: 'M365', address: 'help@contoso.onmicrosoft.com', preset: 'microsoft365', receiveVia: 'pop3' });
    expect(ms.pop3).toMatchObject({ host: 'outlook.office365.com', port: 995, security: 'tls', auth: 'oauth2' });
    const g = e.mailboxes.create({ name: 'Gmail', address: 'help@gmail.com', preset: 'gmail', receiveVia: 'pop3' });
    expect(g.pop3).toMatchObject({ host: 'pop.gmail.com', port: 995, security: 'tls', auth: 'password' });
  });
});

describe('refused settings name the field and store nothing', () => {
  it('POP3 without a server on the generic preset', () => {
    const e = engine();
    const error = catchAppError(() => e.mailboxes.create({ name: 'Support', address: 'support@example.com', ...GENERIC, receiveVia: 'pop3' }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.issues?.map((i) => i.path)).toContain('pop3.host');
    expect(e.mailboxes.list()).toEqual([]);
  });

  it('Graph with a password sign-in, per direction', () => {
    const e = engine();
    const recv = catchAppError(() => e.mailboxes.create({ name: 'Support', address: 'support@example.com', ...GENERIC, receiveVia: 'graph' }));
    expect(recv.issues?.map((i) => i.path)).toEqual(['receiveVia']);
    expect(recv.message).toMatch(/OAuth 2\.0/);
    const send = catchAppError(() => e.mailboxes.create({ name: 'Support', address: 'support@example.com', ...GENERIC, sendVia: 'graph' }));
    expect(send.issues?.map((i) => i.path)).toEqual(['sendVia']);
    expect(e.mailboxes.list()).toEqual([]);
  });

  it('an unknown transport', () => {
    const error = catchAppError(() => engine().mailboxes.create({ name: 'Support', address: 'support@example.com', ...GENERIC, sendVia: 'ews' }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toMatch(/sendVia.*smtp, graph/);
  });
});

describe('changes', () => {
  it('a Microsoft 365 mailbox goes through Graph in both directions and back; Sent Items is a setting', () => {
    const e = engine();
    const m = e.mailboxes.create({ name: 'M365', address: 'help@contoso.onmicrosoft.com', preset: 'microsoft365' });
    const graph = e.mailboxes.update({ id: m.id, receiveVia: 'graph', sendVia: 'graph', graph: { saveToSentItems: false } });
    expect(graph).toMatchObject({ receiveVia: 'graph', sendVia: 'graph', graph: { saveToSentItems: false } });
    // Only the fields given change.
    const renamed = e.mailboxes.update({ id: m.id, name: 'Helpdesk' });
    expect(renamed).toMatchObject({ receiveVia: 'graph', sendVia: 'graph', graph: { saveToSentItems: false } });
    const back = e.mailboxes.update({ id: m.id, sendVia: 'smtp' });
    expect(back).toMatchObject({ receiveVia: 'graph', sendVia: 'smtp' });
  });

  it('POP3 settings are kept when the mailbox goes back to IMAP, and come back with POP3', () => {
    const e = engine();
    const m = e.mailboxes.create({ name: 'Support', address: 'support@example.com', ...GENERIC, receiveVia: 'pop3', pop3: { host: 'pop.example.com', port: 1995, afterImport: 'delete' } });
    const imap = e.mailboxes.update({ id: m.id, receiveVia: 'imap' });
    expect(imap.receiveVia).toBe('imap');
    expect(imap.pop3).toMatchObject({ host: 'pop.example.com', port: 1995, afterImport: 'delete' });
    const pop3 = e.mailboxes.update({ id: m.id, receiveVia: 'pop3' });
    expect(pop3.pop3).toEqual(m.pop3);
  });

  it('a POP3 security change moves a default port and keeps a custom one', () => {
    const e = engine();
    const m = e.mailboxes.create({ name: 'Support', address: 'support@example.com', ...GENERIC, receiveVia: 'pop3', pop3: { host: 'pop.example.com' } });
    expect(e.mailboxes.update({ id: m.id, pop3: { security: 'starttls' } }).pop3?.port).toBe(110);
    e.mailboxes.update({ id: m.id, pop3: { port: 2110 } });
    expect(e.mailboxes.update({ id: m.id, pop3: { security: 'tls' } }).pop3?.port).toBe(2110);
  });

  it('the transports survive closing and reopening the data folder', () => {
    const dir = tempDir();
    const first = engine(dir);
    const m = first.mailboxes.create({ name: 'M365', address: 'help@contoso.onmicrosoft.com', preset: 'microsoft365', receiveVia: 'pop3', sendVia: 'graph', graph: { saveToSentItems: false } });
    first.close();
    open.splice(open.indexOf(first), 1);
    expect(engine(dir).mailboxes.get(m.id)).toEqual(m);
  });
});

describe('settings export and import', () => {
  it('carries the transports and POP3 settings', () => {
    const a = engine();
    a.mailboxes.create({ name: 'M365', address: 'help@contoso.onmicrosoft.com', preset: 'microsoft365', receiveVia: 'pop3', sendVia: 'graph', graph: { saveToSentItems: false } });
    const exported = a.mailboxes.exportSettings();
    const b = engine();
    expect(b.mailboxes.importSettings(JSON.parse(JSON.stringify(exported)))).toEqual({ created: ['M365'], updated: [] });
    const { id: _a, createdAt: _c, updatedAt: _u, ...copied } = b.mailboxes.list()[0]!;
    const { id: _a2, createdAt: _c2, updatedAt: _u2, ...original } = a.mailboxes.list()[0]!;
    expect(copied).toEqual(original);
  });

  it('an old file without transports still imports, as IMAP and SMTP', () => {
    const b = engine();
    b.mailboxes.importSettings({ format: 'mailroom-settings', version: 1, exportedAt: '2026-01-01T00:00:00Z', mailboxes: [{ name: 'Old', address: 'old@example.com', ...GENERIC }] });
    expect(b.mailboxes.list()[0]).toMatchObject({ receiveVia: 'imap', sendVia: 'smtp', pop3: null });
  });
});
