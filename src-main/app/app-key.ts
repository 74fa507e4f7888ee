/**
 * The desktop app's data key: the same provider as the CLI and the browser
 * console (src-main/engine/keys.ts: DPAPI-wrapped `secret.key.dpapi` on
 * Windows, an owner-only `secret.key` elsewhere, MAILROOM_SECRET_KEY over
 * both). The app alone also hands in Electron safeStorage, so a
 * `secret.key.safe` written by an older desktop app is opened once and moved
 * into that same key file.
 */
import { safeStorage } from 'electron';
import type { KeyProvider } from '../store/secret-box.js';
import { dataKeyProvider, type DataKeyOptions } from '../engine/keys.js';

export function appKeyProvider(dataDir: string, options: Pick<DataKeyOptions, 'env' | 'protector'> = {}): KeyProvider {
  return dataKeyProvider({
    dataDir,
    ...options,
    safeStorage: {
      isEncryptionAvailable: () => safeStorage.isEncryptionAvailable(),
      decryptString: (encrypted) => safeStorage.decryptString(encrypted),
    },
  });
}
