/**
 * One data key for every surface of the same user (issue 12, item 7).
 *
 * A secret stored through each key provider (the desktop app's, the CLI's,
 * the browser console's) is read through each other one: in a fresh data
 * folder, in one where the CLI came first (plain `secret.key`), one where an
 * older desktop app came first (`secret.key.safe`), and one that both made a
 * key in. Electron is stubbed at the safeStorage boundary only (the app's
 * real module runs); DPAPI is the injected protector: on Windows the real
 * `@primno/dpapi`, elsewhere a stand-in that, like DPAPI, opens only what
 * was wrapped for the same user. Also: no plain key file once set up, a
 * wrong or damaged wrapped key is an error and never a new key, and two
 * processes that start at once end with one key.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { dataKeyProvider, defaultKeyProvider, KEY_FILE, KEY_LOCK_FILE, PROTECTED_KEY_FILE, SAFE_STORAGE_KEY_FILE, type KeyProtector } from '../../src-main/engine/keys';
import { DPAPI_PROTECTION, dpapiProtector, platformKeyProtector } from '../../src-main/engine/dpapi';
import { formatPlainRing, formatProtectedFile, packRing } from '../../src-main/engine/key-files';
import { staticKeyProvider, type KeyProvider } from '../../src-main/store/secret-box';
import { isAppError, type AppError } from '../../src-main/shared/errors';
import { tempDir } from '../helpers/temp';

// ---- Electron, stubbed at the safeStorage boundary only ----

/** Chromium's OSCrypt format on Windows ("v10", 12-byte nonce, AES-256-GCM, tag), under a key of one user. */
function fakeSafeStorage(user: string, available = true) {
  const key = crypto.createHash('sha256').update(`safeStorage of ${user}`).digest();
  return {
    isEncryptionAvailable: vi.fn(() => available),
    encryptString(text: string): Buffer {
      const nonce = crypto.randomBytes(12);
      const cipher = crypto.createCipheriv('aes-256-gcm', key, nonce);
      const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
      return Buffer.concat([Buffer.from('v10'), nonce, body, cipher.getAuthTag()]);
    },
    decryptString: vi.fn((encrypted: Buffer): string => {
      try {
        if (encrypted.subarray(0, 3).toString() !== 'v10') throw new Error('bad prefix');
        const nonce = encrypted.subarray(3, 15);
        const decipher = crypto.createDecipheriv('aes-256-gcm', key, nonce);
        decipher.setAuthTag(encrypted.subarray(encrypted.length - 16));
        return Buffer.concat([decipher.update(encrypted.subarray(15, encrypted.length - 16)), decipher.final()]).toString('utf8');
      } catch {
        // Electron's own words when safeStorage cannot decrypt.
        throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
      }
    }),
  };
}

const electron = vi.hoisted(() => ({ safeStorage: undefined as unknown }));
vi.mock('electron', () => ({
  get safeStorage() {
    return electron.safeStorage;
  },
}));
// Imported after the mock: the app's real key module over the stubbed safeStorage.
const { appKeyProvider } = await import('../../src-main/app/app-key');

// ---- DPAPI: the real module on Windows, a stand-in elsewhere ----

/** Like DPAPI (CurrentUser): authenticated, and only the same user unwraps. */
function testProtector(user: string): KeyProtector {
  const key = crypto.createHash('sha256').update(`dpapi master key of ${user}`).digest();
  return {
    id: DPAPI_PROTECTION,
    description: `test DPAPI of ${user}`,
    protect(data) {
      const iv = crypto.randomBytes(12);
      const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(data), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]);
    },
    unprotect(wrapped) {
      const decipher = crypto.createDecipheriv('aes-256-gcm', key, wrapped.subarray(0, 12));
      decipher.setAuthTag(wrapped.subarray(12, 28));
      try {
        return Buffer.concat([decipher.update(wrapped.subarray(28)), decipher.final()]);
      } catch {
        throw new Error('The data is invalid.');
      }
    },
  };
}

const ON_WINDOWS = process.platform === 'win32';
/** The protector of "this Windows user". */
const USER: KeyProtector = ON_WINDOWS ? dpapiProtector() : testProtector('alice');

// ---- the three surfaces ----

type Surface = 'desktop app' | 'CLI' | 'browser console';
const SURFACES: Surface[] = ['desktop app', 'CLI', 'browser console'];

/** The provider each surface builds: the app its own module; the CLI and the console the engine's default, as openMailroom does for them. */
function providerOf(surface: Surface, dataDir: string, protector: KeyProtector | null = USER): KeyProvider {
  if (surface === 'desktop app') return appKeyProvider(dataDir, { env: {}, protector });
  return dataKeyProvider({ dataDir, env: {}, protector });
}

const GENERIC = { preset: 'generic', imap: { host: 'imap.example.com' }, smtp: { host: 'smtp.example.com' } } as const;
const open: Mailroom[] = [];
afterEach(() => {
  for (const engine of open.splice(0)) engine.close();
});

function engineOf(dataDir: string, keyProvider: KeyProvider): Mailroom {
  const engine = openMailroom({ dataDir, keyProvider });
  open.push(engine);
  return engine;
}

/** Stores a password through a provider (as that surface would) and returns the mailbox id. */
function store(dataDir: string, provider: KeyProvider, name: string, password: string): number {
  const engine = engineOf(dataDir, provider);
  const id = engine.mailboxes.create({ name, address: `${name.toLowerCase().replace(/\W+/g, '-')}@example.com`, ...GENERIC, password }).id;
  engine.close();
  open.splice(open.indexOf(engine), 1);
  return id;
}

function read(dataDir: string, provider: KeyProvider, id: number): string | undefined {
  const engine = engineOf(dataDir, provider);
  const password = engine.mailboxes.password(id);
  engine.close();
  open.splice(open.indexOf(engine), 1);
  return password;
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

function keyFiles(dataDir: string): string[] {
  return fs.readdirSync(dataDir).filter((f) => f.startsWith('secret.key')).sort();
}

function snapshot(dataDir: string): Record<string, string> {
  return Object.fromEntries(keyFiles(dataDir).map((f) => [f, fs.readFileSync(path.join(dataDir, f)).toString('base64')]));
}

// ---- data folders as older versions left them ----

/** The CLI came first: a plain `secret.key` (one base64 line) and a password sealed with it. */
function cliFirstFolder(): { dir: string; key: Buffer; id: number } {
  const dir = tempDir();
  const key = crypto.randomBytes(32);
  fs.writeFileSync(path.join(dir, KEY_FILE), key.toString('base64') + '\n', { mode: 0o600 });
  const id = store(dir, staticKeyProvider(key, 'old CLI'), 'From old CLI', 'password-from-old-cli');
  return { dir, key, id };
}

/** An older desktop app came first: `secret.key.safe` (safeStorage over the key as base64) and a password sealed with it. */
function appFirstFolder(): { dir: string; key: Buffer; id: number } {
  const dir = tempDir();
  const key = crypto.randomBytes(32);
  fs.writeFileSync(path.join(dir, SAFE_STORAGE_KEY_FILE), fakeSafeStorage('alice').encryptString(key.toString('base64')));
  const id = store(dir, staticKeyProvider(key, 'old app'), 'From old app', 'password-from-old-app');
  return { dir, key, id };
}

/** The bug of issue 12: the app came first, then the CLI made its own `secret.key` and stored a password with it. */
function bothFolder(): { dir: string; appKey: Buffer; cliKey: Buffer; appId: number; cliId: number } {
  const { dir, key: appKey, id: appId } = appFirstFolder();
  const cliKey = crypto.randomBytes(32);
  fs.writeFileSync(path.join(dir, KEY_FILE), cliKey.toString('base64') + '\n', { mode: 0o600 });
  const cliId = store(dir, staticKeyProvider(cliKey, 'old CLI'), 'From old CLI', 'password-from-old-cli');
  return { dir, appKey, cliKey, appId, cliId };
}

beforeEach(() => {
  electron.safeStorage = fakeSafeStorage('alice');
});

describe('one key for the desktop app, the CLI and the browser console', () => {
  describe.each(SURFACES)('a fresh data folder first opened by the %s', (first) => {
    it.each(SURFACES)('holds a password the %s stores, readable by every surface', (writer) => {
      const dir = tempDir();
      const opener = store(dir, providerOf(first, dir), 'Opener', `opened-by-${first}`);
      const id = store(dir, providerOf(writer, dir), 'Written', `written-by-${writer}`);
      for (const reader of SURFACES) {
        expect(read(dir, providerOf(reader, dir), id), `${writer} -> ${reader}`).toBe(`written-by-${writer}`);
        expect(read(dir, providerOf(reader, dir), opener), `${first} -> ${reader}`).toBe(`opened-by-${first}`);
      }
      // One wrapped key, no plain key file, no leftovers.
      expect(keyFiles(dir)).toEqual([PROTECTED_KEY_FILE]);
      expect(fs.readFileSync(path.join(dir, PROTECTED_KEY_FILE), 'utf8')).toMatch(/"protection": "dpapi-current-user"/);
    });
  });

  describe.each(SURFACES)('a folder where the CLI came first (plain secret.key), opened by the %s', (first) => {
    it('wraps the same key, removes the plain file, and every surface reads old and new passwords', () => {
      const { dir, key, id: oldId } = cliFirstFolder();
      const provider = providerOf(first, dir);
      expect(provider.getKey().equals(key)).toBe(true);
      expect(keyFiles(dir)).toEqual([PROTECTED_KEY_FILE]);
      const newIds = SURFACES.map((writer) => [writer, store(dir, providerOf(writer, dir), `New ${writer}`, `new-from-${writer}`)] as const);
      for (const reader of SURFACES) {
        expect(read(dir, providerOf(reader, dir), oldId), reader).toBe('password-from-old-cli');
        for (const [writer, id] of newIds) expect(read(dir, providerOf(reader, dir), id), `${writer} -> ${reader}`).toBe(`new-from-${writer}`);
      }
      expect(keyFiles(dir)).toEqual([PROTECTED_KEY_FILE]);
    });
  });

  describe('a folder where an older desktop app came first (secret.key.safe)', () => {
    it('the desktop app moves the key into secret.key.dpapi; then every surface reads old and new passwords', () => {
      const { dir, key, id: oldId } = appFirstFolder();
      expect(providerOf('desktop app', dir).getKey().equals(key)).toBe(true);
      expect(keyFiles(dir)).toEqual([PROTECTED_KEY_FILE]);
      const newIds = SURFACES.map((writer) => [writer, store(dir, providerOf(writer, dir), `New ${writer}`, `new-from-${writer}`)] as const);
      for (const reader of SURFACES) {
        expect(read(dir, providerOf(reader, dir), oldId), reader).toBe('password-from-old-app');
        for (const [writer, id] of newIds) expect(read(dir, providerOf(reader, dir), id), `${writer} -> ${reader}`).toBe(`new-from-${writer}`);
      }
    });

    it.each(['CLI', 'browser console'] as const)('the %s first says to open the desktop app once (SECRET_KEY_NEEDS_APP), changes nothing and makes no key', (surface) => {
      const { dir, id } = appFirstFolder();
      const before = snapshot(dir);
      const engine = engineOf(dir, providerOf(surface, dir));
      // Listing needs no key; reading a secret does.
      expect(engine.mailboxes.list()).toHaveLength(1);
      const error = catchAppError(() => engine.mailboxes.password(id));
      expect(error.code).toBe('SECRET_KEY_NEEDS_APP');
      expect(error.message).toContain(SAFE_STORAGE_KEY_FILE);
      expect(error.hint).toMatch(/Open the Mailroom desktop app once/);
      expect(error.hint).toContain(dir);
      // Storing is refused the same way: nothing is sealed with a key the app would not use.
      expect(catchAppError(() => engine.mailboxes.create({ name: 'X', address: 'x@example.com', ...GENERIC, password: 'x' })).code).toBe('SECRET_KEY_NEEDS_APP');
      expect(snapshot(dir)).toEqual(before);
      // Then the app opens once, and the same surface reads it.
      providerOf('desktop app', dir).getKey();
      expect(read(dir, providerOf(surface, dir), id)).toBe('password-from-old-app');
    });

    it('stays as it is when safeStorage cannot open it (another user): SECRET_KEY_UNAVAILABLE, no new key', () => {
      const { dir, id } = appFirstFolder();
      electron.safeStorage = fakeSafeStorage('mallory');
      const before = snapshot(dir);
      const engine = engineOf(dir, providerOf('desktop app', dir));
      const error = catchAppError(() => engine.mailboxes.password(id));
      expect(error.code).toBe('SECRET_KEY_UNAVAILABLE');
      expect(error.hint).toMatch(/user who set it up/);
      expect(snapshot(dir)).toEqual(before);
    });

    it('stays as it is when safeStorage is not available: SECRET_KEY_UNAVAILABLE, no new key', () => {
      const { dir } = appFirstFolder();
      electron.safeStorage = fakeSafeStorage('alice', false);
      const before = snapshot(dir);
      expect(catchAppError(() => providerOf('desktop app', dir).getKey()).code).toBe('SECRET_KEY_UNAVAILABLE');
      expect(snapshot(dir)).toEqual(before);
    });
  });

  describe('a folder with both keys (the app came first, then the CLI made its own)', () => {
    it('the desktop app keeps both, wrapped together: every surface reads the passwords of both, new ones use the app\'s key', () => {
      const { dir, appKey, cliKey, appId, cliId } = bothFolder();
      const app = providerOf('desktop app', dir);
      expect(app.getKey().equals(appKey)).toBe(true);
      expect(app.retiredKeys?.().map((k) => k.toString('hex'))).toEqual([cliKey.toString('hex')]);
      expect(keyFiles(dir)).toEqual([PROTECTED_KEY_FILE]);
      const newId = store(dir, providerOf('CLI', dir), 'New', 'new-after-merge');
      for (const reader of SURFACES) {
        expect(read(dir, providerOf(reader, dir), appId), reader).toBe('password-from-old-app');
        expect(read(dir, providerOf(reader, dir), cliId), reader).toBe('password-from-old-cli');
        expect(read(dir, providerOf(reader, dir), newId), reader).toBe('new-after-merge');
      }
      // New secrets are sealed with the current key alone.
      expect(read(dir, staticKeyProvider(appKey), newId)).toBe('new-after-merge');
    });

    it('the CLI first does not take the plain key over (the app\'s secrets would be lost): SECRET_KEY_NEEDS_APP', () => {
      const { dir } = bothFolder();
      const before = snapshot(dir);
      expect(catchAppError(() => providerOf('CLI', dir).getKey()).code).toBe('SECRET_KEY_NEEDS_APP');
      expect(snapshot(dir)).toEqual(before);
    });
  });

  describe('older key files that turn up after the move', () => {
    it('a plain secret.key made later by an older CLI is merged into secret.key.dpapi and removed', () => {
      const dir = tempDir();
      const key = providerOf('CLI', dir).getKey();
      const stray = crypto.randomBytes(32);
      fs.writeFileSync(path.join(dir, KEY_FILE), stray.toString('base64') + '\n');
      const id = store(dir, staticKeyProvider(stray), 'Stray', 'sealed-by-older-cli');
      const provider = providerOf('browser console', dir);
      expect(provider.getKey().equals(key)).toBe(true);
      expect(keyFiles(dir)).toEqual([PROTECTED_KEY_FILE]);
      for (const reader of SURFACES) expect(read(dir, providerOf(reader, dir), id), reader).toBe('sealed-by-older-cli');
    });

    it('a plain secret.key equal to the wrapped key (a crash before its removal) is removed', () => {
      const { dir, key } = cliFirstFolder();
      const provider = providerOf('CLI', dir);
      provider.getKey();
      fs.writeFileSync(path.join(dir, KEY_FILE), key.toString('base64') + '\n');
      expect(providerOf('CLI', dir).getKey().equals(key)).toBe(true);
      expect(keyFiles(dir)).toEqual([PROTECTED_KEY_FILE]);
      expect(providerOf('CLI', dir).retiredKeys?.()).toEqual([]);
    });

    it('secret.key.safe beside secret.key.dpapi is left to the app by the CLI, and named in the key source', () => {
      const { dir, key } = cliFirstFolder();
      providerOf('CLI', dir).getKey();
      const appKey = crypto.randomBytes(32);
      fs.writeFileSync(path.join(dir, SAFE_STORAGE_KEY_FILE), fakeSafeStorage('alice').encryptString(appKey.toString('base64')));
      const cli = providerOf('CLI', dir);
      expect(cli.getKey().equals(key)).toBe(true);
      expect(cli.source).toMatch(/secret\.key\.safe of an older desktop app is not merged yet: open the desktop app once/);
      expect(keyFiles(dir)).toEqual([PROTECTED_KEY_FILE, SAFE_STORAGE_KEY_FILE]);
      const app = providerOf('desktop app', dir);
      expect(app.getKey().equals(key)).toBe(true);
      expect(app.retiredKeys?.()[0]?.equals(appKey)).toBe(true);
      expect(keyFiles(dir)).toEqual([PROTECTED_KEY_FILE]);
    });

    it('leaves the files to another live process that holds the merge lock, yet opens what the older key sealed', () => {
      const dir = tempDir();
      providerOf('CLI', dir).getKey();
      const stray = crypto.randomBytes(32);
      fs.writeFileSync(path.join(dir, KEY_FILE), stray.toString('base64') + '\n');
      const id = store(dir, staticKeyProvider(stray), 'Stray', 'sealed-by-older-cli');
      // The test runner's parent is alive: it stands for a Mailroom merging right now.
      fs.writeFileSync(path.join(dir, KEY_LOCK_FILE), `${process.ppid}\n`);
      const before = snapshot(dir);
      const provider = providerOf('CLI', dir);
      expect(read(dir, provider, id)).toBe('sealed-by-older-cli');
      expect(provider.source).toMatch(/wait for another Mailroom/);
      expect(snapshot(dir)).toEqual(before);
    });

    it('opens what the older key sealed even when its merge cannot be written now, and merges at the next start', () => {
      const dir = tempDir();
      providerOf('CLI', dir).getKey();
      const stray = crypto.randomBytes(32);
      fs.writeFileSync(path.join(dir, KEY_FILE), stray.toString('base64') + '\n');
      const id = store(dir, staticKeyProvider(stray), 'Stray', 'sealed-by-older-cli');
      const before = snapshot(dir);
      // Wrapping the merged ring fails (a locked-down profile, say): the key file must stay as it was.
      const failing: KeyProtector = { ...USER, protect: () => { throw new Error('The system cannot find the file specified.'); } };
      const provider = dataKeyProvider({ dataDir: dir, env: {}, protector: failing });
      expect(read(dir, provider, id)).toBe('sealed-by-older-cli');
      expect(provider.source).toMatch(/could not be merged yet/);
      expect(snapshot(dir)).toEqual(before);
      expect(read(dir, providerOf('CLI', dir), id)).toBe('sealed-by-older-cli');
      expect(keyFiles(dir)).toEqual([PROTECTED_KEY_FILE]);
    });

    it('takes over a merge lock left by a process that died', () => {
      const dir = tempDir();
      providerOf('CLI', dir).getKey();
      const stray = crypto.randomBytes(32);
      fs.writeFileSync(path.join(dir, KEY_FILE), stray.toString('base64') + '\n');
      fs.writeFileSync(path.join(dir, KEY_LOCK_FILE), '2147483646\n');
      const provider = providerOf('CLI', dir);
      provider.getKey();
      expect(provider.retiredKeys?.()[0]?.equals(stray)).toBe(true);
      expect(keyFiles(dir)).toEqual([PROTECTED_KEY_FILE]);
    });
  });

  describe('a key that cannot be read is an error, never a new key', () => {
    it('secret.key.dpapi of another Windows user: SECRET_KEY_UNAVAILABLE with what to do; the file is kept', () => {
      const dir = tempDir();
      const id = store(dir, providerOf('desktop app', dir), 'A', 'alice-only');
      const before = snapshot(dir);
      for (const surface of SURFACES) {
        const engine = engineOf(dir, providerOf(surface, dir, testProtector('mallory')));
        const error = catchAppError(() => engine.mailboxes.password(id));
        expect(error.code, surface).toBe('SECRET_KEY_UNAVAILABLE');
        expect(error.message).toContain('cannot be unlocked by this Windows user');
        expect(error.hint).toMatch(/Windows user who set it up/);
        expect(error.hint).toMatch(/Do not store password/);
        expect(catchAppError(() => engine.mailboxes.create({ name: 'B', address: 'b@example.com', ...GENERIC, password: 'b' })).code).toBe('SECRET_KEY_UNAVAILABLE');
      }
      expect(snapshot(dir)).toEqual(before);
      expect(read(dir, providerOf('CLI', dir), id)).toBe('alice-only');
    });

    it.each([
      ['not JSON', 'garbage\n'],
      ['another format', JSON.stringify({ format: 'something-else', version: 1 })],
      ['wrapped bytes that are not whole keys', formatProtectedFile(DPAPI_PROTECTION, USER.protect(Buffer.alloc(40)))],
    ])('a damaged secret.key.dpapi (%s): SECRET_KEY_UNAVAILABLE, left as it is', (_label, text) => {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, PROTECTED_KEY_FILE), text);
      for (const surface of SURFACES) {
        const error = catchAppError(() => providerOf(surface, dir).getKey());
        expect(error.code).toBe('SECRET_KEY_UNAVAILABLE');
        expect(error.message).toContain('is damaged');
        expect(error.hint).toMatch(/backup/);
      }
      expect(fs.readFileSync(path.join(dir, PROTECTED_KEY_FILE), 'utf8')).toBe(text);
      expect(keyFiles(dir)).toEqual([PROTECTED_KEY_FILE]);
    });

    it('a key file wrapped by another protector is refused by name', () => {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, PROTECTED_KEY_FILE), formatProtectedFile('keychain', Buffer.alloc(64)));
      const error = catchAppError(() => providerOf('CLI', dir).getKey());
      expect(error.code).toBe('SECRET_KEY_UNAVAILABLE');
      expect(error.message).toContain('"keychain"');
    });

    it('a damaged plain secret.key from the CLI is not replaced: SECRET_KEY_UNAVAILABLE, nothing written', () => {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, KEY_FILE), 'c2hvcnQ=\n');
      for (const surface of SURFACES) expect(catchAppError(() => providerOf(surface, dir).getKey()).code).toBe('SECRET_KEY_UNAVAILABLE');
      expect(keyFiles(dir)).toEqual([KEY_FILE]);
    });

    it('keeps the plain key file when the wrapped copy does not read back as written', () => {
      const { dir } = cliFirstFolder();
      const liar: KeyProtector = { ...testProtector('alice'), unprotect: (w) => Buffer.alloc(32, w.length % 256) };
      const error = catchAppError(() => dataKeyProvider({ dataDir: dir, env: {}, protector: liar }).getKey());
      expect(error.code).toBe('SECRET_KEY_UNAVAILABLE');
      expect(error.message).toMatch(/does not read back/);
      expect(keyFiles(dir)).toContain(KEY_FILE);
    });
  });

  describe('two processes starting at once end with one key', () => {
    it('when the other one writes its key first, this one uses that key', () => {
      const dir = tempDir();
      let other: Buffer | undefined;
      // While this process wraps its new key, another one (the console, say) creates the key file.
      const racing: KeyProtector = {
        ...USER,
        protect(data) {
          other ??= providerOf('browser console', dir).getKey();
          return USER.protect(data);
        },
      };
      const mine = dataKeyProvider({ dataDir: dir, env: {}, protector: racing }).getKey();
      expect(other).toBeDefined();
      expect(mine.equals(other!)).toBe(true);
      expect(keyFiles(dir)).toEqual([PROTECTED_KEY_FILE]);
      expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    });

    it('when both take over the same plain secret.key at once, both end with it and it is gone', () => {
      const { dir, key, id } = cliFirstFolder();
      let other: Buffer | undefined;
      const racing: KeyProtector = {
        ...USER,
        protect(data) {
          other ??= providerOf('desktop app', dir).getKey();
          return USER.protect(data);
        },
      };
      expect(dataKeyProvider({ dataDir: dir, env: {}, protector: racing }).getKey().equals(key)).toBe(true);
      expect(other?.equals(key)).toBe(true);
      expect(keyFiles(dir)).toEqual([PROTECTED_KEY_FILE]);
      expect(read(dir, providerOf('CLI', dir), id)).toBe('password-from-old-cli');
    });
  });

  describe('MAILROOM_SECRET_KEY', () => {
    it('overrides the folder\'s key on every surface, and takes nothing over', () => {
      const { dir } = cliFirstFolder();
      const key = crypto.randomBytes(32);
      const env = { MAILROOM_SECRET_KEY: key.toString('hex') };
      const app = appKeyProvider(dir, { env, protector: USER });
      expect(app.source).toBe('MAILROOM_SECRET_KEY');
      expect(app.getKey().equals(key)).toBe(true);
      expect(defaultKeyProvider(dir, env).getKey().equals(key)).toBe(true);
      expect(keyFiles(dir)).toEqual([KEY_FILE]);
    });
  });
});

describe('off Windows: an owner-only key file for every surface', () => {
  it('is the platform default there (no protector), DPAPI on Windows', () => {
    expect(platformKeyProtector('linux')).toBeUndefined();
    expect(platformKeyProtector('darwin')).toBeUndefined();
    expect(platformKeyProtector('win32')?.id).toBe(DPAPI_PROTECTION);
  });

  it.each(SURFACES)('a password the %s stores is read by every surface, through secret.key (0600)', (writer) => {
    const dir = tempDir();
    const id = store(dir, providerOf(writer, dir, null), 'Plain', `plain-${writer}`);
    for (const reader of SURFACES) expect(read(dir, providerOf(reader, dir, null), id), reader).toBe(`plain-${writer}`);
    expect(keyFiles(dir)).toEqual([KEY_FILE]);
    if (!ON_WINDOWS) expect(fs.statSync(path.join(dir, KEY_FILE)).mode & 0o777).toBe(0o600);
  });

  it('the desktop app moves an older app\'s secret.key.safe into secret.key, keeping a CLI key beside it as retired', () => {
    const { dir, appKey, cliKey, appId, cliId } = bothFolder();
    const cli = providerOf('CLI', dir, null);
    // Before the app ran: the CLI keeps working with its own key and names what is left.
    expect(cli.getKey().equals(cliKey)).toBe(true);
    expect(cli.source).toMatch(/open the desktop app once/);
    providerOf('desktop app', dir, null).getKey();
    expect(keyFiles(dir)).toEqual([KEY_FILE]);
    for (const reader of SURFACES) {
      expect(read(dir, providerOf(reader, dir, null), appId), reader).toBe('password-from-old-app');
      expect(read(dir, providerOf(reader, dir, null), cliId), reader).toBe('password-from-old-cli');
    }
    expect(fs.readFileSync(path.join(dir, KEY_FILE), 'utf8')).toBe(formatPlainRing({ current: cliKey, retired: [appKey] }));
  });

  it('the CLI meeting only secret.key.safe says to open the desktop app once, and makes no key', () => {
    const { dir } = appFirstFolder();
    expect(catchAppError(() => providerOf('CLI', dir, null).getKey()).code).toBe('SECRET_KEY_NEEDS_APP');
    expect(keyFiles(dir)).toEqual([SAFE_STORAGE_KEY_FILE]);
  });
});

describe('the DPAPI protector', () => {
  it.runIf(ON_WINDOWS)('wraps for the current user with Mailroom\'s entropy and unwraps the same bytes (real @primno/dpapi)', () => {
    const data = crypto.randomBytes(64);
    const wrapped = dpapiProtector().protect(data);
    expect(wrapped.includes(data)).toBe(false);
    expect(dpapiProtector().unprotect(wrapped).equals(data)).toBe(true);
  });

  it('says clearly when the native module has no build for this system', () => {
    const protector = dpapiProtector(() => ({ isPlatformSupported: false, Dpapi: {} as never }));
    const error = catchAppError(() => protector.protect(Buffer.alloc(32)));
    expect(error.code).toBe('SECRET_KEY_UNAVAILABLE');
    expect(error.message).toMatch(/DPAPI.*no build for/);
    expect(error.hint).toMatch(/MAILROOM_SECRET_KEY/);
  });

  it('says clearly when the native module does not load', () => {
    const protector = dpapiProtector(() => {
      throw new Error('No native build was found for platform=win32 arch=ia32 runtime=node abi=115');
    });
    const error = catchAppError(() => protector.unprotect(Buffer.alloc(32)));
    expect(error.code).toBe('SECRET_KEY_UNAVAILABLE');
    expect(error.message).toContain('did not load (No native build was found');
  });

  it('is what @primno/dpapi reports on this platform (the package loads everywhere; DPAPI only on Windows)', async () => {
    const module = (await import('@primno/dpapi')) as unknown as { isPlatformSupported: boolean };
    expect(module.isPlatformSupported).toBe(ON_WINDOWS);
  });

  it('the wrapped file holds no key in any readable form', () => {
    const dir = tempDir();
    const key = providerOf('CLI', dir).getKey();
    const bytes = fs.readFileSync(path.join(dir, PROTECTED_KEY_FILE));
    for (const form of [key, Buffer.from(key.toString('base64')), Buffer.from(key.toString('hex')), packRing({ current: key, retired: [] })]) {
      expect(bytes.includes(form)).toBe(false);
    }
  });
});
