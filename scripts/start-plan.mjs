// What `npm start` does, decided without touching anything (scripts/start.mjs
// gathers the facts and carries the plan out; test/unit/start-plan.test.ts).
//
// - No Electron runtime: the browser console, said in one line.
// - Electron and a better-sqlite3 build for it: the desktop app.
// - Electron but no fitting build: build it first (npm run rebuild:electron),
//   then the desktop app. The app never falls back to node_modules' Node
//   build, which cannot load in Electron (NODE_MODULE_VERSION mismatch).
// - The build fails (offline, no toolchain): say exactly which command to
//   run, then start the browser console so there is something to use.

export const REBUILD_COMMAND = 'npm run rebuild:electron';

/**
 * @typedef {{ action: 'electron' }
 *   | { action: 'rebuild', message: string }
 *   | { action: 'console', message: string }} StartStep
 */

/**
 * @param {{ electronBinary: string | undefined, electronVersion: string | undefined, binding: { ready: true } | { ready: false, reason: string } }} facts
 * @returns {StartStep}
 */
export function planStart({ electronBinary, electronVersion, binding }) {
  if (!electronBinary) {
    return { action: 'console', message: 'No Electron runtime is installed here, so Mailroom starts its browser console instead (same screens, served on 127.0.0.1).' };
  }
  if (binding.ready) return { action: 'electron' };
  return {
    action: 'rebuild',
    message: `The desktop app needs better-sqlite3 built for Electron ${electronVersion ?? '(unknown version)'}, and ${binding.reason}: building it now ("${REBUILD_COMMAND}", once).`,
  };
}

/**
 * @param {{ rebuilt: boolean, electronVersion: string | undefined }} facts
 * @returns {StartStep}
 */
export function planAfterRebuild({ rebuilt, electronVersion }) {
  if (rebuilt) return { action: 'electron' };
  return {
    action: 'console',
    message:
      `The desktop app cannot start without better-sqlite3 built for Electron ${electronVersion ?? ''}`.trimEnd() +
      `. Run "${REBUILD_COMMAND}" (it needs the internet the first time; the reason is above), then "npm start" again. Meanwhile Mailroom starts its browser console (same screens, served on 127.0.0.1).`,
  };
}
