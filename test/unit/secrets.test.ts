/**
 * Secrets at rest and across boundaries: passwords stored through the
 * engine never reach the disk, mailbox objects, router results or error
 * messages in a readable form; ciphertexts are bound to their owner; the
 * key comes from MAILROOM_SECRET_KEY or an owner-only key file.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { defaultKeyProvider, fileKeyProvider, KEY_FILE, parseSecretKey, PROTECTED_KEY_FILE } from '../../src-main/engine/keys';
import { createMailroomRouter } from '../../src-main/ipc/index';
import { SecretBox, staticKeyProvider } from '../../src-main/store/secret-box';
import { isAppError, type AppError } from '../../src-main/shared/errors';
import { tempDir } from '../helpers/temp';

const open: Mailroom[] = [];
afterEach(() => {
  for (const engine of open.splice(0)) {
    try {
      engine.close();
    } catch {
      // closed by the test already
    }
  }
});

function track(engine: Mailroom): Mailroom {
  open.push(engine);
  return engine;
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
const PASSWORDS = ['Tr0ub4dor&3-correct-horse', 'pässwörd-Ωμέγα-密码-🔑', 'app pass word wxyz abcd'];

/** The forms a password could leak in: UTF-8, UTF-16LE, hex, and base64 at every byte alignment. */
function leakForms(secret: string): Array<[string, Buffer]> {
  const utf8 = Buffer.from(secret, 'utf8');
  const forms: Array<[string, Buffer]> = [
    ['utf8', utf8],
    ['utf16le', Buffer.from(secret, 'utf16le')],
    ['hex', Buffer.from(utf8.toString('hex'))],
    ['HEX', Buffer.from(utf8.toString('hex').toUpperCase())],
  ];
  for (let shift = 0; shift < 3; shift++) {
    // Inside a longer base64 text (AUTH PLAIN carries "\0user\0password") the password can start at any of 3 alignments;
    // the characters that depend on neighbouring bytes are cut off at both ends.
    const text = Buffer.concat([Buffer.alloc(shift), utf8]).toString('base64').replace(/=+$/, '');
    const core = text.slice(shift ? 4 : 0, text.length - 4);
    forms.push([`base64+${shift}`, Buffer.from(core)]);
    forms.push([`base64url+${shift}`, Buffer.from(core.replace(/\+/g, '-').replace(/\//g, '_'))]);
  }
  return forms;
}

/** Every file under a folder, recursively. */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** Every (file, form) where a password is found in the raw bytes. */
function findLeaks(dir: string, secrets: string[]): string[] {
  const found: string[] = [];
  for (const file of filesUnder(dir)) {
    const bytes = fs.readFileSync(file);
    for (const secret of secrets) {
      for (const [form, needle] of leakForms(secret)) {
        if (bytes.includes(needle)) found.push(`${path.basename(file)}: ${form} of "${secret}"`);
      }
    }
  }
  return found;
}

describe('passwords at rest', () => {
  it('never reach any file of the data folder in a readable form (db, -wal, -shm), before and after close', () => {
    const dir = tempDir();
    const engine = track(openMailroom({ dataDir: dir }));
    const ids = PASSWORDS.map((password, i) => engine.mailboxes.create({ name: `Box ${i}`, address: `box${i}@example.com`, ...GENERIC, password }).id);
    // A replaced password must not linger either.
    engine.mailboxes.update({ id: ids[0]!, password: 'replacement-Secret-42' });
    const all = [...PASSWORDS, 'replacement-Secret-42'];

    // Control: the scan does find text that is stored in the clear (here in the WAL, before a checkpoint).
    engine.db.prepare("INSERT INTO app_settings (key, value) VALUES ('control', ?)").run('Clear-Text-Control-Value');
    expect(findLeaks(dir, ['Clear-Text-Control-Value']).length).toBeGreaterThan(0);

    const names = fs.readdirSync(dir);
    // The key file of this platform: DPAPI-wrapped on Windows, owner-only elsewhere.
    expect(names).toEqual(expect.arrayContaining(['mailroom.db', 'mailroom.db-wal', 'mailroom.db-shm', process.platform === 'win32' ? PROTECTED_KEY_FILE : KEY_FILE]));
    expect(findLeaks(dir, all)).toEqual([]);

    engine.close();
    expect(findLeaks(dir, all)).toEqual([]);
    // And yet they are there, readable by the engine with the key.
    const again = track(openMailroom({ dataDir: dir }));
    expect(again.mailboxes.password(ids[0]!)).toBe('replacement-Secret-42');
    expect(again.mailboxes.password(ids[1]!)).toBe(PASSWORDS[1]);
  });

  it('are stored as ciphertext that differs even for equal passwords', () => {
    const engine = track(openMailroom({ dataDir: tempDir(), keyProvider: staticKeyProvider(crypto.randomBytes(32)) }));
    const a = engine.mailboxes.create({ name: 'A', address: 'a@example.com', ...GENERIC, password: 'same-password' });
    const b = engine.mailboxes.create({ name: 'B', address: 'b@example.com', ...GENERIC, password: 'same-password' });
    const rows = engine.db.prepare("SELECT mailbox_id, ciphertext FROM mailbox_secrets WHERE name = 'password' ORDER BY mailbox_id").all() as Array<{ ciphertext: Buffer }>;
    expect(rows).toHaveLength(2);
    expect(Buffer.isBuffer(rows[0]!.ciphertext)).toBe(true);
    expect(rows[0]!.ciphertext.equals(rows[1]!.ciphertext)).toBe(false);
    expect([a.passwordSet, b.passwordSet]).toEqual([true, true]);
  });
});

describe('passwords across boundaries', () => {
  it('are never part of a mailbox object or a list', () => {
    const engine = track(openMailroom({ dataDir: tempDir(), keyProvider: staticKeyProvider(crypto.randomBytes(32)) }));
    const created = engine.mailboxes.create({ name: 'Support', address: 'support@example.com', ...GENERIC, password: PASSWORDS[0] });
    const updated = engine.mailboxes.update({ id: created.id, password: PASSWORDS[1] });
    const values = [created, updated, engine.mailboxes.get(created.id), engine.mailboxes.resolve('Support'), engine.mailboxes.list(), engine.mailboxes.exportSettings()];
    for (const value of values) {
      const text = JSON.stringify(value);
      for (const secret of PASSWORDS) expect(text).not.toContain(secret);
      expect(text).not.toMatch(/"password"\s*:/);
    }
    expect(updated.passwordSet).toBe(true);
  });

  it('are never part of what the router returns', async () => {
    const engine = track(openMailroom({ dataDir: tempDir(), keyProvider: staticKeyProvider(crypto.randomBytes(32)) }));
    const router = createMailroomRouter(engine, { runtime: 'console' });
    const ctx = { transport: 'internal' } as const;
    const created = await router.invoke('mailboxes.create', { name: 'Support', address: 'support@example.com', ...GENERIC, password: PASSWORDS[0] }, ctx);
    expect(created.ok).toBe(true);
    const results = [created, await router.invoke('mailboxes.list', {}, ctx), await router.invoke('mailboxes.exportSettings', {}, ctx)];
    for (const result of results) expect(JSON.stringify(result)).not.toContain(PASSWORDS[0]);
  });

  it('are never echoed in validation errors', async () => {
    const engine = track(openMailroom({ dataDir: tempDir(), keyProvider: staticKeyProvider(crypto.randomBytes(32)) }));
    const router = createMailroomRouter(engine, { runtime: 'console' });
    const secret = 'Echo-Me-Not-7731';
    const attempts = [
      { name: 'Support', address: 'support@example.com', ...GENERIC, password: `${secret}\nsecond line` },
      { name: 'Support', address: 'support@example.com', ...GENERIC, password: secret.repeat(100) },
      { name: 42, address: 'support@example.com', ...GENERIC, password: secret },
      { name: 'Support', address: 'support@example.com', ...GENERIC, password: secret, passwort: secret },
    ];
    for (const payload of attempts) {
      const result = await router.invoke('mailboxes.create', payload, { transport: 'internal' });
      expect(result.ok).toBe(false);
      expect(JSON.stringify(result)).not.toContain(secret);
      const error = catchAppError(() => engine.mailboxes.create(payload));
      expect(JSON.stringify({ ...error.toInfo(), stack: error.stack })).not.toContain(secret);
    }
    expect(engine.mailboxes.list()).toEqual([]);
  });
});

describe('ciphertexts are bound to their owner', () => {
  const key = crypto.randomBytes(32);
  function twoMailboxes() {
    const engine = track(openMailroom({ dataDir: tempDir(), keyProvider: staticKeyProvider(key, 'test key') }));
    const a = engine.mailboxes.create({ name: 'A', address: 'a@example.com', ...GENERIC, password: 'password-of-a' });
    const b = engine.mailboxes.create({ name: 'B', address: 'b@example.com', ...GENERIC, password: 'password-of-b' });
    return { engine, a, b };
  }

  it('a ciphertext copied onto another mailbox\'s row does not open (SECRET_UNREADABLE)', () => {
    const { engine, a, b } = twoMailboxes();
    engine.db
      .prepare("UPDATE mailbox_secrets SET ciphertext = (SELECT ciphertext FROM mailbox_secrets WHERE mailbox_id = ? AND name = 'password') WHERE mailbox_id = ? AND name = 'password'")
      .run(a.id, b.id);
    const error = catchAppError(() => engine.mailboxes.password(b.id));
    expect(error.code).toBe('SECRET_UNREADABLE');
    expect(error.hint).toMatch(/Enter the password again/);
    expect(error.message + error.hint).not.toContain('password-of-a');
    expect(engine.mailboxes.password(a.id)).toBe('password-of-a');
  });

  it('a ciphertext copied onto another secret name of the same mailbox does not open', () => {
    const { engine, a } = twoMailboxes();
    engine.db.prepare("INSERT INTO mailbox_secrets (mailbox_id, name, ciphertext, updated_at) SELECT mailbox_id, 'oauth-token-cache', ciphertext, 0 FROM mailbox_secrets WHERE mailbox_id = ?").run(a.id);
    const box = new SecretBox(staticKeyProvider(key));
    const row = engine.db.prepare("SELECT ciphertext FROM mailbox_secrets WHERE mailbox_id = ? AND name = 'oauth-token-cache'").get(a.id) as { ciphertext: Buffer };
    // Same key, same bytes: it opens only under the name it was sealed for.
    expect(box.open(row.ciphertext, `mailroom/mailbox/${a.id}/password`)).toBe('password-of-a');
    expect(catchAppError(() => box.open(row.ciphertext, `mailroom/mailbox/${a.id}/oauth-token-cache`)).code).toBe('SECRET_UNREADABLE');
  });

  it('a damaged ciphertext does not open', () => {
    const { engine, a } = twoMailboxes();
    const row = engine.db.prepare("SELECT ciphertext FROM mailbox_secrets WHERE mailbox_id = ? AND name = 'password'").get(a.id) as { ciphertext: Buffer };
    const damaged = Buffer.from(row.ciphertext);
    damaged[damaged.length - 1]! ^= 0x01;
    engine.db.prepare("UPDATE mailbox_secrets SET ciphertext = ? WHERE mailbox_id = ? AND name = 'password'").run(damaged, a.id);
    expect(catchAppError(() => engine.mailboxes.password(a.id)).code).toBe('SECRET_UNREADABLE');
    engine.db.prepare("UPDATE mailbox_secrets SET ciphertext = x'0102' WHERE mailbox_id = ? AND name = 'password'").run(a.id);
    expect(catchAppError(() => engine.mailboxes.password(a.id)).code).toBe('SECRET_UNREADABLE');
  });

  it('a data folder opened with another key cannot read its passwords, and says which key it used', () => {
    const dir = tempDir();
    const first = track(openMailroom({ dataDir: dir, keyProvider: staticKeyProvider(crypto.randomBytes(32), 'first key') }));
    const m = first.mailboxes.create({ name: 'A', address: 'a@example.com', ...GENERIC, password: 'moved-folder' });
    first.close();
    const second = track(openMailroom({ dataDir: dir, keyProvider: staticKeyProvider(crypto.randomBytes(32), 'second key') }));
    const error = catchAppError(() => second.mailboxes.password(m.id));
    expect(error.code).toBe('SECRET_UNREADABLE');
    expect(error.hint).toContain('second key');
    // The mailbox itself is still listed; only the secret must be entered again.
    expect(second.mailboxes.get(m.id).passwordSet).toBe(true);
  });
});

describe('MAILROOM_SECRET_KEY', () => {
  const key = crypto.randomBytes(32);

  it.each([
    ['64 hex characters', key.toString('hex')],
    ['64 upper-case hex characters', key.toString('hex').toUpperCase()],
    ['base64', key.toString('base64')],
    ['base64url', key.toString('base64url')],
    ['base64 with spaces and a line break around it', `  ${key.toString('base64')}\r\n`],
  ])('accepts %s', (_label, text) => {
    expect(parseSecretKey(text).equals(key)).toBe(true);
  });

  it.each([
    ['too short', crypto.randomBytes(16).toString('hex')],
    ['too long', crypto.randomBytes(48).toString('base64')],
    ['a pass phrase', 'correct horse battery staple'],
    ['empty', '   '],
  ])('refuses a key that is %s with SECRET_KEY_UNAVAILABLE, without echoing it', (_label, text) => {
    const error = catchAppError(() => parseSecretKey(text));
    expect(error.code).toBe('SECRET_KEY_UNAVAILABLE');
    expect(error.message).toContain('MAILROOM_SECRET_KEY');
    expect(error.hint).toMatch(/randomBytes\(32\)/);
    if (text.trim()) expect(error.message + error.hint).not.toContain(text.trim());
  });

  it('is used instead of a key file, and opens the same secrets in the next run', () => {
    const dir = tempDir();
    const env = { MAILROOM_SECRET_KEY: key.toString('hex') };
    const first = track(openMailroom({ dataDir: dir, keyProvider: defaultKeyProvider(dir, env) }));
    expect(first.keys.source).toBe('MAILROOM_SECRET_KEY');
    const m = first.mailboxes.create({ name: 'A', address: 'a@example.com', ...GENERIC, password: 'from-env-key' });
    first.close();
    expect(fs.existsSync(path.join(dir, KEY_FILE))).toBe(false);
    const second = track(openMailroom({ dataDir: dir, keyProvider: defaultKeyProvider(dir, env) }));
    expect(second.mailboxes.password(m.id)).toBe('from-env-key');
  });

  it('when malformed, fails the first use of a secret, not the listing of mailboxes', () => {
    const dir = tempDir();
    const engine = track(openMailroom({ dataDir: dir, keyProvider: defaultKeyProvider(dir, { MAILROOM_SECRET_KEY: 'nope' }) }));
    expect(engine.mailboxes.list()).toEqual([]);
    const error = catchAppError(() => engine.mailboxes.create({ name: 'A', address: 'a@example.com', ...GENERIC, password: 'x-secret' }));
    expect(error.code).toBe('SECRET_KEY_UNAVAILABLE');
    expect(engine.mailboxes.list()).toEqual([]);
  });
});

describe('the key file', () => {
  it('is created on first use with owner-only permissions and 32 random bytes', () => {
    const dir = path.join(tempDir(), 'not-yet-created');
    const provider = fileKeyProvider(dir);
    expect(provider.source).toContain(KEY_FILE);
    const key = provider.getKey();
    const file = path.join(dir, KEY_FILE);
    expect(key).toHaveLength(32);
    expect(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64').equals(key)).toBe(true);
    if (process.platform !== 'win32') expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('is read back, not replaced, on the next run', () => {
    const dir = tempDir();
    const first = fileKeyProvider(dir).getKey();
    expect(fileKeyProvider(dir).getKey().equals(first)).toBe(true);
  });

  it('when damaged, is refused with SECRET_KEY_UNAVAILABLE and left as it is', () => {
    const dir = tempDir();
    const file = path.join(dir, KEY_FILE);
    fs.writeFileSync(file, 'c2hvcnQ=\n');
    const error = catchAppError(() => fileKeyProvider(dir).getKey());
    expect(error.code).toBe('SECRET_KEY_UNAVAILABLE');
    expect(error.message).toContain(file);
    expect(error.hint).toMatch(/backup/);
    expect(fs.readFileSync(file, 'utf8')).toBe('c2hvcnQ=\n');
  });
});
