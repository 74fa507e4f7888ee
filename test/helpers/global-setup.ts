/**
 * Runs once before all tests: makes sure dist/ is built (the CLI and the
 * browser console tests run the built code, as users do), and always
 * rebuilds the import's parser workers from the current source: the tests
 * import the parser pool as TypeScript, but a worker thread runs a built
 * file (src-main/engine/inbox/parser-worker-file.ts points there when it
 * runs from source), and a stale one would test yesterday's worker.
 *
 * The CLI and the parser workers keep V8's code cache (src-main/engine/code-cache.ts);
 * the tests keep theirs in a folder of their own, not in the user's profile.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup(): void {
  const root = path.resolve(__dirname, '..', '..');
  const build = (what?: string) => execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs'), ...(what ? [what] : [])], { cwd: root, stdio: 'inherit' });
  process.env.MAILROOM_CODE_CACHE ??= path.join(os.tmpdir(), `mailroom-test-code-cache-${process.getuid?.() ?? 'user'}`);
  mkdirSync(process.env.MAILROOM_CODE_CACHE, { recursive: true });
  const built = ['cli/main.cjs', 'cli/code-cache.cjs', 'app/main.cjs', 'renderer/index.html'].every((file) => existsSync(path.join(root, 'dist', file)));
  if (!built) build();
  else build('worker');
}
