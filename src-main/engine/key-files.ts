/**
 * The files that hold a data folder's key ring, and how they are written so
 * that two processes starting at once end with one key: a new file appears
 * whole or not at all (written aside, then hard-linked into place, which
 * fails if the name is taken), and a changed file replaces the old one in
 * one rename. Nothing here decides which key to use: see keys.ts.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../shared/errors.js';

/** Length of a data key in bytes (AES-256). */
export const KEY_BYTES = 32;

/**
 * A data folder's keys: `current` seals every new secret; `retired` keys only
 * open secrets sealed before two keys of the same folder were merged.
 */
export interface KeyRing {
  current: Buffer;
  retired: Buffer[];
}

/** The ring as one list, current key first. */
export function ringKeys(ring: KeyRing): Buffer[] {
  return [ring.current, ...ring.retired];
}

/** True when the ring holds this key, current or retired. */
export function ringHolds(ring: KeyRing, key: Buffer): boolean {
  return ringKeys(ring).some((k) => k.equals(key));
}

/** The ring with `key` added as a retired key (unchanged when it already holds it). */
export function withRetired(ring: KeyRing, key: Buffer): KeyRing {
  return ringHolds(ring, key) ? ring : { current: ring.current, retired: [...ring.retired, key] };
}

/** True when two rings hold the same keys in the same order. */
export function sameRing(a: KeyRing, b: KeyRing): boolean {
  const ka = ringKeys(a);
  const kb = ringKeys(b);
  return ka.length === kb.length && ka.every((k, i) => k.equals(kb[i]!));
}

/** The ring as bytes for a protector: the keys one after the other, current first. */
export function packRing(ring: KeyRing): Buffer {
  return Buffer.concat(ringKeys(ring));
}

/** Reads packed ring bytes; undefined when they are not whole 32-byte keys. */
export function unpackRing(bytes: Buffer): KeyRing | undefined {
  if (bytes.length < KEY_BYTES || bytes.length % KEY_BYTES !== 0) return undefined;
  const keys: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += KEY_BYTES) keys.push(Buffer.from(bytes.subarray(at, at + KEY_BYTES)));
  return { current: keys[0]!, retired: keys.slice(1) };
}

/** The plain key file (`secret.key`): one key per line as base64, current first. A file from before rings holds one line. */
export function formatPlainRing(ring: KeyRing): string {
  return ringKeys(ring).map((k) => k.toString('base64')).join('\n') + '\n';
}

/** Parses a plain key file; undefined when a line is not 32 bytes of base64. */
export function parsePlainRing(text: string): KeyRing | undefined {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (!lines.length) return undefined;
  const keys = lines.map((l) => Buffer.from(l, 'base64'));
  if (keys.some((k) => k.length !== KEY_BYTES)) return undefined;
  return { current: keys[0]!, retired: keys.slice(1) };
}

/** What the protected key file (`secret.key.dpapi`) holds: the packed ring, wrapped by the OS for the current user. */
export interface ProtectedKeyFile {
  format: 'mailroom-data-key';
  version: 1;
  /** Which protector wrapped it, e.g. `dpapi-current-user`. */
  protection: string;
  /** base64 of the wrapped ring. */
  wrapped: string;
}

/** The protected key file's text for a ring wrapped by the protector `protection`. */
export function formatProtectedFile(protection: string, wrapped: Buffer): string {
  const file: ProtectedKeyFile = { format: 'mailroom-data-key', version: 1, protection, wrapped: wrapped.toString('base64') };
  return JSON.stringify(file, null, 2) + '\n';
}

/** Parses the protected key file; undefined when it is not one (damaged, or another format). */
export function parseProtectedFile(text: string): ProtectedKeyFile | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const v = value as Partial<ProtectedKeyFile> | null;
  if (!v || v.format !== 'mailroom-data-key' || v.version !== 1 || typeof v.protection !== 'string' || typeof v.wrapped !== 'string' || !v.wrapped) return undefined;
  return v as ProtectedKeyFile;
}

/** A file's text, or undefined when it does not exist. Other read errors become SECRET_KEY_UNAVAILABLE. */
export function readIfExists(file: string, encoding: 'utf8'): string | undefined;
export function readIfExists(file: string): Buffer | undefined;
export function readIfExists(file: string, encoding?: 'utf8'): string | Buffer | undefined {
  try {
    return encoding ? fs.readFileSync(file, encoding) : fs.readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AppError('SECRET_KEY_UNAVAILABLE', `Cannot read the key file ${file}: ${(error as Error).message}`, {
      hint: 'Check that the data folder belongs to the Windows user running Mailroom and is not locked by another program (antivirus, backup or sync tools).',
      cause: error,
    });
  }
}

/** Writes a new file next to `file`, flushed to disk, owner-only; returns its name. */
function writeAside(file: string, content: string | Buffer): string {
  const temp = `${file}.${process.pid}-${crypto.randomBytes(4).toString('hex')}.tmp`;
  const fd = fs.openSync(temp, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return temp;
}

/** Flushes a folder's entries (POSIX; Windows has no folder handles for this and journals the rename itself). */
function syncFolder(dir: string): void {
  if (process.platform === 'win32') return;
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Best effort: the file itself is already on disk.
  }
}

const LINK_UNSUPPORTED = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EINVAL']);

/**
 * Creates `file` with `content` only if no file of that name exists: true
 * when this call created it, false when another process got there first.
 * Readers never see a partly written file: it is written aside and
 * hard-linked into place. On a file system without hard links (FAT, some
 * network shares) it falls back to an exclusive create.
 */
export function createFileExclusive(file: string, content: string | Buffer): boolean {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temp = writeAside(file, content);
  try {
    fs.linkSync(temp, file);
    syncFolder(path.dirname(file));
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (!LINK_UNSUPPORTED.has(code)) throw error;
    try {
      fs.writeFileSync(file, content, { mode: 0o600, flag: 'wx' });
      return true;
    } catch (fallbackError) {
      if ((fallbackError as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw fallbackError;
    }
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/** Replaces `file` with `content` in one rename: readers see the old or the new file, never a mix. */
export function replaceFileAtomically(file: string, content: string | Buffer): void {
  const temp = writeAside(file, content);
  try {
    fs.renameSync(temp, file);
    syncFolder(path.dirname(file));
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw error;
  }
}

/** Removes a file; false when it could not be removed (it is tried again at the next start). */
export function removeQuietly(file: string): boolean {
  try {
    fs.rmSync(file, { force: true });
    return true;
  } catch {
    return false;
  }
}
