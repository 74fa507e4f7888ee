/**
 * The desktop app's start-up decisions, kept out of main.ts so they are
 * tested without Electron: which data folder (`--data-dir`, then
 * MAILROOM_DATA_DIR, then the default), the Electron profile folder inside
 * it, what a second start does to the open window, and how a start-up error
 * reads.
 *
 * Electron's single-instance lock belongs to the userData folder (Chromium's
 * process singleton lives there), so main.ts sets userData from the data
 * folder BEFORE asking for the lock: one app per data folder, and two data
 * folders can be open side by side.
 */
import path from 'node:path';
import { resolveDataDir } from '../engine/data-dir.js';
import { AppError, isAppError } from '../shared/errors.js';

export const DATA_DIR_FLAG = '--data-dir';
/** Electron's own profile (cache, Local State) inside the data folder. Older apps' secret.key.safe needs it: never move it. */
export const ELECTRON_PROFILE_FOLDER = 'electron';

export interface Launch {
  /** The data folder, absolute. */
  dataDir: string;
  /** Electron's userData: set before the single-instance lock is asked for. */
  userDataDir: string;
}

/**
 * The value of `--data-dir DIR` or `--data-dir=DIR` on the app's command
 * line (the last one counts), undefined when absent. Electron puts the
 * executable (and in development the app folder) first; Chromium may add
 * switches of its own: they are left alone.
 */
export function dataDirArgument(argv: readonly string[]): string | undefined {
  let value: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === DATA_DIR_FLAG) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        throw new AppError('USAGE', `${DATA_DIR_FLAG} needs a folder after it.`, { hint: `Start Mailroom with ${DATA_DIR_FLAG} "C:\\path\\to\\folder", or without it for the default folder.` });
      }
      value = next;
      i++;
    } else if (arg.startsWith(`${DATA_DIR_FLAG}=`)) {
      value = arg.slice(DATA_DIR_FLAG.length + 1);
    }
  }
  return value;
}

/** Where this start of the app keeps its data and its Electron profile. */
export function planLaunch(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Launch {
  const dataDir = resolveDataDir(dataDirArgument(argv), env);
  return { dataDir, userDataDir: path.join(dataDir, ELECTRON_PROFILE_FOLDER) };
}

/** What the open window looks like when Mailroom is started again with the same data folder. */
export interface WindowView {
  destroyed: boolean;
  minimized: boolean;
  visible: boolean;
}

export type WindowStep = 'restore' | 'show' | 'focus';

/** The part of a BrowserWindow the decision reads (a destroyed window answers nothing else). */
export interface WindowLike {
  isDestroyed(): boolean;
  isMinimized(): boolean;
  isVisible(): boolean;
}

export function windowView(window: WindowLike | undefined): WindowView | undefined {
  if (!window) return undefined;
  if (window.isDestroyed()) return { destroyed: true, minimized: false, visible: false };
  return { destroyed: false, minimized: window.isMinimized(), visible: window.isVisible() };
}

/**
 * What a second start does to this instance's main window: bring it back
 * and to the front. Nothing while there is no window yet (it shows itself
 * when ready) or when it is already closing.
 */
export function secondInstanceSteps(window: WindowView | undefined): WindowStep[] {
  if (!window || window.destroyed) return [];
  const steps: WindowStep[] = [];
  if (window.minimized) steps.push('restore');
  if (!window.visible) steps.push('show');
  steps.push('focus');
  return steps;
}

/** The text of the "Mailroom cannot start" box: message, hint and code, as the CLI would print them. */
export function startupErrorText(error: unknown): string {
  if (isAppError(error)) return [error.message, error.hint, `(${error.code})`].filter(Boolean).join('\n\n');
  return error instanceof Error ? error.message : String(error);
}
