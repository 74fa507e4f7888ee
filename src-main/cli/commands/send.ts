/** `mailroom send`: queue composed messages or .eml files in the outbox. */
import path from 'node:path';
import type { QueueResult } from '../../shared/outbox.js';
import type { OutboxEngine } from '../../engine/outbox/open-outbox.js';
import { dataDirOf, type CommonOptions } from '../context.js';
import { printJson, reportError, usageError } from '../output.js';
import { readInputFile, readInputFolder } from '../files.js';

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
    engine = openOutboxEngine({ dataDir: dataDirOf(options) });
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
    const names = readInputFolder(f.emlDir, '--eml-dir');
    const found = names.filter((n) => n.toLowerCase().endsWith('.eml')).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    if (!found.length) throw usageError(`--eml-dir: the folder ${f.emlDir} holds no .eml files.`);
    files.push(...found.map((n) => path.join(f.emlDir!, n)));
  }
  return files;
}

/** A little over what the outbox queues, so that its own message about the size is the one shown. */
const MAX_EML_BYTES = 160 * 1024 * 1024;

/** Who sends what is queued, for the human output. */
function whoSends(engine: OutboxEngine): string {
  const state = engine.outbox.engineState();
  if (state.heldBy) return `The Mailroom running as process ${state.heldBy.pid} (${state.heldBy.runtime}) sends it within seconds.`;
  return 'Nothing is sending this outbox right now: start Mailroom, or run "mailroom engine run --until-idle".';
}

/** `mailroom send --mailbox M (--to ... --subject S --text T | --eml FILE... | --eml-dir DIR)`. */
export async function sendCommand(f: SendOptions): Promise<void> {
  // What was typed, and the files it names, are checked before the data folder is opened.
  let raws: { raw: Buffer; sourceName: string }[] = [];
  try {
    const composing = Boolean(f.to?.length || f.subject !== undefined || f.text !== undefined || f.cc?.length || f.bcc?.length);
    const files = f.eml?.length || f.emlDir ? emlFiles(f) : [];
    if (composing && files.length) throw usageError('Give either --to/--subject/--text or --eml/--eml-dir, not both.');
    if (!files.length) {
      if (!f.to?.length) throw usageError('--to is required (or give --eml / --eml-dir).', 'Example: mailroom send --mailbox Support --to alice@example.com --subject "Test" --text "Hello"');
      if (f.subject === undefined) throw usageError('--subject is required with --to.');
      if (f.text === undefined) throw usageError('--text is required with --to.');
    }
    const named = new Set(f.eml ?? []);
    raws = files.map((file) => ({ raw: readInputFile(file, named.has(file) ? '--eml' : '--eml-dir', MAX_EML_BYTES), sourceName: path.basename(file) }));
  } catch (error) {
    return reportError(error, Boolean(f.json));
  }
  await withOutboxEngine(f, async (engine) => {
    let result: QueueResult;
    if (raws.length) {
      result = engine.outbox.queueRaw(f.mailbox, raws, 'eml', 'cli');
    } else {
      const mailbox = engine.mailboxes.resolve(f.mailbox);
      result = await engine.outbox.compose(
        { mailboxId: mailbox.id, to: f.to!, ...(f.cc?.length ? { cc: f.cc } : {}), ...(f.bcc?.length ? { bcc: f.bcc } : {}), subject: f.subject!, text: f.text! },
        'cli',
        'cli',
      );
    }
    if (f.json) printJson(result);
    else {
      const ids = result.messages.map((m) => m.id);
      const range = result.queued === 1 ? `id ${ids[0]}` : `ids ${ids[0]}-${ids[0]! + result.queued - 1}`;
      process.stdout.write(`Queued ${result.queued} message${result.queued === 1 ? '' : 's'} (${range}) for ${result.messages[0]?.mailboxName ?? f.mailbox}.\n${whoSends(engine)}\n`);
    }
  });
}
