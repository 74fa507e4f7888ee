/**
 * Runs once before all tests: makes sure dist/ is built (the CLI and the
 * browser console tests run the built code, as users do), and always
 * rebuilds the import's parser workers from the current source: the tests
 * import the parser pool as TypeScript, but a worker thread runs a built
 * file (src-main/engine/inbox/parser-worker-file.ts points there when it
 * runs from source), and a stale one would test yesterday's worker.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export default function setup(): void {
  const root = path.resolve(__dirname, '..', '..');
  const build = (what?: string) => execFileSync(process.execPath, [path.join(root, 'scripts', 'build.mjs'), ...(what ? [what] : [])], { cwd: root, stdio: 'inherit' });
  const built = ['cli/main.mjs', 'app/main.cjs', 'renderer/index.html'].every((file) => existsSync(path.join(root, 'dist', file)));
  if (!built) build();
  else build('worker');
}
