/**
 * Where the data lives: %APPDATA%\Mailroom on Windows (the per-user roaming
 * app data folder), the platform's equivalent elsewhere, overridable with
 * --data-dir or MAILROOM_DATA_DIR.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { APP_FOLDER, databaseFile, defaultDataDir, resolveDataDir } from '../../src-main/engine/data-dir';
import { openMailroom, type Mailroom } from '../../src-main/engine/mailroom';
import { tempDir } from '../helpers/temp';

const engines: Mailroom[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.close();
});

describe('the default data folder', () => {
  it('is %APPDATA%\\Mailroom on Windows', () => {
    expect(defaultDataDir({ APPDATA: 'C:\\Users\\Admin\\AppData\\Roaming' }, 'win32')).toBe('C:\\Users\\Admin\\AppData\\Roaming\\Mailroom');
  });

  it('falls back to <home>\\AppData\\Roaming\\Mailroom on Windows when APPDATA is not set', () => {
    expect(defaultDataDir({}, 'win32')).toBe(path.win32.join(os.homedir(), 'AppData', 'Roaming', APP_FOLDER));
  });

  it('is ~/Library/Application Support/Mailroom on macOS', () => {
    expect(defaultDataDir({}, 'darwin')).toBe(path.join(os.homedir(), 'Library', 'Application Support', 'Mailroom'));
  });

  it('follows XDG_CONFIG_HOME on Linux, else ~/.config/Mailroom', () => {
    expect(defaultDataDir({ XDG_CONFIG_HOME: '/srv/config' }, 'linux')).toBe(path.join('/srv/config', 'Mailroom'));
    expect(defaultDataDir({}, 'linux')).toBe(path.join(os.homedir(), '.config', 'Mailroom'));
  });
});

describe('choosing the data folder', () => {
  const env = { MAILROOM_DATA_DIR: path.resolve('/data/from-env'), APPDATA: 'C:\\Roaming', XDG_CONFIG_HOME: '/xdg' };

  it('takes --data-dir first', () => {
    expect(resolveDataDir(path.resolve('/data/from-flag'), env)).toBe(path.resolve('/data/from-flag'));
  });

  it('takes MAILROOM_DATA_DIR when no --data-dir is given', () => {
    expect(resolveDataDir(undefined, env)).toBe(path.resolve('/data/from-env'));
  });

  it('ignores an empty --data-dir or MAILROOM_DATA_DIR', () => {
    expect(resolveDataDir('', { ...env, MAILROOM_DATA_DIR: '' })).toBe(defaultDataDir({ ...env, MAILROOM_DATA_DIR: '' }));
  });

  it('makes a relative folder absolute, against the current folder', () => {
    expect(resolveDataDir('relative/data', {})).toBe(path.resolve(process.cwd(), 'relative/data'));
    expect(path.isAbsolute(resolveDataDir(undefined, { MAILROOM_DATA_DIR: 'rel' }))).toBe(true);
  });

  it('keeps the database as mailroom.db inside it', () => {
    expect(databaseFile(path.resolve('/data'))).toBe(path.join(path.resolve('/data'), 'mailroom.db'));
  });
});

describe('opening a data folder', () => {
  it('creates a folder that does not exist yet, with the database inside', () => {
    const dir = path.join(tempDir(), 'nested', 'Mailroom');
    const engine = openMailroom({ dataDir: dir });
    engines.push(engine);
    expect(engine.dataDir).toBe(dir);
    expect(fs.existsSync(databaseFile(dir))).toBe(true);
  });

  it('refuses a data folder path that is a file, with a clear error', () => {
    const file = path.join(tempDir(), 'not-a-folder');
    fs.writeFileSync(file, 'x');
    expect(() => engines.push(openMailroom({ dataDir: file }))).toThrow(/not-a-folder/);
    expect(fs.readFileSync(file, 'utf8')).toBe('x');
  });
});
