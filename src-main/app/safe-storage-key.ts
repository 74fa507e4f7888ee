/**
 * The data key in the desktop app: wrapped with Electron safeStorage (DPAPI
 * on Windows) in `secret.key.safe`. A plain key file made earlier by the CLI
 * in the same data folder is used as is, so both can read the same secrets.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { safeStorage } from 'electron';
import { AppError } from '../shared/errors.js';
import type { KeyProvider } from '../store/secret-box.js';
import { KEY_FILE, readOrCreateKeyFile } from '../engine/keys.js';

export const WRAPPED_KEY_FILE = 'secret.key.safe';

export function safeStorageKeyProvider(dataDir: string): KeyProvider {
  const wrapped = path.join(dataDir, WRAPPED_KEY_FILE);
  const plain = path.join(dataDir, KEY_FILE);
  let cached: Buffer | undefined;
  return {
    source: 'Windows user key (Electron safeStorage)',
    getKey() {
      if (cached) return cached;
      if (fs.existsSync(wrapped)) {
        cached = Buffer.from(safeStorage.decryptString(fs.readFileSync(wrapped)), 'base64');
      } else if (fs.existsSync(plain)) {
        cached = readOrCreateKeyFile(plain);
      } else {
        if (!safeStorage.isEncryptionAvailable()) {
          // No OS key store (e.g. Linux without a keyring): fall back to an owner-only key file.
          cached = readOrCreateKeyFile(plain);
          return cached;
        }
        const key = crypto.randomBytes(32);
        fs.mkdirSync(dataDir, { recursive: true });
        fs.writeFileSync(wrapped, safeStorage.encryptString(key.toString('base64')), { mode: 0o600, flag: 'wx' });
        cached = key;
      }
      if (cached.length !== 32) throw new AppError('SECRET_KEY_UNAVAILABLE', 'The stored data key is damaged.');
      return cached;
    },
  };
}
