/**
 * better-sqlite3 is built twice: for Node (tests, CLI, console, in
 * node_modules) and for Electron's ABI (`npm run rebuild:electron` writes
 * build/electron-native/better_sqlite3.node; the installer ships it in
 * resources/native). The desktop app passes that file as `nativeBinding`.
 */
import fs from 'node:fs';
import path from 'node:path';

export function electronNativeBinding(appPath: string, resourcesPath: string, packaged: boolean): string | undefined {
  const candidates = packaged
    ? [path.join(resourcesPath, 'native', 'better_sqlite3.node')]
    : [path.join(appPath, 'build', 'electron-native', 'better_sqlite3.node')];
  return candidates.find((file) => fs.existsSync(file));
}
