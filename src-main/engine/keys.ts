/**
 * Key providers outside Electron: MAILROOM_SECRET_KEY, or a key file in the
 * data folder created with owner-only permissions. The desktop app wraps the
 * same key with Electron safeStorage instead (src-main/app/safe-storage-key.ts).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../shared/errors.js';
import type { KeyProvider } from '../store/secret-box.js';

export const KEY_FILE = 'secret.key';

/** Parses MAILROOM_SECRET_KEY: 64 hex characters or base64 of 32 bytes. */
export function parseSecretKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) {
    throw new AppError('SECRET_KEY_UNAVAILABLE', 'MAILROOM_SECRET_KEY must be 32 bytes, written as 64 hex characters or as base64.', {
      hint: 'Generate one with: node -e "console.log(require(\'crypto\').randomBytes(32).toString(\'hex\'))"',
    });
  }
  return key;
}

/** A key provider over the key file in a data folder, created on first use. */
export function fileKeyProvider(dataDir: string): KeyProvider {
  const file = path.join(dataDir, KEY_FILE);
  let cached: Buffer | undefined;
  return {
    source: `key file ${file}`,
    getKey() {
      if (cached) return cached;
      cached = readOrCreateKeyFile(file);
      return cached;
    },
  };
}

/** Reads the key file, or creates it (owner-only) when absent. */
export function readOrCreateKeyFile(file: string): Buffer {
  try {
    const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length === 32) return key;
    throw new AppError('SECRET_KEY_UNAVAILABLE', `The key file ${file} is damaged (it must hold 32 bytes as base64).`, {
      hint: 'Restore it from a backup. Without it, stored passwords and tokens cannot be read and must be entered again.',
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (error instanceof AppError) throw error;
      throw new AppError('SECRET_KEY_UNAVAILABLE', `Cannot read the key file ${file}: ${(error as Error).message}`, { cause: error });
    }
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const key = crypto.randomBytes(32);
  try {
    // 'wx' fails if another process created it meanwhile; then read theirs.
    fs.writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readOrCreateKeyFile(file);
    throw new AppError('SECRET_KEY_UNAVAILABLE', `Cannot create the key file ${file}: ${(error as Error).message}`, { cause: error });
  }
}

/** The provider for the CLI and the browser console: MAILROOM_SECRET_KEY if set, else the key file. */
export function defaultKeyProvider(dataDir: string, env: NodeJS.ProcessEnv = process.env): KeyProvider {
  if (env.MAILROOM_SECRET_KEY) {
    const text = env.MAILROOM_SECRET_KEY;
    let key: Buffer | undefined;
    return {
      source: 'MAILROOM_SECRET_KEY',
      getKey: () => (key ??= parseSecretKey(text)),
    };
  }
  return fileKeyProvider(dataDir);
}
