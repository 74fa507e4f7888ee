import path from 'node:path';

/** The default file of a bundle: <dataDir>/exports/mailroom-diagnostics-<time>.zip. */
export function defaultBundlePath(dataDir: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[:T]/g, '-').replace(/\..+$/, '');
  return path.join(dataDir, 'exports', `mailroom-diagnostics-${stamp}.zip`);
}
