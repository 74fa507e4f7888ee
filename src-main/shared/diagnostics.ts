/**
 * Diagnostics bundles: one .zip an admin can mail to whoever helps them
 * offline. The manifest names what is inside; every section is JSON.
 * Imports nothing from node or electron.
 */
import { z } from 'zod';

export const BUNDLE_FORMAT = 'mailroom-diagnostics';
export const BUNDLE_VERSION = 1;

/** The manifest at the root of every bundle. */
export const BundleManifest = z.object({
  format: z.literal(BUNDLE_FORMAT),
  version: z.literal(BUNDLE_VERSION),
  createdAt: z.number().int(),
  app: z.object({
    version: z.string(),
    runtime: z.string(),
    platform: z.string(),
    node: z.string(),
    electron: z.string().nullable(),
  }),
  /** Section names, each stored as sections/<name>.json. */
  sections: z.array(z.string().regex(/^[a-z0-9-]+$/)),
  /** How many log entries the bundle holds. */
  logEntries: z.number().int().nonnegative(),
  /** How many secret values were found in the collected data and replaced (should be 0). */
  secretsScrubbed: z.number().int().nonnegative(),
});
export type BundleManifest = z.infer<typeof BundleManifest>;

/** What the app is showing: its own data, or an imported bundle (read-only). */
export const ViewState = z.object({
  mode: z.enum(['live', 'bundle']),
  /** When viewing a bundle: its file name, when it was made and by which version. */
  bundle: z
    .object({ fileName: z.string(), createdAt: z.number().int(), appVersion: z.string(), platform: z.string(), sections: z.array(z.string()) })
    .nullable(),
});
export type ViewState = z.infer<typeof ViewState>;

export const BundleResult = z.object({
  path: z.string(),
  fileName: z.string(),
  bytes: z.number().int(),
  manifest: BundleManifest,
});
export type BundleResult = z.infer<typeof BundleResult>;
