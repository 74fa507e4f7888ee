/**
 * Where Mailroom keeps its data: the OS's per-user app data folder
 * (%APPDATA%\Mailroom on Windows), unless --data-dir or MAILROOM_DATA_DIR says otherwise.
 */
import os from 'node:os';
import path from 'node:path';

export const APP_FOLDER = 'Mailroom';

/** The default per-user data folder for this platform. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  const home = os.homedir();
  if (platform === 'win32') {
    return path.win32.join(env.APPDATA || path.win32.join(home, 'AppData', 'Roaming'), APP_FOLDER);
  }
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', APP_FOLDER);
  return path.join(env.XDG_CONFIG_HOME || path.join(home, '.config'), APP_FOLDER);
}

/** The data folder to use: explicit option, then MAILROOM_DATA_DIR, then the default. */
export function resolveDataDir(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = explicit || env.MAILROOM_DATA_DIR;
  return chosen ? path.resolve(chosen) : defaultDataDir(env);
}

/** The database file inside a data folder. */
export function databaseFile(dataDir: string): string {
  return path.join(dataDir, 'mailroom.db');
}
