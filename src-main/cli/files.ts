/**
 * Files named on the command line (`--out`, `--eml`, `--tls-cert`, a settings
 * file to import...): one place that checks them before any work is done and
 * turns what the file system says (ENOENT, EISDIR, ENAMETOOLONG, EACCES...)
 * into an error with a code, the path, and what to change:
 *
 * - OUTPUT_PATH_INVALID (exit 2): the path given for output cannot be written;
 * - INPUT_FILE_UNREADABLE (exit 2): the file given for input cannot be read;
 * - OUTPUT_WRITE_FAILED (exit 1): writing started but the disk refused (full, I/O error).
 *
 * An output path is probed by creating (and removing) a file with a longer
 * name beside it, so a name too long for the temporary file that exports
 * write first, a read-only folder or a missing folder is found before the
 * export starts, on Windows as on Linux.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../shared/errors.js';

/** What the path was given for: the flag (or `<argument>`) and whether it is read or written. */
export interface FileRole {
  flag: string;
  role: 'output' | 'input' | 'input-folder' | 'folder';
}

const errnoOf = (error: unknown): string | undefined => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
};

/** True for a Node file-system error (it has an errno code such as ENOENT). */
export function isFileSystemError(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && errnoOf(error) !== undefined && typeof (error as NodeJS.ErrnoException).syscall === 'string';
}

/** Shortens a path for a message; a 10,000-character path would drown the message. */
function shown(file: string): string {
  return file.length > 160 ? `${file.slice(0, 80)}...${file.slice(-60)} (${file.length} characters)` : file;
}

/**
 * The one mapping from a file-system error to what the admin reads: code,
 * message naming the path and the flag, and a hint saying what to change.
 */
export function fileError(error: unknown, file: string, { flag, role }: FileRole, fixedCode?: string): AppError {
  const errno = errnoOf(error) ?? 'EIO';
  const where = shown(file);
  const output = role === 'output' || role === 'folder';
  const code = fixedCode ?? (output ? 'OUTPUT_PATH_INVALID' : 'INPUT_FILE_UNREADABLE');
  const say = (message: string, hint: string, errorCode = code) =>
    new AppError(fixedCode ?? errorCode, flag ? `${flag}: ${message}` : message.charAt(0).toUpperCase() + message.slice(1), { hint, cause: error });
  switch (errno) {
    case 'ENOENT':
      return output
        ? say(`the folder ${shown(path.dirname(file))} does not exist, so ${where} cannot be written.`, 'Create the folder first, or give a path in a folder that exists.')
        : say(`there is no ${role === 'input-folder' ? 'folder' : 'file'} at ${where}.`, 'Check the spelling and the folder; give the full path if you are not in the folder that holds it.');
    case 'ENOTDIR':
      return say(`a part of ${where} is a file, not a folder.`, 'Check the path: every part of it must be a folder.');
    case 'EISDIR':
      return output
        ? say(`${where} is a folder; a file name is needed.`, `Give a file name inside it, e.g. ${shown(path.join(file, 'mailroom-export'))}.`)
        : say(`${where} is a folder, not a file.`, 'Give the path of a file inside it.');
    case 'ENAMETOOLONG':
      return say(`the name ${where} is too long for the file system.`, 'Choose a shorter file name (at most about 200 characters) or a folder with a shorter path.');
    case 'EACCES':
    case 'EPERM':
      return say(
        output ? `Mailroom may not write ${where}.` : `Mailroom may not read ${where}.`,
        output ? 'Choose a folder you may write to (such as your Documents folder), or clear the file\'s Read-only attribute.' : 'Run Mailroom as a user who may read it, or copy the file somewhere you can read.',
      );
    case 'EROFS':
      return say(`${where} is on a read-only drive.`, 'Choose a folder on a drive you can write to.');
    case 'EBUSY':
    case 'ETXTBSY':
      return say(`${where} is in use by another program.`, 'Close the file in the program that has it open (such as Excel), or choose another name.');
    case 'EINVAL':
      return say(`${where} is not a valid file name here.`, 'Leave out characters such as < > : " | ? * and control characters, and names such as CON or NUL.');
    case 'ELOOP':
      return say(`${where} is a loop of links.`, 'Give the path of a real file or folder.');
    case 'EEXIST':
      return role === 'folder'
        ? say(`${where} is a file, not a folder.`, 'Give a folder (it is created when missing), or move the file out of the way.')
        : say(`${where} already exists and cannot be replaced.`, 'Choose another name.');
    case 'EMFILE':
    case 'ENFILE':
      return say(`too many files are open to use ${where}.`, 'Close other programs and try again.', output ? 'OUTPUT_WRITE_FAILED' : code);
    case 'ENOSPC':
    case 'EDQUOT':
      return say(`the drive of ${where} is full.`, 'Free some space or choose another drive.', output ? 'OUTPUT_WRITE_FAILED' : code);
    default:
      return say(`${output ? 'writing' : 'reading'} ${where} failed (${errno}).`, output ? 'Choose another folder, and check the drive.' : 'Check the file and the drive.', output ? 'OUTPUT_WRITE_FAILED' : code);
  }
}

const WRITING_CALLS = new Set(['open', 'write', 'rename', 'mkdir', 'unlink', 'rm', 'rmdir', 'copyfile', 'symlink', 'link', 'chmod', 'utime', 'fsync', 'close']);

/**
 * A file-system error that reached the top without saying which flag it was
 * about (a bug, but the admin still gets the path and a hint): FILE_ACCESS_FAILED.
 */
export function unexpectedFileError(error: NodeJS.ErrnoException): AppError {
  const file = typeof error.path === 'string' ? error.path : 'a file';
  const role = WRITING_CALLS.has(error.syscall ?? '') && error.syscall !== 'open' ? 'output' : 'input';
  return fileError(error, file, { flag: '', role }, 'FILE_ACCESS_FAILED');
}

/** Refuses a file that is not a regular file (a device, a pipe, a folder). */
function notRegular(file: string, stat: fs.Stats, { flag, role }: FileRole): AppError | undefined {
  if (stat.isFile()) return undefined;
  if (stat.isDirectory()) return fileError(Object.assign(new Error('EISDIR'), { code: 'EISDIR', syscall: 'open' }), file, { flag, role });
  return new AppError(role === 'output' ? 'OUTPUT_PATH_INVALID' : 'INPUT_FILE_UNREADABLE', `${flag}: ${shown(file)} is not a regular file (a device or a pipe).`, {
    hint: 'Give the path of an ordinary file.',
  });
}

/**
 * Checks that `file` can be written, before any work: its folder exists, it
 * is not a folder or a device, and a file with a longer name can be created
 * beside it (then removed). Returns the absolute path.
 */
export function checkOutputPath(file: string, flag: string): string {
  const role: FileRole = { flag, role: 'output' };
  if (!file.trim()) throw new AppError('OUTPUT_PATH_INVALID', `${flag} needs a file name.`, { hint: `Give the file to write, e.g. ${flag} mailroom-export.txt` });
  if (file.includes('\0')) throw fileError(Object.assign(new Error('EINVAL'), { code: 'EINVAL', syscall: 'open' }), file, role);
  const target = path.resolve(file);
  try {
    const existing = statOrUndefined(target);
    if (existing) {
      const refused = notRegular(target, existing, role);
      if (refused) throw refused;
    }
    const folder = statOrUndefined(path.dirname(target));
    if (!folder) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT', syscall: 'stat' });
    if (!folder.isDirectory()) throw Object.assign(new Error('ENOTDIR'), { code: 'ENOTDIR', syscall: 'stat' });
    // Writers put a temporary file beside the target first; probe with a name at least as long.
    const probe = `${target}.${crypto.randomBytes(4).toString('hex')}.mailroom-probe`;
    fs.closeSync(fs.openSync(probe, 'wx'));
    fs.rmSync(probe, { force: true });
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw fileError(error, target, role);
  }
  return target;
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Writes `data` to `file` through a temporary file beside it and a rename, so
 * a half-written file never looks finished. Errors come as OUTPUT_PATH_INVALID
 * or OUTPUT_WRITE_FAILED naming the flag.
 */
export function writeOutputFile(file: string, flag: string, data: string | Buffer): string {
  const target = checkOutputPath(file, flag);
  const temp = `${target}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temp, data);
    fs.renameSync(temp, target);
  } catch (error) {
    removeQuietly(temp);
    throw fileError(error, target, { flag, role: 'output' });
  }
  return target;
}

/** Removes a file if it is there, never throwing (the name itself may be what failed). */
export function removeQuietly(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // Nothing was there to remove, or it cannot be named: either way nothing is left behind by us.
  }
}

/** Reads a whole input file, refusing folders, devices and files over `maxBytes`. */
export function readInputFile(file: string, flag: string, maxBytes: number): Buffer {
  const role: FileRole = { flag, role: 'input' };
  if (!file.trim()) throw new AppError('INPUT_FILE_UNREADABLE', `${flag} needs a file name.`, { hint: 'Give the path of the file to read.' });
  if (file.includes('\0')) throw fileError(Object.assign(new Error('EINVAL'), { code: 'EINVAL', syscall: 'open' }), file, role);
  const source = path.resolve(file);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(source);
  } catch (error) {
    throw fileError(error, source, role);
  }
  const refused = notRegular(source, stat, role);
  if (refused) throw refused;
  if (stat.size > maxBytes) {
    throw new AppError('INPUT_FILE_UNREADABLE', `${flag}: ${shown(source)} is ${(stat.size / 1048576).toFixed(1)} MB; at most ${Math.round(maxBytes / 1048576)} MB is read.`, {
      hint: 'Check that this is the right file.',
    });
  }
  try {
    return fs.readFileSync(source);
  } catch (error) {
    throw fileError(error, source, role);
  }
}

/** Lists a folder named on the command line. */
export function readInputFolder(folder: string, flag: string): string[] {
  const role: FileRole = { flag, role: 'input-folder' };
  if (folder.includes('\0')) throw fileError(Object.assign(new Error('EINVAL'), { code: 'EINVAL', syscall: 'scandir' }), folder, role);
  try {
    return fs.readdirSync(path.resolve(folder));
  } catch (error) {
    if (errnoOf(error) === 'ENOTDIR') {
      throw new AppError('INPUT_FILE_UNREADABLE', `${flag}: ${shown(folder)} is a file, not a folder.`, { hint: 'Give the folder that holds the files.' });
    }
    throw fileError(error, path.resolve(folder), role);
  }
}
