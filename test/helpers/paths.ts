import path from 'node:path';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '..', '..');
/** The CLI launcher, as `npx mailroom` runs it. */
export const CLI = path.join(ROOT, 'bin', 'mailroom.mjs');
/** The built renderer. */
export const RENDERER_DIR = path.join(ROOT, 'dist', 'renderer');
