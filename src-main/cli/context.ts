/**
 * Shared plumbing of CLI commands: opening the engine over --data-dir,
 * reading secrets from the environment or stdin (never from argv).
 */
import fs from 'node:fs';
import { resolveDataDir } from '../engine/data-dir.js';
import type { Mailroom } from '../engine/mailroom.js';
import { AppError } from '../shared/errors.js';
import { fileError } from './files.js';
import { reportError, usageError } from './output.js';

export interface CommonOptions {
  dataDir?: string;
  json?: boolean;
}

/**
 * The data folder a command uses (--data-dir, else MAILROOM_DATA_DIR, else the
 * default), made if missing. Every command that opens data goes through here,
 * so a folder that cannot be used is DATA_DIR_UNUSABLE naming where it came
 * from, and an empty --data-dir never falls back to another folder.
 */
export function dataDirOf(options: CommonOptions): string {
  const source = options.dataDir !== undefined ? '--data-dir' : process.env.MAILROOM_DATA_DIR ? 'MAILROOM_DATA_DIR' : 'The default data folder';
  if (options.dataDir !== undefined && !options.dataDir.trim()) {
    throw new AppError('DATA_DIR_UNUSABLE', '--data-dir needs a folder.', { hint: 'Give the folder that holds (or will hold) Mailroom\'s data, e.g. --data-dir D:\\Mailroom; leave the flag out for the default folder.' });
  }
  const dir = resolveDataDir(options.dataDir);
  try {
    if (dir.includes('\0')) throw Object.assign(new Error('EINVAL'), { code: 'EINVAL' });
    fs.mkdirSync(dir, { recursive: true });
    if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error('EEXIST'), { code: 'EEXIST' });
  } catch (error) {
    throw fileError(error, dir, { flag: source, role: 'folder' }, 'DATA_DIR_UNUSABLE');
  }
  return dir;
}

/** Runs a command body with an open engine, reporting errors with the right exit code. */
export async function withEngine(options: CommonOptions, body: (engine: Mailroom) => Promise<void> | void): Promise<void> {
  let engine: Mailroom | undefined;
  try {
    // Loaded here, not at the top: commands that only read a secret (or need no engine) start faster.
    const { openMailroom } = await import('../engine/mailroom.js');
    engine = openMailroom({ dataDir: dataDirOf(options) });
    await body(engine);
  } catch (error) {
    reportError(error, Boolean(options.json));
  } finally {
    engine?.close();
  }
}

/**
 * Listens for the first Ctrl+C (SIGINT) or SIGTERM: `signal` resolves then.
 * Call it before starting long work, so that from then on a Ctrl+C is a clean
 * stop, never a kill; `dispose()` stops listening (when the work failed).
 */
export function untilInterrupted(): { signal: Promise<string>; dispose(): void } {
  let dispose = () => undefined as void;
  const signal = new Promise<string>((resolve) => {
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    dispose = () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    };
    const stop = (name: string) => {
      dispose();
      resolve(name);
    };
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
  return { signal, dispose: () => dispose() };
}

/** Reads a secret from the named environment variable. */
export function secretFromEnv(name: string, flag: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw usageError(`${flag} takes the NAME of an environment variable (letters, digits, _), not the secret itself.`);
  const value = process.env[name];
  if (value === undefined || value === '') throw usageError(`${flag}: the environment variable ${name} is not set or empty.`, `Set it first, e.g. on Windows: set ${name}=... (cmd) or $env:${name}="..." (PowerShell).`);
  return value;
}

/** Reads a secret from stdin: all of it, without the trailing line break. Prompts without echo on a terminal. */
export async function secretFromStdin(prompt = 'Password: ', flag = '--password-stdin'): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) return promptHidden(prompt);
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (!text) throw usageError(`${flag}: nothing was read from standard input.`, 'Pipe the secret in, e.g. from a password manager.');
  return text;
}

function promptHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    let value = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const onData = (ch: string) => {
      for (const c of ch) {
        if (c === '\r' || c === '\n') {
          done();
          return resolve(value);
        }
        if (c === '\u0003') {
          done();
          return reject(usageError('Cancelled.'));
        }
        if (c === '\u007f' || c === '\b') value = value.slice(0, -1);
        else value += c;
      }
    };
    const done = () => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}

/** Resolves the password options of a command: at most one source. */
export async function readPasswordOption(options: { passwordEnv?: string; passwordStdin?: boolean }): Promise<string | undefined> {
  if (options.passwordEnv && options.passwordStdin) throw usageError('Use either --password-env or --password-stdin, not both.');
  if (options.passwordEnv) return secretFromEnv(options.passwordEnv, '--password-env');
  if (options.passwordStdin) return secretFromStdin();
  return undefined;
}
