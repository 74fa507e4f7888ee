/**
 * Reading a web.config and replacing it safely: a timestamped backup next to
 * it first, then the new bytes to a temporary file in the same folder,
 * flushed, and renamed over the original (atomic on NTFS and POSIX). On
 * Windows, IIS, editors and virus scanners briefly lock the file: the rename
 * is retried a few times, then refused with a clear error and the original
 * left untouched.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../../shared/errors.js';
import { webConfigBackupName } from '../../shared/site-setup.js';

/** Largest config file accepted: real web.config files are a few hundred KB at most. */
export const MAX_CONFIG_BYTES = 10 * 1024 * 1024;

/** File operations the writer uses; tests inject failures into them. */
export interface FileOps {
  rename(from: string, to: string): void;
}

const realOps: FileOps = { rename: (from, to) => fs.renameSync(from, to) };

const codeOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code;

/** Reads the whole file, with errors that say what to change. */
export function readConfigFile(filePath: string): { path: string; bytes: Buffer } {
  const absolute = path.resolve(filePath);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(absolute);
  } catch (error) {
    if (codeOf(error) === 'ENOENT' || codeOf(error) === 'ENOTDIR') {
      throw new AppError('WEBCONFIG_NOT_FOUND', `There is no file at ${absolute}.`, {
        hint: 'Give the full path of web.config, e.g. C:\\Program Files\\SuperOffice\\SuperOffice Web\\web.config (the folder IIS serves the site from).',
      });
    }
    throw unreadable(absolute, error);
  }
  if (stat.isDirectory()) {
    const inside = path.join(absolute, 'web.config');
    throw new AppError('WEBCONFIG_NOT_A_FILE', `${absolute} is a folder, not a file.`, {
      hint: fs.existsSync(inside) ? `Did you mean ${inside}?` : 'Give the path of the web.config file inside the site folder.',
    });
  }
  if (stat.size > MAX_CONFIG_BYTES) {
    throw new AppError('WEBCONFIG_TOO_LARGE', `${absolute} is ${(stat.size / 1024 / 1024).toFixed(1)} MB; a web.config is far smaller. Nothing was changed.`, {
      hint: 'Check that this is the right file.',
    });
  }
  try {
    return { path: absolute, bytes: fs.readFileSync(absolute) };
  } catch (error) {
    throw unreadable(absolute, error);
  }
}

function unreadable(file: string, error: unknown): AppError {
  return new AppError('WEBCONFIG_UNREADABLE', `Mailroom cannot read ${file} (${codeOf(error) ?? 'error'}).`, {
    hint: 'Run Mailroom as a user who may read the site folder (on a server: as administrator).',
  });
}

function stamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}-${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
}

/** The backup name: `web.config.mailroom-YYYYMMDD-HHMMSS.bak` in local time, next to the file. */
export function backupPathFor(file: string, date: Date): string {
  return path.join(path.dirname(file), webConfigBackupName(path.basename(file), stamp(date)));
}

function fsyncFile(file: string, bytes: Buffer, flag: string): void {
  const fd = fs.openSync(file, flag);
  try {
    fs.writeSync(fd, bytes, 0, bytes.length, 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}


const LOCK_CODES = new Set(['EBUSY', 'EPERM', 'EACCES']);

const writeHint =
  'Run Mailroom as administrator (site folders under Program Files or C:\\inetpub need it), and clear the Read-only attribute of the file if it is set.';

/**
 * Replaces the file with `next` if it still holds exactly `expected`:
 * backup, temporary file, flush, rename. Returns the backup path.
 * Throws WEBCONFIG_CHANGED, WEBCONFIG_READ_ONLY, WEBCONFIG_BACKUP_FAILED,
 * WEBCONFIG_LOCKED or WEBCONFIG_WRITE_FAILED; the original stays as it was.
 */
export async function replaceConfigFile(
  file: string,
  expected: Buffer,
  next: Buffer,
  options: { now?: Date; ops?: FileOps; retryDelaysMs?: number[] } = {},
): Promise<string> {
  const ops = options.ops ?? realOps;
  // Edit the file a link points to, not the link: replacing a link would turn it into a copy.
  file = fs.realpathSync(path.resolve(file));
  const current = readConfigFile(file).bytes;
  if (!current.equals(expected)) {
    throw new AppError('WEBCONFIG_CHANGED', `${file} was changed by someone else after Mailroom read it. Nothing was written.`, {
      hint: 'Check the file again and review the new diff before saving.',
    });
  }
  try {
    fs.accessSync(file, fs.constants.W_OK);
  } catch {
    throw new AppError('WEBCONFIG_READ_ONLY', `${file} is read-only for Mailroom. Nothing was written.`, { hint: writeHint });
  }
  const mode = fs.statSync(file).mode & 0o7777;

  // 1. Backup, never overwriting an earlier one.
  const base = backupPathFor(file, options.now ?? new Date());
  let backup = base;
  for (let n = 2; ; n++) {
    try {
      fsyncFile(backup, current, 'wx');
      break;
    } catch (error) {
      if (codeOf(error) === 'EEXIST' && n < 100) {
        backup = base.replace(/\.bak$/, `-${n}.bak`);
        continue;
      }
      throw new AppError('WEBCONFIG_BACKUP_FAILED', `Mailroom could not write the backup ${backup} (${codeOf(error) ?? 'error'}), so it did not change ${file}.`, { hint: writeHint });
    }
  }

  // 2. The new content beside the file, flushed to disk.
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.mailroom-${crypto.randomBytes(6).toString('hex')}.tmp`);
  try {
    fsyncFile(temp, next, 'wx');
    if (process.platform !== 'win32') fs.chmodSync(temp, mode);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    throw new AppError('WEBCONFIG_WRITE_FAILED', `Mailroom could not write next to ${file} (${codeOf(error) ?? 'error'}). The file was not changed; the backup ${backup} is kept.`, { hint: writeHint });
  }

  // 3. Swap it in; locks on Windows are usually gone within a second.
  const delays = options.retryDelaysMs ?? [50, 100, 200, 400, 800];
  for (let attempt = 0; ; attempt++) {
    try {
      ops.rename(temp, file);
      break;
    } catch (error) {
      const code = codeOf(error);
      if (code && LOCK_CODES.has(code) && attempt < delays.length) {
        await sleep(delays[attempt]!);
        continue;
      }
      fs.rmSync(temp, { force: true });
      if (code && LOCK_CODES.has(code)) {
        throw new AppError('WEBCONFIG_LOCKED', `${file} is in use by another program (${code}) and could not be replaced. It was not changed; the backup ${backup} is kept.`, {
          hint: 'Close editors that have it open and wait for virus scanning to finish, then apply again. If it stays locked, run Mailroom as administrator.',
        });
      }
      throw new AppError('WEBCONFIG_WRITE_FAILED', `Mailroom could not replace ${file} (${code ?? 'error'}). It was not changed; the backup ${backup} is kept.`, { hint: writeHint });
    }
  }
  if (process.platform !== 'win32') {
    // Make the rename itself durable.
    try {
      const dir = fs.openSync(path.dirname(file), 'r');
      fs.fsyncSync(dir);
      fs.closeSync(dir);
    } catch {
      // Some file systems do not allow syncing a folder; the data itself is flushed.
    }
  }
  return backup;
}
