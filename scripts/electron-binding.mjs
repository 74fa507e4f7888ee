// Whether build/electron-native/better_sqlite3.node is the build the desktop
// app needs: made by scripts/rebuild-electron.mjs for this Electron, this
// better-sqlite3, this platform and CPU (its manifest says so), and
// really built for Electron's ABI (the binary says so). Pure: the callers
// read the files. Used by `npm start` (scripts/start.mjs) and by
// rebuild-electron.mjs to decide whether to build.

/**
 * The NODE_MODULE_VERSION a native module was built for, read from the
 * symbol NODE_MODULE_INIT exports (node_register_module_v<N>), or undefined
 * (an N-API module, or not a native module at all).
 * @param {Uint8Array} bytes
 * @returns {number | undefined}
 */
export function moduleVersionOf(bytes) {
  const match = /node_register_module_v(\d+)/.exec(Buffer.from(bytes).toString('latin1'));
  return match ? Number(match[1]) : undefined;
}

/** The manifest fields that must match. */
export const MANIFEST_FIELDS = /** @type {const} */ (['betterSqlite3', 'electron', 'platform', 'arch']);

/**
 * @param {{ binary: Uint8Array | undefined, manifest: unknown, wanted: { betterSqlite3: string, electron: string, platform: string, arch: string }, electronModuleVersion: number | undefined }} facts
 * @returns {{ ready: true } | { ready: false, reason: string }}
 */
export function bindingStatus({ binary, manifest, wanted, electronModuleVersion }) {
  if (!binary) return { ready: false, reason: 'it has not been built yet' };
  const have = manifest && typeof manifest === 'object' ? /** @type {Record<string, unknown>} */ (manifest) : undefined;
  if (!have) return { ready: false, reason: 'its build record (better_sqlite3.json) is missing' };
  for (const field of MANIFEST_FIELDS) {
    if (have[field] !== wanted[field]) {
      const what = { betterSqlite3: 'better-sqlite3', electron: 'Electron', platform: 'platform', arch: 'CPU' }[field];
      return { ready: false, reason: `it was built for ${what} ${String(have[field])}, and ${wanted[field]} is installed now` };
    }
  }
  const built = moduleVersionOf(binary);
  if (electronModuleVersion !== undefined && built !== undefined && built !== electronModuleVersion) {
    return { ready: false, reason: `it is built for NODE_MODULE_VERSION ${built}, and Electron ${wanted.electron} needs ${electronModuleVersion}` };
  }
  return { ready: true };
}
