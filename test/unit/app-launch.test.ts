/**
 * The desktop app's start (issue 12, item 9): the single-instance lock was
 * asked for before `--data-dir` set the userData folder, so two apps with
 * different data folders refused each other. Electron's lock belongs to the
 * userData folder: main.ts now sets it from the data folder first. The
 * decisions are in src-main/app/launch.ts; main.ts itself is loaded here
 * over a stand-in for Electron's `app` whose lock, like Electron's, is held
 * per userData folder.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { dataDirArgument, planLaunch, secondInstanceSteps, startupErrorText, windowView, type WindowLike } from '../../src-main/app/launch';
import { defaultDataDir } from '../../src-main/engine/data-dir';
import { AppError, isAppError } from '../../src-main/shared/errors';

const EXE = 'C:\\Program Files\\Mailroom\\Mailroom.exe';

describe('the data folder of the desktop app', () => {
  it.each([
    ['--data-dir DIR', [EXE, '--data-dir', 'D:\\Mail A'], 'D:\\Mail A'],
    ['--data-dir=DIR', [EXE, '--data-dir=D:\\Mail B'], 'D:\\Mail B'],
    ['in development (electron . --data-dir DIR)', ['/usr/lib/electron', '.', '--data-dir', '/srv/mail'], '/srv/mail'],
    ['among Chromium switches', [EXE, '--enable-logging', '--data-dir', 'x', '--lang=de'], 'x'],
    ['given twice: the last one', [EXE, '--data-dir', 'first', '--data-dir=second'], 'second'],
    ['not given', [EXE], undefined],
  ])('%s', (_label, argv, expected) => {
    expect(dataDirArgument(argv)).toBe(expected);
  });

  it.each([
    ['at the end', [EXE, '--data-dir']],
    ['followed by another switch', [EXE, '--data-dir', '--enable-logging']],
  ])('--data-dir without a folder (%s) is a USAGE error that says what to write', (_label, argv) => {
    let error: unknown;
    try {
      dataDirArgument(argv);
    } catch (e) {
      error = e;
    }
    expect(isAppError(error) && error.code).toBe('USAGE');
    expect((error as AppError).message).toContain('--data-dir needs a folder');
  });

  it('is --data-dir, then MAILROOM_DATA_DIR, then the default; the Electron profile is its electron folder', () => {
    const flag = path.resolve('flag-dir');
    expect(planLaunch([EXE, '--data-dir', flag], { MAILROOM_DATA_DIR: path.resolve('env-dir') })).toEqual({ dataDir: flag, userDataDir: path.join(flag, 'electron') });
    expect(planLaunch([EXE], { MAILROOM_DATA_DIR: path.resolve('env-dir') }).dataDir).toBe(path.resolve('env-dir'));
    expect(planLaunch([EXE], {}).dataDir).toBe(defaultDataDir({}));
    // Relative to where it was started, like the CLI.
    expect(planLaunch([EXE, '--data-dir', 'rel'], {}).dataDir).toBe(path.resolve('rel'));
  });
});

describe('a second start with the same data folder', () => {
  function fakeWindow(state: { destroyed?: boolean; minimized?: boolean; visible?: boolean }): WindowLike {
    return {
      isDestroyed: () => Boolean(state.destroyed),
      isMinimized: () => {
        if (state.destroyed) throw new Error('Object has been destroyed');
        return Boolean(state.minimized);
      },
      isVisible: () => {
        if (state.destroyed) throw new Error('Object has been destroyed');
        return state.visible ?? true;
      },
    };
  }

  it.each([
    ['a window in the background', {}, ['focus']],
    ['a minimized window', { minimized: true, visible: true }, ['restore', 'focus']],
    ['a hidden window', { visible: false }, ['show', 'focus']],
    ['a closing (destroyed) window: nothing, and no "Object has been destroyed"', { destroyed: true }, []],
  ])('brings %s back to the front', (_label, state, steps) => {
    expect(secondInstanceSteps(windowView(fakeWindow(state)))).toEqual(steps);
  });

  it('does nothing while the window is not made yet (it shows itself when ready)', () => {
    expect(secondInstanceSteps(windowView(undefined))).toEqual([]);
  });
});

describe('a start-up error', () => {
  it('reads like the CLI\'s: message, hint and code', () => {
    const text = startupErrorText(new AppError('NATIVE_MODULE_MISMATCH', 'better-sqlite3 cannot load.', { hint: 'Run "npm run rebuild:electron".' }));
    expect(text).toBe('better-sqlite3 cannot load.\n\nRun "npm run rebuild:electron".\n\n(NATIVE_MODULE_MISMATCH)');
    expect(startupErrorText(new Error('plain'))).toBe('plain');
  });
});

// ---- main.ts itself, over a stand-in for Electron ----

/** Locks held by running "instances", per userData folder, as Chromium's process singleton holds them. */
const held = vi.hoisted(() => new Set<string>());
const electron = vi.hoisted(() => {
  const calls: string[] = [];
  let userData = '<default userData>';
  const app = {
    calls,
    handlers: new Map<string, (...args: unknown[]) => void>(),
    setPath: (name: string, value: string) => {
      calls.push(`setPath ${name} ${value}`);
      if (name === 'userData') userData = value;
    },
    requestSingleInstanceLock: (data: unknown) => {
      calls.push(`requestSingleInstanceLock ${JSON.stringify(data)} in ${userData}`);
      if (held.has(userData)) return false;
      held.add(userData);
      return true;
    },
    quit: () => calls.push('quit'),
    exit: (code: number) => calls.push(`exit ${code}`),
    on: (event: string, handler: (...args: unknown[]) => void) => {
      app.handlers.set(event, handler);
      calls.push(`on ${event}`);
    },
    whenReady: () => new Promise(() => {}),
    reset() {
      calls.length = 0;
      app.handlers.clear();
      userData = '<default userData>';
    },
  };
  return {
    app,
    protocol: { registerSchemesAsPrivileged: () => undefined },
    dialog: { showErrorBox: (title: string, text: string) => calls.push(`showErrorBox ${title}: ${text}`) },
    BrowserWindow: class {},
    ipcMain: {},
    net: {},
    session: {},
    shell: {},
    safeStorage: {},
  };
});
vi.mock('electron', () => electron);

describe('main.ts', () => {
  const argv = process.argv;
  beforeEach(() => {
    held.clear();
    electron.app.reset();
    vi.resetModules();
  });
  afterEach(() => {
    process.argv = argv;
  });

  /** Starts "an instance" of the app with these arguments; returns what it asked of Electron. */
  async function start(...args: string[]): Promise<string[]> {
    electron.app.reset();
    vi.resetModules();
    process.argv = [EXE, ...args];
    await import('../../src-main/app/main');
    return [...electron.app.calls];
  }

  it('sets userData from --data-dir before it asks for the single-instance lock', async () => {
    const dir = path.resolve('data-a');
    const calls = await start('--data-dir', dir);
    const setPath = calls.indexOf(`setPath userData ${path.join(dir, 'electron')}`);
    const lock = calls.findIndex((c) => c.startsWith('requestSingleInstanceLock'));
    expect(setPath).toBeGreaterThanOrEqual(0);
    expect(lock).toBeGreaterThan(setPath);
    expect(calls[lock]).toBe(`requestSingleInstanceLock ${JSON.stringify({ dataDir: dir })} in ${path.join(dir, 'electron')}`);
    expect(calls).toContain('on second-instance');
    expect(calls).not.toContain('quit');
  });

  it('two data folders run side by side; a second start with the same folder quits', async () => {
    const a = path.resolve('data-a');
    const b = path.resolve('data-b');
    expect(await start('--data-dir', a)).not.toContain('quit');
    expect(await start(`--data-dir=${b}`)).not.toContain('quit');
    const again = await start('--data-dir', a);
    expect(again).toContain('quit');
    // The one that quits starts nothing of its own.
    expect(again).not.toContain('on second-instance');
  });

  it('a bad --data-dir shows why and exits with 2, without taking any lock', async () => {
    const calls = await start('--data-dir');
    expect(calls[0]).toMatch(/^showErrorBox Mailroom cannot start: --data-dir needs a folder/);
    expect(calls).toContain('exit 2');
    expect(calls.some((c) => c.startsWith('requestSingleInstanceLock'))).toBe(false);
  });
});
