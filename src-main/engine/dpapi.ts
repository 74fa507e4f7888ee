/**
 * Windows DPAPI as a key protector: the data key is wrapped for the current
 * Windows user (CurrentUser scope), so every Mailroom of that user (desktop
 * app, CLI, browser console, a scheduled `engine run`) unwraps the same key
 * and nobody else can. `@primno/dpapi` is an N-API module: the same prebuilt
 * binary loads in Node and in Electron, so it needs no Electron rebuild.
 * It is loaded on first use only, and only on Windows.
 */
import { AppError } from '../shared/errors.js';
import { nodeRequire } from './node-require.js';

/** Wraps and unwraps bytes for the user running Mailroom; injected so the key logic is tested anywhere. */
export interface KeyProtector {
  /** Stable id, written into the key file: a file wrapped by another protector is refused, not misread. */
  readonly id: string;
  /** For people, e.g. in the key source shown by `app.info`. */
  readonly description: string;
  protect(data: Buffer): Buffer;
  /** Throws when the bytes were wrapped for another user or computer, or are damaged. */
  unprotect(wrapped: Buffer): Buffer;
}

/** The id of DPAPI (CurrentUser) in the key file. */
export const DPAPI_PROTECTION = 'dpapi-current-user';

/**
 * Mailroom's own DPAPI entropy. It is not a secret: it only keeps another
 * program of the same user from unwrapping the key by calling DPAPI with no
 * entropy, and ties the blob to this purpose. Never change it: keys wrapped
 * with it could no longer be opened.
 */
export const DPAPI_ENTROPY = Buffer.from('Mailroom data key (DPAPI wrap, version 1)', 'utf8');

/** The part of `@primno/dpapi` Mailroom uses. */
export interface DpapiModule {
  isPlatformSupported: boolean;
  Dpapi: {
    protectData(data: Uint8Array, entropy: Uint8Array | null, scope: 'CurrentUser' | 'LocalMachine'): Uint8Array;
    unprotectData(data: Uint8Array, entropy: Uint8Array | null, scope: 'CurrentUser' | 'LocalMachine'): Uint8Array;
  };
}

/** A protector over Windows DPAPI, CurrentUser scope, with Mailroom's entropy. `load` is for tests. */
export function dpapiProtector(load: () => DpapiModule = () => nodeRequire()('@primno/dpapi') as DpapiModule): KeyProtector {
  let dpapi: DpapiModule['Dpapi'] | undefined;
  const binding = (): DpapiModule['Dpapi'] => {
    if (dpapi) return dpapi;
    let loaded: DpapiModule;
    try {
      loaded = load();
    } catch (error) {
      throw dpapiUnavailable(`its native module did not load (${(error as Error).message.split('\n')[0]})`, error);
    }
    if (!loaded.isPlatformSupported) throw dpapiUnavailable(`its native module has no build for ${process.platform}-${process.arch}`);
    dpapi = loaded.Dpapi;
    return dpapi;
  };
  return {
    id: DPAPI_PROTECTION,
    description: 'Windows user key (DPAPI)',
    protect: (data) => Buffer.from(binding().protectData(data, DPAPI_ENTROPY, 'CurrentUser')),
    unprotect: (wrapped) => Buffer.from(binding().unprotectData(wrapped, DPAPI_ENTROPY, 'CurrentUser')),
  };
}

function dpapiUnavailable(why: string, cause?: unknown): AppError {
  return new AppError('SECRET_KEY_UNAVAILABLE', `Windows data protection (DPAPI) cannot be used: ${why}.`, {
    hint: 'Install Mailroom again (the x64 or arm64 build for this Windows). Until then, MAILROOM_SECRET_KEY can supply the key to the command line.',
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The protector of this platform: DPAPI on Windows; none elsewhere (an owner-only key file is used there). */
export function platformKeyProtector(platform: NodeJS.Platform = process.platform): KeyProtector | undefined {
  return platform === 'win32' ? dpapiProtector() : undefined;
}
