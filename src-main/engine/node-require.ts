/**
 * Node's `require`, for loading a dependency's CommonJS build from any of
 * Mailroom's bundles: the desktop app and the tests are CommonJS (this
 * file's own path), the CLI is an ES module started by bin/mailroom.mjs
 * inside the package (the launcher's path). Used where CommonJS loads
 * measurably faster than the ES module build (imapflow: about 50 ms less
 * at every `mailroom inbox poll`).
 */
import { createRequire } from 'node:module';
import path from 'node:path';

let cached: NodeRequire | undefined;

export function nodeRequire(): NodeRequire {
  cached ??= createRequire(typeof __filename === 'string' ? __filename : path.resolve(process.argv[1] ?? 'mailroom'));
  return cached;
}
