/** `mailroom send`: queue composed messages or .eml files in the outbox. */
import fs from 'node:fs';
import path from 'node:path';
import type { QueueResult } from '../../shared/outbox.js';
import { AppError, isAppError } from '../../shared/errors.js';
import { resolveDataDir } from '../../engine/data-dir.js';
import type { OutboxEngine } from '../../engine/outbox/open-outbox.js';
import type { CommonOptions } from '../context.js';
import { printJson, reportError, usageError } from '../output.js';

export interface SendOptions extends CommonOptions {
  mailbox: string;
  to?: string[];
  cc?: string[];
  bcc?: string[];
  subject?: string;
  text?: string;
  eml?: string[];
  emlDir?: string;
}

/** Runs a body over the lean outbox engine, reporting errors with the right exit code. */
export async function withOutboxEngine(options: CommonOptions, body: (engine: OutboxEngine) => Promise<void> | void): Promise<void> {
  let engine: OutboxEngine | undefined;
  try {
    const { openOutboxEngine } = await import('../../engine/outbox/open-outbox.js');
    engine = openOutboxEngine({ dataDir: resolveDataDir(options.dataDir) });
    await body(engine);
  } catch (error) {
    reportError(error, Boolean(options.json));
  } finally {
    await engine?.close();
  }
}

function emlFiles(f: SendOptions): string[] {
  const files = [...(f.eml ?? [])];
  if (f.emlDir) {
    let names: string[];
    try {
      names = fs.readdirSync(f.emlDir);
    } catch (error) {
      throw usageError(`--eml-dir: cannot read the folder ${f.emlDir} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, 'Give an existing folder that holds .eml files.');
    }
    const found = names.filter((n) => n.toLowerCase().endsWith('.eml')).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    if (!found.length) throw usageError(`--eml-dir: the folder ${f.emlDir} holds no .eml files.`);
    files.push(...found.map((n) => path.join(f.emlDir!, n)));
  }
  return files;
}

function readFile(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (error) {
    throw usageError(`--eml: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, 'Check the file name and that you may read it.');
  }
}

/** Names the flags in a validation error of the composed message (`to.1` is the second --to). */
function withSendFlags(error: unknown): unknown {
  if (!isAppError(error) || !error.issues?.length) return error;
  const flag = (p: string) => {
    const [field, index] = p.split('.');
    const name = { to: '--to', cc: '--cc', bcc: '--bcc', subject: '--subject', text: '--text', mailboxId: '--mailbox' }[field ?? ''] ?? p;
    return index !== undefined ? `${name} (value ${Number(index) + 1})` : name;
  };
  const issues = error.issues.map((i) => ({ ...i, path: flag(i.path) }));
  return new AppError('VALIDATION_FAILED', `Invalid message: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, { issues });
}

/** Who sends what is queued, for the human output. */
function whoSends(engine: OutboxEngine): string {
  const state = engine.outbox.engineState();
  if (state.heldBy) return `The Mailroom running as process ${state.heldBy.pid} (${state.heldBy.runtime}) sends it within seconds.`;
  return 'Nothing is sending this outbox right now: start Mailroom, or run "mailroom engine run --until-idle".';
}

/** `mailroom send --mailbox M (--to ... --subject S --text T | --eml FILE... | --eml-dir DIR)`. */
export async function sendCommand(f: SendOptions): Promise<void> {
  await withOutboxEngine(f, async (engine) => {
    const composing = Boolean(f.to?.length || f.subject !== undefined || f.text !== undefined || f.cc?.length || f.bcc?.length);
    const files = f.eml?.length || f.emlDir ? emlFiles(f) : [];
    if (composing && files.length) throw usageError('Give either --to/--subject/--text or --eml/--eml-dir, not both.');
    let result: QueueResult;
    if (files.length) {
      result = engine.outbox.queueRaw(f.mailbox, files.map((file) => ({ raw: readFile(file), sourceName: path.basename(file) })), 'eml', 'cli');
    } else {
      if (!f.to?.length) throw usageError('--to is required (or give --eml / --eml-dir).', 'Example: mailroom send --mailbox Support --to alice@example.com --subject "Test" --text "Hello"');
      if (f.subject === undefined) throw usageError('--subject is required with --to.');
      if (f.text === undefined) throw usageError('--text is required with --to.');
      const mailbox = engine.mailboxes.resolve(f.mailbox);
      result = await engine.outbox
        .compose({ mailboxId: mailbox.id, to: f.to, ...(f.cc?.length ? { cc: f.cc } : {}), ...(f.bcc?.length ? { bcc: f.bcc } : {}), subject: f.subject, text: f.text }, 'cli', 'cli')
        .catch((error: unknown) => {
          throw withSendFlags(error);
        });
    }
    if (f.json) printJson(result);
    else {
      const ids = result.messages.map((m) => m.id);
      const range = result.queued === 1 ? `id ${ids[0]}` : `ids ${ids[0]}-${ids[0]! + result.queued - 1}`;
      process.stdout.write(`Queued ${result.queued} message${result.queued === 1 ? '' : 's'} (${range}) for ${result.messages[0]?.mailboxName ?? f.mailbox}.\n${whoSends(engine)}\n`);
    }
  });
}
