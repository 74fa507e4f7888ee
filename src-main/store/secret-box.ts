/**
 * AES-256-GCM sealing of secrets at rest. Every ciphertext is bound to its
 * owner (associated data), so a row copied onto another mailbox will not open.
 */
import crypto from 'node:crypto';
import { AppError } from '../shared/errors.js';

/** Supplies the 32-byte data key: MAILROOM_SECRET_KEY, or the data folder's key (engine/keys.ts). */
export interface KeyProvider {
  /** Where the key comes from, for display: never the key itself. */
  readonly source: string;
  /** Returns the key that seals new secrets, creating it when the provider can; throws SECRET_KEY_UNAVAILABLE otherwise. */
  getKey(): Buffer;
  /**
   * Earlier keys of the same data folder, kept as well protected as the
   * current one: they only open secrets sealed before two keys were merged
   * (an older desktop app and CLI each made one). Never used to seal.
   */
  retiredKeys?(): readonly Buffer[];
}

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBox {
  constructor(private readonly keys: KeyProvider) {}

  /** Encrypts a UTF-8 secret bound to `context`. */
  seal(plaintext: string, context: string): Buffer {
    const key = this.keys.getKey();
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
  }

  /** Decrypts a sealed secret; throws SECRET_UNREADABLE if the key or context is wrong. */
  open(sealed: Buffer, context: string): string {
    if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== VERSION) {
      throw new AppError('SECRET_UNREADABLE', 'A stored secret is damaged or in an unknown format.', {
        hint: 'Enter the password again, or sign in again, to replace it.',
      });
    }
    const keys = [this.keys.getKey(), ...(this.keys.retiredKeys?.() ?? [])];
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const body = sealed.subarray(1 + IV_BYTES + TAG_BYTES);
    for (const key of keys) {
      try {
        const decipher = crypto.createDecipheriv('aes-256-gcm', key, iv);
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      } catch {
        // GCM's tag says this key (or context) is not the one: try the next key.
      }
    }
    throw new AppError('SECRET_UNREADABLE', 'A stored secret cannot be decrypted with this computer\'s key.', {
      hint: `The data folder may come from another computer or user, or the key (${this.keys.source}) changed. Enter the password again, or sign in again.`,
    });
  }
}

/** A key provider over a fixed key: for tests and MAILROOM_SECRET_KEY. */
export function staticKeyProvider(key: Buffer, source = 'static key'): KeyProvider {
  if (key.length !== 32) throw new AppError('SECRET_KEY_UNAVAILABLE', 'The secret key must be 32 bytes.');
  return { source, getKey: () => key };
}
