/**
 * Diagnostics over IPC: export a bundle, open one read-only in the same
 * screens, close it again.
 */
import { z } from 'zod';
import { channel } from './channel.js';
import { BundleResult, ViewState } from '../diagnostics.js';

/** Largest bundle accepted for import, in bytes (base64 is a third larger on the wire). */
export const MAX_BUNDLE_BYTES = 48 * 1024 * 1024;

export const diagnostics = {
  /** Writes a bundle into the data folder's exports folder. */
  export: channel(z.object({ logLimit: z.coerce.number().int().min(0).max(100_000).optional() }).strict(), BundleResult),
  /** Opens a bundle read-only: every screen then shows its data until `closeBundle`. */
  importBundle: channel(
    z
      .object({
        fileName: z.string().trim().min(1).max(255),
        dataBase64: z
          .string()
          .max(Math.ceil(MAX_BUNDLE_BYTES / 3) * 4, { error: `must be a bundle of at most ${MAX_BUNDLE_BYTES / 1024 / 1024} MB` })
          .regex(/^[A-Za-z0-9+/]*={0,2}$/, { error: 'must be base64' }),
      })
      .strict(),
    ViewState,
  ),
  closeBundle: channel(z.object({}).strict(), ViewState),
  viewState: channel(z.object({}).strict(), ViewState),
} as const;
