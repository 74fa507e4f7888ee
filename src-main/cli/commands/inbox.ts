/** `mailroom inbox poll | status | list | show | handoff`. */
import type { InboxMessageDetail, InboxMessageSummary, PollDetail } from '../../shared/inbox.js';
import { INBOX_STATUSES, serverPlaceWords } from '../../shared/inbox.js';
import { POP3_FOLDER } from '../../store/pop3-repo.js';
import type { TranscriptLine } from '../../shared/diagnosis.js';
import { dataDirOf, type CommonOptions } from '../context.js';
import type { InboxEngine } from '../../engine/inbox/open-inbox.js';
import type { MessageParser } from '../../engine/inbox/message-parser.js';
import { EXIT_FAILED, printJson, reportError, table, usageError } from '../output.js';
import { toCliWords } from '../../shared/setting-words.js';
import { lastErrorStanding, lastErrorWhen } from '../../shared/error-age.js';

/**
 * Runs a command body over the lean inbox engine (see open-inbox.ts): the
 * inbox commands are run often by schedulers, so they start fast.
 */
async function withEngine(
  options: CommonOptions,
  body: (engine: InboxEngine) => Promise<void> | void,
  /** A parser already started for this command: the engine uses it and closes it. */
  parser?: MessageParser,
): Promise<void> {
  let engine: InboxEngine | undefined;
  try {
    const { openInboxEngine } = await import('../../engine/inbox/open-inbox.js');
    engine = openInboxEngine({ dataDir: dataDirOf(options), ...(parser ? { inbox: { parser } } : {}) });
    await body(engine);
  } catch (error) {
    reportError(error, Boolean(options.json));
  } finally {
    // The engine closes the parser it was given; one given to an engine that never opened is closed here.
    if (engine) await engine.close();
    else await parser?.close();
  }
}

function positiveInt(value: string | undefined, flag: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1 || n > max) {
    throw usageError(`${flag} must be a whole number from 1${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}, not "${value}".`);
  }
  return n;
}

function formatTranscript(lines: readonly TranscriptLine[]): string {
  return lines.map((l) => `${String(l.t).padStart(7)} ms  ${l.dir === 'info' ? '  ' : `${l.dir}:`} ${l.text}`).join('\n') + '\n';
}

function counts(p: PollDetail) {
  return { fetched: p.fetched, imported: p.imported, duplicates: p.duplicates, failed: p.failed, ms: p.ms };
}

/** `mailroom inbox poll <mailbox> [--debug]`, with the parser the command started first (or one of the engine's own). */
export async function pollCommand(mailbox: string, f: CommonOptions & { debug?: boolean }, parser?: MessageParser): Promise<void> {
  await withEngine(f, async (engine) => {
    const poll: PollDetail = f.debug ? await engine.inbox.importWithDebug(mailbox) : await engine.inbox.pollNow(mailbox, 'cli');
    if (f.debug) process.stderr.write(`${poll.folder === POP3_FOLDER ? 'POP3' : 'IMAP'} transcript of poll #${poll.id} (secrets redacted; kept with the poll):\n${formatTranscript(poll.transcript)}`);
    const ok = poll.outcome === 'ok';
    if (f.json) {
      printJson(ok ? counts(poll) : { ok: false, error: { code: poll.code, message: poll.message, ...(poll.hint ? { hint: poll.hint } : {}) }, ...counts(poll) });
    } else {
      const summary = `${poll.fetched} fetched, ${poll.imported} imported, ${poll.duplicates} duplicate(s) skipped, ${poll.failed} failed in ${poll.ms} ms`;
      if (ok) process.stdout.write(`Polled ${poll.folder}: ${summary}.\n${poll.resynced ? 'The folder was renumbered on the server and was resynchronised (see "mailroom logs --direction receive").\n' : ''}`);
      else {
        process.stderr.write(`error [${poll.code}]: ${poll.message}\n${poll.hint ? `hint: ${toCliWords(poll.hint)}\n` : ''}`);
        process.stdout.write(`Poll of ${poll.folder} stopped: ${summary}.\n`);
      }
    }
    if (!ok) process.exitCode = EXIT_FAILED;
  }, parser);
}

function when(ms: number | null): string {
  if (ms === null) return '-';
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function clip(text: string | null, max: number): string {
  const t = (text ?? '').replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function size(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const HEALTH_WORD: Record<string, string> = { healthy: 'healthy', failing: 'FAILING', disabled: 'disabled', never: 'not polled yet' };

/** `mailroom inbox status [--mailbox M]`: each mailbox's receive state; a last error says how old it is and whether a later poll resolved it. */
export async function statusCommand(f: CommonOptions & { mailbox?: string }): Promise<void> {
  await withEngine(f, (engine) => {
    const only = f.mailbox !== undefined ? engine.mailboxes.resolve(f.mailbox).id : undefined;
    const now = Date.now();
    const states = engine.inbox.states().filter((st) => only === undefined || st.mailboxId === only);
    if (f.json) {
      return printJson(
        states.map((st) => ({
          ...st,
          lastError: st.lastError ? { ...st.lastError, ...lastErrorStanding(st.lastError, st.lastSuccessAt, now) } : null,
        })),
      );
    }
    if (!states.length) return void process.stdout.write('No mailboxes.\n');
    process.stdout.write(
      table(
        ['MAILBOX', 'STATE', 'LAST SUCCESS', 'LAST TRY', 'STORED', 'LAST ERROR'],
        states.map((st) => [
          st.mailboxName,
          `${HEALTH_WORD[st.health] ?? st.health}${st.consecutiveFailures ? ` (${st.consecutiveFailures} in a row)` : ''}`,
          when(st.lastSuccessAt),
          when(st.lastTryAt),
          String(st.counts.imported),
          st.lastError ? `${st.lastError.code} ${when(st.lastError.at)} (${lastErrorWhen(st.lastError, st.lastSuccessAt, now, when)})` : '-',
        ]),
      ),
    );
  });
}

/** `mailroom inbox list [--mailbox M] [--status S] [--limit N] [--before-id ID]`. */
export async function listCommand(f: CommonOptions & { mailbox?: string; status?: string; limit?: string; beforeId?: string }): Promise<void> {
  await withEngine(f, (engine) => {
    if (f.status !== undefined && !(INBOX_STATUSES as readonly string[]).includes(f.status)) {
      throw usageError(`--status must be one of: ${INBOX_STATUSES.join(', ')} (not "${f.status}").`);
    }
    const limit = positiveInt(f.limit, '--limit', 1000) ?? 50;
    const beforeId = positiveInt(f.beforeId, '--before-id');
    const mailboxId = f.mailbox !== undefined ? engine.mailboxes.resolve(f.mailbox).id : undefined;
    const page = engine.inbox.list({ ...(mailboxId !== undefined ? { mailboxId } : {}), ...(f.status ? { status: f.status } : {}), ...(beforeId ? { beforeId } : {}), limit });
    if (f.json) return printJson(page.messages);
    if (!page.messages.length) return void process.stdout.write('No imported messages match.\n');
    process.stdout.write(
      table(
        ['ID', 'STATUS', 'IMPORTED', 'MAILBOX', 'FROM', 'SUBJECT', 'SIZE', 'AFTER IMPORT'],
        page.messages.map((m: InboxMessageSummary) => [
          String(m.id),
          m.status,
          when(m.importedAt),
          clip(m.mailboxName, 16),
          clip(m.from, 32),
          clip(m.status === 'failed' ? `[${m.errorCode}] ${m.subject ?? ''}` : m.subject, 48),
          size(m.size),
          `${m.action} ${m.actionState}`,
        ]),
      ),
    );
    if (page.nextBeforeId !== null) process.stdout.write(`More: mailroom inbox list --before-id ${page.nextBeforeId}${f.mailbox ? ` --mailbox ${f.mailbox}` : ''}${f.status ? ` --status ${f.status}` : ''}\n`);
  });
}

function describe(d: InboxMessageDetail): string {
  const lines = [
    `Message #${d.id}  ${d.status}${d.errorCode ? ` [${d.errorCode}]` : ''}  ${serverPlaceWords(d).text}`,
    `Imported ${when(d.importedAt)}  size ${size(d.size)}  after import: ${d.action} (${d.actionState}${d.actionError ? `: ${d.actionError}` : ''})`,
  ];
  if (d.error) lines.push(`Error: ${d.error}`);
  if (d.duplicateOf) lines.push(`Duplicate of message #${d.duplicateOf}: the same message again (same Message-ID and content).`);
  if (d.sameMessageIdAs.length) lines.push(`Shares its Message-ID with ${d.sameMessageIdAs.map((id) => `message #${id}`).join(', ')} (different content: each is kept).`);
  if (!d.rawKept) lines.push('Its own bytes were not kept: an earlier Mailroom recorded it as a duplicate and kept only the first copy.');
  if (d.handoffState !== 'none') lines.push(`Handoff: ${d.handoffState}${d.handoffPath ? ` ${d.handoffPath}` : ''}${d.handoffError ? ` (${d.handoffError})` : ''}`);
  for (const w of d.warnings) lines.push(`Note: ${w}`);
  lines.push('', ...d.headers.map((h) => `${h.name}: ${h.value}`), '');
  if (d.attachments.length) {
    lines.push('Attachments:', ...d.attachments.map((a) => `  ${a.filename}  ${a.contentType}  ${size(a.size)}${a.disposition ? `  ${a.disposition}` : ''}`), '');
  }
  lines.push(d.text || (d.htmlSource ? '(HTML only; see the HTML source with --json)' : '(no text)'));
  if (d.truncated) lines.push('', '(cut: the full message is in --raw)');
  return lines.join('\n') + '\n';
}

/** `mailroom inbox show ID [--raw]`. */
export async function showCommand(idText: string, f: CommonOptions & { raw?: boolean }): Promise<void> {
  await withEngine(f, async (engine) => {
    const id = positiveInt(idText, '<id>');
    if (id === undefined) throw usageError('<id> is required: a message id from "mailroom inbox list".');
    if (f.raw) {
      if (f.json) return printJson(engine.inbox.raw(id, 'base64'));
      // Exactly the bytes received: no decoding, no added line break.
      const bytes = engine.inbox.rawBytes(id);
      await new Promise<void>((resolve, reject) => process.stdout.write(bytes, (error) => (error ? reject(error) : resolve())));
      return;
    }
    const detail = await engine.inbox.get(id);
    if (f.json) return printJson(detail);
    process.stdout.write(describe(detail));
  });
}

/** `mailroom inbox handoff <mailbox> [--dir D | --off]`. */
export async function handoffCommand(mailbox: string, f: CommonOptions & { dir?: string; off?: boolean }): Promise<void> {
  await withEngine(f, (engine) => {
    if (f.dir !== undefined && f.off) throw usageError('Use either --dir or --off, not both.');
    const m = engine.mailboxes.resolve(mailbox);
    let settings = engine.inbox.settings(m.id);
    if (f.dir !== undefined || f.off) {
      try {
        settings = engine.inbox.saveSettings({ mailboxId: m.id, handoffDir: f.off ? null : f.dir });
      } catch (error) {
        const issue = (error as { issues?: { path: string; message: string }[] }).issues?.[0];
        if (issue) throw usageError(`--dir ${issue.message}.`, (error as { hint?: string }).hint);
        throw error;
      }
    }
    if (f.json) return printJson(settings);
    process.stdout.write(settings.handoffDir ? `${m.name}: imported messages are also written to ${settings.handoffDir}\n` : `${m.name}: no handoff folder (messages are kept in Mailroom only).\n`);
  });
}
