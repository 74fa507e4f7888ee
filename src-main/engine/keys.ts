/**
 * The data key: one 32-byte key per data folder that seals every stored
 * secret, the same for the desktop app, the CLI and the browser console of
 * the same user.
 *
 * - `MAILROOM_SECRET_KEY` (64 hex characters or base64) overrides everything.
 * - On Windows the key is wrapped with DPAPI for the current user in
 *   `secret.key.dpapi`; no plain key file remains once it exists.
 * - Elsewhere (Linux and macOS development machines) it is the owner-only
 *   file `secret.key`.
 *
 * Older data folders are taken over on first use: a plain `secret.key` (the
 * CLI came first) is wrapped, checked to read back, then removed; a
 * `secret.key.safe` (an older desktop app wrapped it with Electron
 * safeStorage) is opened by the desktop app, which passes safeStorage in,
 * and moved the same way. If a folder ended up with two keys (the app's and
 * one the CLI made), both are kept, wrapped together: the first seals new
 * secrets, the other still opens what it sealed. A key that exists but
 * cannot be read is an error (SECRET_KEY_UNAVAILABLE), never a reason to make
 * a new one: that would orphan every stored secret.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { AppError } from '../shared/errors.js';
import type { KeyProvider } from '../store/secret-box.js';
import { platformKeyProtector, type KeyProtector } from './dpapi.js';
import {
  createFileExclusive,
  formatPlainRing,
  formatProtectedFile,
  KEY_BYTES,
  packRing,
  parsePlainRing,
  parseProtectedFile,
  readIfExists,
  removeQuietly,
  replaceFileAtomically,
  ringHolds,
  ringKeys,
  sameRing,
  unpackRing,
  withRetired,
  type KeyRing,
} from './key-files.js';

export type { KeyProtector } from './dpapi.js';
export type { KeyRing } from './key-files.js';

/** The owner-only key file (off Windows), and the plain key file older versions wrote everywhere. */
export const KEY_FILE = 'secret.key';
/** The key ring wrapped with DPAPI for the current Windows user. */
export const PROTECTED_KEY_FILE = 'secret.key.dpapi';
/** Where older desktop apps kept the key, wrapped with Electron safeStorage. */
export const SAFE_STORAGE_KEY_FILE = 'secret.key.safe';
/** Held while a process merges an older key file into an existing ring. */
export const KEY_LOCK_FILE = 'secret.key.lock';

/** The part of Electron's safeStorage the desktop app passes in, to take over `secret.key.safe`. */
export interface LegacySafeStorage {
  isEncryptionAvailable(): boolean;
  decryptString(encrypted: Buffer): string;
}

/** Where a data folder's key provider looks, and what it may use. */
export interface DataKeyOptions {
  dataDir: string;
  /** Where MAILROOM_SECRET_KEY is read. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** undefined: this platform's (DPAPI on Windows, none elsewhere); null: none, an owner-only key file. */
  protector?: KeyProtector | null;
  /** Only the desktop app has it: Electron safeStorage, to open `secret.key.safe` of an older app. */
  safeStorage?: LegacySafeStorage;
}

/** Parses MAILROOM_SECRET_KEY: 64 hex characters or base64 of 32 bytes. */
export function parseSecretKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== KEY_BYTES) {
    throw new AppError('SECRET_KEY_UNAVAILABLE', 'MAILROOM_SECRET_KEY must be 32 bytes, written as 64 hex characters or as base64.', {
      hint: 'Generate one with: node -e "console.log(require(\'crypto\').randomBytes(32).toString(\'hex\'))"',
    });
  }
  return key;
}

/**
 * The data key of a folder, for every surface: the desktop app passes
 * `safeStorage`, the CLI and the browser console do not. The key is found
 * (or made) on first use, so listing mailboxes never needs it.
 */
export function dataKeyProvider(options: DataKeyOptions): KeyProvider {
  const envKey = (options.env ?? process.env).MAILROOM_SECRET_KEY;
  if (envKey) {
    let key: Buffer | undefined;
    return { source: 'MAILROOM_SECRET_KEY', getKey: () => (key ??= parseSecretKey(envKey)) };
  }
  const protector = options.protector === undefined ? platformKeyProtector() : (options.protector ?? undefined);
  const store = new DataKeyStore(options.dataDir, protector, options.safeStorage);
  let ring: KeyRing | undefined;
  const resolve = () => (ring ??= store.resolve());
  return {
    get source() {
      return store.describe();
    },
    getKey: () => resolve().current,
    retiredKeys: () => resolve().retired,
  };
}

/** The provider of the CLI and the browser console: MAILROOM_SECRET_KEY if set, else the folder's key (DPAPI on Windows). */
export function defaultKeyProvider(dataDir: string, env: NodeJS.ProcessEnv = process.env): KeyProvider {
  return dataKeyProvider({ dataDir, env });
}

/** The owner-only key file of a folder, whatever the platform (what every surface uses off Windows). */
export function fileKeyProvider(dataDir: string): KeyProvider {
  return dataKeyProvider({ dataDir, env: {}, protector: null });
}

const RESOLVE_ATTEMPTS = 5;

/** Finds, makes or takes over the key ring of one data folder. */
class DataKeyStore {
  private readonly plainFile: string;
  private readonly protectedFile: string;
  private readonly safeFile: string;
  private readonly lockFile: string;
  /** Things left for later, shown with the key source (and so in SECRET_UNREADABLE hints). */
  private readonly notes = new Set<string>();

  constructor(
    dataDir: string,
    private readonly protector: KeyProtector | undefined,
    private readonly safeStorage: LegacySafeStorage | undefined,
  ) {
    this.plainFile = path.join(dataDir, KEY_FILE);
    this.protectedFile = path.join(dataDir, PROTECTED_KEY_FILE);
    this.safeFile = path.join(dataDir, SAFE_STORAGE_KEY_FILE);
    this.lockFile = path.join(dataDir, KEY_LOCK_FILE);
  }

  /** Where the key lives, for people: never the key itself. */
  describe(): string {
    const base = this.protector ? `${this.protector.description} in ${this.protectedFile}` : `key file ${this.plainFile}`;
    return [base, ...this.notes].join('; ');
  }

  private get targetFile(): string {
    return this.protector ? this.protectedFile : this.plainFile;
  }

  resolve(): KeyRing {
    for (let attempt = 0; attempt < RESOLVE_ATTEMPTS; attempt++) {
      const existing = this.readTarget();
      if (existing) return this.absorbOlderKeys(existing);
      const ring = this.firstRing();
      // Another process may be doing the same right now: exactly one file wins, the others read it.
      if (!this.createTarget(ring)) continue;
      this.verifyTarget(ring);
      this.removeOlderFiles(ring);
      return ring;
    }
    throw new AppError('SECRET_KEY_UNAVAILABLE', `The key file ${this.targetFile} keeps disappearing while Mailroom starts.`, {
      hint: 'Another program (a sync or cleanup tool?) removes files from the data folder. Exclude the folder from it and start again.',
    });
  }

  // ---- the target file: secret.key.dpapi on Windows, secret.key elsewhere ----

  private readTarget(): KeyRing | undefined {
    return this.protector ? this.readProtected(this.protector) : this.readPlain(this.plainFile);
  }

  private createTarget(ring: KeyRing): boolean {
    return createFileExclusive(this.targetFile, this.formatTarget(ring));
  }

  private formatTarget(ring: KeyRing): string {
    return this.protector ? formatProtectedFile(this.protector.id, this.protector.protect(packRing(ring))) : formatPlainRing(ring);
  }

  /** Reads back what was written: older key files are removed only once their keys are safely in the new one. */
  private verifyTarget(ring: KeyRing): void {
    const back = this.readTarget();
    if (!back || !sameRing(back, ring)) {
      throw new AppError('SECRET_KEY_UNAVAILABLE', `The key file ${this.targetFile} does not read back as it was written.`, {
        hint: 'Older key files were left in place. Check the disk and that no other program changes the data folder, then start again.',
      });
    }
  }

  private readProtected(protector: KeyProtector): KeyRing | undefined {
    const file = this.protectedFile;
    const text = readIfExists(file, 'utf8');
    if (text === undefined) return undefined;
    const parsed = parseProtectedFile(text);
    if (!parsed) throw damaged(file);
    if (parsed.protection !== protector.id) {
      throw new AppError('SECRET_KEY_UNAVAILABLE', `The key file ${file} is protected with "${parsed.protection}", which this Mailroom cannot open (it uses ${protector.description}).`, {
        hint: 'The data folder may come from another system. Open it there, or set MAILROOM_SECRET_KEY; otherwise stored passwords and tokens must be entered again.',
      });
    }
    let bytes: Buffer;
    try {
      bytes = protector.unprotect(Buffer.from(parsed.wrapped, 'base64'));
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw new AppError('SECRET_KEY_UNAVAILABLE', `The key file ${file} cannot be unlocked by this Windows user.`, {
        hint:
          'Run Mailroom as the Windows user who set it up (a scheduled task too: "Run only when user is logged on", or store its password; "Do not store password" gives the task no access to the user\'s keys). ' +
          'An administrator\'s reset of that user\'s password also makes the key unreadable: then restore the data folder from a backup, or move secret.key.dpapi away and enter the passwords and sign-ins again.',
        cause: error,
      });
    }
    const ring = unpackRing(bytes);
    if (!ring) throw damaged(file);
    return ring;
  }

  private readPlain(file: string): KeyRing | undefined {
    const text = readIfExists(file, 'utf8');
    if (text === undefined) return undefined;
    const ring = parsePlainRing(text);
    if (!ring) throw damaged(file);
    return ring;
  }

  // ---- older key files ----

  /** The ring of a folder without a target file: taken over from older files, or a new key. */
  private firstRing(): KeyRing {
    const safe = readIfExists(this.safeFile);
    // Off Windows the plain file is the target itself, absent here.
    const plain = this.protector ? this.readPlain(this.plainFile) : undefined;
    if (safe) {
      // The app's key first: it came first and holds most secrets; a CLI key made beside it is kept as retired.
      let ring: KeyRing = { current: this.openSafeStorage(safe), retired: [] };
      for (const key of plain ? ringKeys(plain) : []) ring = withRetired(ring, key);
      return ring;
    }
    return plain ?? { current: crypto.randomBytes(KEY_BYTES), retired: [] };
  }

  /**
   * With a target file in place, older files that are still there (a crash
   * before their removal, an older Mailroom run since) are merged into it
   * under a lock, then removed. Whatever cannot be merged now is left as it
   * is and named in the key source.
   */
  private absorbOlderKeys(ring: KeyRing): KeyRing {
    const older = this.olderKeys();
    if (!older.length) return ring;
    const merged = older.reduce((r, o) => withRetired(r, o.key), ring);
    if (sameRing(merged, ring)) {
      for (const file of new Set(older.map((o) => o.file))) this.removeIfHeld(file, merged);
      return merged;
    }
    try {
      const saved = this.withMergeLock(() => {
        // Read again under the lock: another process may have merged meanwhile.
        const fresh = this.readTarget() ?? ring;
        const next = older.reduce((r, o) => withRetired(r, o.key), fresh);
        if (!sameRing(next, fresh)) {
          replaceFileAtomically(this.targetFile, this.formatTarget(next));
          this.verifyTarget(next);
        }
        for (const file of new Set(older.map((o) => o.file))) this.removeIfHeld(file, next);
        return next;
      });
      if (saved) return saved;
      this.notes.add(`older key files wait for another Mailroom that is merging them (${this.lockFile})`);
    } catch (error) {
      if (error instanceof AppError) throw error;
      // The key file is as it was (a replace is one rename): merge at the next start.
      this.notes.add(`older key files could not be merged yet (${(error as Error).message})`);
    }
    // Not saved yet, but this run opens what the older keys sealed; their files stay until merged.
    return merged;
  }

  /** After a first ring was written: the older files it was made from go. */
  private removeOlderFiles(ring: KeyRing): void {
    if (this.protector) this.removeIfHeld(this.plainFile, ring);
    if (this.safeStorage) this.removeIfHeld(this.safeFile, ring);
  }

  /** Keys of older files beside the target that this process can read. */
  private olderKeys(): Array<{ file: string; key: Buffer }> {
    const found: Array<{ file: string; key: Buffer }> = [];
    if (this.protector) {
      const text = readIfExists(this.plainFile, 'utf8');
      if (text !== undefined) {
        const plain = parsePlainRing(text);
        if (plain) for (const key of ringKeys(plain)) found.push({ file: this.plainFile, key });
        else this.notes.add(`${KEY_FILE} beside it is damaged and was left as it is`);
      }
    }
    const safe = readIfExists(this.safeFile);
    if (safe) {
      if (!this.safeStorage) {
        this.notes.add(`${SAFE_STORAGE_KEY_FILE} of an older desktop app is not merged yet: open the desktop app once`);
      } else {
        try {
          found.push({ file: this.safeFile, key: this.openSafeStorage(safe) });
        } catch {
          this.notes.add(`${SAFE_STORAGE_KEY_FILE} of an older desktop app cannot be opened and was left as it is`);
        }
      }
    }
    return found;
  }

  /** Opens `secret.key.safe` (safeStorage over the key as base64 text). */
  private openSafeStorage(encrypted: Buffer): Buffer {
    const file = this.safeFile;
    const dataDir = path.dirname(file);
    if (!this.safeStorage) {
      throw new AppError('SECRET_KEY_NEEDS_APP', `This data folder's key is still in ${file}, which only the Mailroom desktop app can open.`, {
        hint: `Open the Mailroom desktop app once as this user with this data folder (Mailroom --data-dir "${dataDir}" if it is not the default): it moves the key to ${this.protector ? PROTECTED_KEY_FILE : KEY_FILE}, which the command line, the browser console and scheduled tasks use too. Then run this again.`,
      });
    }
    if (!this.safeStorage.isEncryptionAvailable()) {
      throw new AppError('SECRET_KEY_UNAVAILABLE', `The key in ${file} cannot be opened: the system's key store (Electron safeStorage) is not available.`, {
        hint: 'Start Mailroom in the user\'s normal desktop session (on Linux with a keyring such as GNOME Keyring or KWallet running).',
      });
    }
    let text: string;
    try {
      text = this.safeStorage.decryptString(encrypted);
    } catch (error) {
      throw new AppError('SECRET_KEY_UNAVAILABLE', `The key in ${file} cannot be opened by this user.`, {
        hint: `Open Mailroom as the user who set it up. If the folder ${path.join(dataDir, 'electron')} was removed, the key in ${SAFE_STORAGE_KEY_FILE} is lost: restore the data folder from a backup, or move ${SAFE_STORAGE_KEY_FILE} away and enter the passwords and sign-ins again.`,
        cause: error,
      });
    }
    const key = Buffer.from(text.trim(), 'base64');
    if (key.length !== KEY_BYTES) throw damaged(file);
    return key;
  }

  /** Removes an older key file only if every key it holds (read again now) is in the ring. */
  private removeIfHeld(file: string, ring: KeyRing): void {
    let keys: Buffer[] | undefined;
    try {
      if (file === this.safeFile) {
        const safe = readIfExists(file);
        keys = safe ? [this.openSafeStorage(safe)] : [];
      } else {
        const plain = this.readPlain(file);
        keys = plain ? ringKeys(plain) : [];
      }
    } catch {
      keys = undefined;
    }
    if (!keys || !keys.every((k) => ringHolds(ring, k))) {
      this.notes.add(`${path.basename(file)} beside it was left in place (it changed meanwhile)`);
      return;
    }
    if (keys.length && !removeQuietly(file)) this.notes.add(`${path.basename(file)} beside it could not be removed yet`);
  }

  /** Runs `body` holding the merge lock; undefined when another live process holds it. */
  private withMergeLock<T>(body: () => T): T | undefined {
    if (!createFileExclusive(this.lockFile, `${process.pid}\n`)) {
      const holder = Number.parseInt(readIfExists(this.lockFile, 'utf8') ?? '', 10);
      // A lock left by a process that died mid-merge is taken over; a live holder is left to finish.
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && processIsAlive(holder)) return undefined;
      removeQuietly(this.lockFile);
      if (!createFileExclusive(this.lockFile, `${process.pid}\n`)) return undefined;
    }
    try {
      return body();
    } finally {
      removeQuietly(this.lockFile);
    }
  }
}

function damaged(file: string): AppError {
  return new AppError('SECRET_KEY_UNAVAILABLE', `The key file ${file} is damaged.`, {
    hint: 'Restore it (or the whole data folder) from a backup. Without it, stored passwords and tokens cannot be read and must be entered again.',
  });
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
