/**
 * Runs the CLI in this process through its real entry function (runMailroom,
 * which the `mailroom` process runs too), with stdout, stderr, stdin and the
 * environment captured and restored: a thousand command lines in seconds,
 * where a thousand processes would take minutes on two busy cores. Tests
 * that need the process itself (exit codes set by Node, signals) use cli.ts.
 */
import { Readable } from 'node:stream';
import { runMailroom } from '../../src-main/cli/run';

export interface InProcessResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (undefined when it is not JSON). */
  json: any;
  ms: number;
  /** The command did not finish within the time given (a hang is a fault). */
  timedOut: boolean;
}

type Write = typeof process.stdout.write;

function capture(sink: Buffer[]): Write {
  return function write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    const cb = typeof encoding === 'function' ? encoding : callback;
    const enc = typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8';
    sink.push(Buffer.isBuffer(chunk) ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk) : Buffer.from(String(chunk), enc));
    if (typeof cb === 'function') process.nextTick(cb as () => void);
    return true;
  } as Write;
}

let running = false;

/** Runs `mailroom <args>` in-process. One at a time: stdout and the environment are process-wide. */
export async function runCliInProcess(
  args: string[],
  options: { input?: string; env?: Record<string, string | undefined>; timeoutMs?: number; cwd?: string } = {},
): Promise<InProcessResult> {
  if (running) throw new Error('runCliInProcess: one command at a time');
  running = true;
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const writes = { out: process.stdout.write, err: process.stderr.write };
  const stdinDescriptor = Object.getOwnPropertyDescriptor(process, 'stdin')!;
  const savedEnv = new Map<string, string | undefined>();
  const savedCwd = process.cwd();
  const savedExitCode = process.exitCode;
  for (const [key, value] of Object.entries(options.env ?? {})) {
    savedEnv.set(key, process.env[key]);
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  let code = -1;
  try {
    if (options.cwd) process.chdir(options.cwd);
    Object.defineProperty(process, 'stdin', { value: Readable.from(options.input ? [Buffer.from(options.input)] : []), configurable: true, enumerable: true });
    process.stdout.write = capture(out);
    process.stderr.write = capture(err);
    const limit = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), options.timeoutMs ?? 30_000)));
    const outcome = await Promise.race([runMailroom(['node', 'mailroom', ...args]), limit]);
    if (outcome === 'timeout') timedOut = true;
    else code = outcome;
  } finally {
    clearTimeout(timer);
    process.stdout.write = writes.out;
    process.stderr.write = writes.err;
    Object.defineProperty(process, 'stdin', stdinDescriptor);
    for (const [key, value] of savedEnv) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    process.chdir(savedCwd);
    process.exitCode = savedExitCode;
    running = false;
  }
  const stdout = Buffer.concat(out).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  return { code, stdout, stderr: Buffer.concat(err).toString('utf8'), json, ms: Date.now() - started, timedOut };
}
