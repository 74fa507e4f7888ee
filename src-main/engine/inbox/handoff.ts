/**
 * The handoff folder: each imported message is also written there as an
 * .eml file for the next system to pick up. A file appears complete or not
 * at all: the bytes go to a hidden temporary name (`.name.eml.partial`,
 * which a watcher of *.eml ignores), are flushed to disk, then renamed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { AppError } from '../../shared/errors.js';

/** The file name of a message's .eml copy: unique per message, sortable by time. */
export function handoffFileName(mailboxName: string | null, messageRowId: number, importedAt: number): string {
  const stamp = new Date(importedAt).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  // Windows forbids \ / : * ? " < > | and names ending in a dot or space.
  const safeName = (mailboxName ?? 'mailbox').replace(/[\\/:*?"<>|\x00-\x1f]+/g, '_').replace(/[. ]+$/, '').slice(0, 60) || 'mailbox';
  return `${stamp}-${safeName}-${messageRowId}.eml`;
}

/**
 * Writes the bytes to `dir/fileName` atomically: temporary file, flush,
 * rename. Returns the final path. Throws HANDOFF_FAILED naming the folder
 * and what to change.
 */
export function writeHandoffFile(dir: string, fileName: string, raw: Buffer): string {
  const finalPath = path.join(dir, fileName);
  const tempPath = path.join(dir, `.${fileName}.partial`);
  try {
    if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error(`${dir} is not a folder`), { code: 'ENOTDIR' });
    const fd = fs.openSync(tempPath, 'w');
    try {
      fs.writeSync(fd, raw);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tempPath, finalPath);
    return finalPath;
  } catch (error) {
    try {
      fs.rmSync(tempPath, { force: true });
    } catch {
      // Nothing more to do: the temporary name is ignored by consumers anyway.
    }
    const code = (error as NodeJS.ErrnoException).code;
    const hint =
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `Create the folder ${dir}, or choose another handoff folder on the Inbox screen.`
        : code === 'EACCES' || code === 'EPERM'
          ? `Give the account running Mailroom permission to write to ${dir} (folder Properties > Security), or choose another handoff folder.`
          : code === 'ENOSPC'
            ? `The disk holding ${dir} is full: free some space.`
            : `Check that ${dir} is reachable and writable.`;
    throw new AppError('HANDOFF_FAILED', `Cannot write ${fileName} to the handoff folder ${dir}: ${(error as Error).message}`, { hint, cause: error });
  }
}
