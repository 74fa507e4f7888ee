/** `mailroom outbox list | show | retry | cancel | delete | send-now | settings`. */
import { OUTBOX_STATUSES, PENDING_STATUSES, type OutboxDetail, type OutboxStatus, type OutboxSummary } from '../../shared/outbox.js';
import type { CommonOptions } from '../context.js';
import { printJson, table, usageError } from '../output.js';
import { withOutboxEngine } from './send.js';
import { toCliWords } from '../../shared/setting-words.js';
import { stageLabel } from '../../shared/step-words.js';

function positiveInt(value: string | undefined, flag: string, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1 || n > max) throw usageError(`${flag} must be a whole number from 1 to ${max}, not "${value}".`);
  return n;
}

function parseStatuses(value: string | undefined): OutboxStatus[] | undefined {
  if (value === undefined) return undefined;
  const out = new Set<OutboxStatus>();
  for (const part of value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    if (part === 'pending') PENDING_STATUSES.forEach((s) => out.add(s));
    else if ((OUTBOX_STATUSES as readonly string[]).includes(part)) out.add(part as OutboxStatus);
    else throw usageError(`--status must be one of ${OUTBOX_STATUSES.join(', ')} or pending (several separated by commas), not "${part}".`);
  }
  return [...out];
}

function when(ms: number | null): string {
  if (ms === null) return '-';
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function clip(text: string | null | undefined, max: number): string {
  const t = (text ?? '').replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function statusWord(m: OutboxSummary): string {
  return m.status === 'sent' && m.lastError ? 'sent (some refused)' : m.status === 'waiting-sign-in' ? 'waiting for sign-in' : m.status;
}

/** `mailroom outbox list [--mailbox M] [--status S] [--text T] [--limit N]`: JSON is an array of messages, newest first. */
export async function listCommand(f: CommonOptions & { mailbox?: string; status?: string; text?: string; limit?: string }): Promise<void> {
  await withOutboxEngine(f, (engine) => {
    const limit = positiveInt(f.limit, '--limit', 1000) ?? 50;
    const statuses = parseStatuses(f.status);
    const mailboxId = f.mailbox !== undefined ? engine.mailboxes.resolve(f.mailbox).id : undefined;
    const page = engine.outbox.list({ view: 'all', limit, ...(statuses ? { statuses } : {}), ...(mailboxId !== undefined ? { mailboxId } : {}), ...(f.text ? { text: f.text } : {}) });
    if (f.json) return printJson(page.items);
    if (!page.items.length) return void process.stdout.write('No messages.\n');
    process.stdout.write(
      table(
        ['ID', 'STATUS', 'MAILBOX', 'TO', 'SUBJECT', 'TRIES', 'NEXT TRY / SENT', 'LAST ERROR'],
        page.items.map((m) => [
          String(m.id),
          statusWord(m),
          clip(m.mailboxName, 16),
          clip(m.to, 28) + (m.recipientCount > 1 ? ` (+${m.recipientCount - 1})` : ''),
          clip(m.subject, 30),
          `${m.attempts}/${m.maxAttempts}`,
          m.status === 'sent' ? when(m.sentAt) : m.status === 'waiting-sign-in' ? 'after sign-in' : when(m.nextAttemptAt),
          m.lastError ? `${m.lastError.code}` : '',
        ]),
      ),
    );
    if (page.nextCursor) process.stdout.write(`(more: raise --limit, or narrow with --status / --mailbox / --text)\n`);
  });
}

function printDetail(m: OutboxDetail): void {
  const lines = [
    `Message ${m.id}: ${statusWord(m)}`,
    `  Mailbox:     ${m.mailboxName}`,
    `  From:        ${m.from}`,
    `  Subject:     ${m.subject}`,
    `  Message-ID:  <${m.messageId}>`,
    `  Size:        ${m.size} bytes; queued ${when(m.createdAt)} from ${m.source}${m.submittedBy ? ` by ${m.submittedBy}` : ''}`,
    `  Tries:       ${m.attempts} of ${m.maxAttempts}${m.nextAttemptAt !== null ? `; next ${when(m.nextAttemptAt)}` : ''}`,
  ];
  if (m.status === 'sent') lines.push(`  Sent:        ${when(m.sentAt)}: ${m.acceptedReply ?? ''}${m.serverQueueId ? ` (queue id ${m.serverQueueId})` : ''}`);
  if (m.status === 'waiting-sign-in') {
    lines.push(`  Waiting:     for ${m.mailboxName}'s Microsoft sign-in; no tries are spent until then, and it is sent at once after it.`);
    lines.push(`               Sign in: mailroom oauth login "${m.mailboxName}" (or "Sign in again" on the mailbox in Mailroom).`);
  }
  lines.push('  Recipients:');
  for (const r of m.recipients) lines.push(`    ${r.status.padEnd(8)} ${r.address}${r.reply ? `  ${r.reply}` : ''}`);
  if (m.lastError) {
    lines.push(`  Last error:  [${m.lastError.code}] ${m.lastError.message}${m.lastError.stage ? ` (at step: ${stageLabel(m.lastError.stage)})` : ''}`);
    if (m.lastError.hint) lines.push(`  What to change: ${toCliWords(m.lastError.hint)}`);
    if (m.lastError.serverReply) lines.push(`  Server said (${m.lastError.stage ? stageLabel(m.lastError.stage) : 'reply'}): ${m.lastError.serverReply}`);
  }
  lines.push('  History:');
  for (const h of m.history) lines.push(`    ${when(h.at)}  ${h.status.padEnd(9)} ${h.note ?? ''}`);
  if (m.transcript) {
    lines.push('  Transcript of the last try (secrets redacted):');
    for (const t of m.transcript) lines.push(`    ${String(t.t).padStart(6)} ms ${t.dir === 'info' ? '  ' : t.dir + ':'} ${t.text}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

function parseId(id: string): number {
  if (!/^\d{1,15}$/.test(id.trim()) || Number(id) < 1) throw usageError(`The message id must be a positive whole number (see "mailroom outbox list"), not "${id}".`);
  return Number(id);
}

/** `mailroom outbox show|retry|cancel|delete|send-now ID`. */
export async function actionCommand(action: 'show' | 'retry' | 'cancel' | 'delete' | 'send-now', idText: string, f: CommonOptions): Promise<void> {
  await withOutboxEngine(f, (engine) => {
    const id = parseId(idText);
    if (action === 'show') {
      const detail = engine.outbox.get(id);
      return f.json ? printJson(detail) : printDetail(detail);
    }
    if (action === 'delete') {
      const result = engine.outbox.delete(id);
      return f.json ? printJson(result) : void process.stdout.write(`Deleted message ${id}.\n`);
    }
    const summary = action === 'retry' ? engine.outbox.retry(id) : action === 'cancel' ? engine.outbox.cancel(id) : engine.outbox.sendNow(id);
    if (f.json) return printJson(summary);
    const state = engine.outbox.engineState();
    const sender = state.heldBy ? '' : ' Nothing is sending this outbox right now: start Mailroom, or run "mailroom engine run --until-idle".';
    process.stdout.write(`Message ${id} is ${summary.status}.${summary.status === 'queued' ? sender : ''}\n`);
  });
}

type SettingsFlags = CommonOptions & {
  maxAttempts?: string;
  firstRetrySeconds?: string;
  retryFactor?: string;
  maxRetrySeconds?: string;
  connections?: string;
  messagesPerConnection?: string;
  timeoutSeconds?: string;
  debug?: string;
};

/** `mailroom outbox settings <mailbox> [--max-attempts N] ...`. */
export async function settingsCommand(mailboxText: string, f: SettingsFlags): Promise<void> {
  await withOutboxEngine(f, (engine) => {
    const mailbox = engine.mailboxes.resolve(mailboxText);
    let debug: boolean | undefined;
    if (f.debug !== undefined) {
      if (!/^(on|off|true|false)$/i.test(f.debug)) throw usageError(`--debug must be on or off, not "${f.debug}".`);
      debug = /^(on|true)$/i.test(f.debug);
    }
    const changes = {
      ...(f.maxAttempts !== undefined ? { maxAttempts: f.maxAttempts } : {}),
      ...(f.firstRetrySeconds !== undefined ? { firstRetrySeconds: f.firstRetrySeconds } : {}),
      ...(f.retryFactor !== undefined ? { retryFactor: f.retryFactor } : {}),
      ...(f.maxRetrySeconds !== undefined ? { maxRetrySeconds: f.maxRetrySeconds } : {}),
      ...(f.connections !== undefined ? { connections: f.connections } : {}),
      ...(f.messagesPerConnection !== undefined ? { messagesPerConnection: f.messagesPerConnection } : {}),
      ...(f.timeoutSeconds !== undefined ? { timeoutSeconds: f.timeoutSeconds } : {}),
      ...(debug !== undefined ? { debug } : {}),
    };
    const settings = Object.keys(changes).length ? engine.outbox.saveSettings({ mailboxId: mailbox.id, ...changes }) : engine.outbox.settings(mailbox.id);
    if (f.json) return printJson(settings);
    process.stdout.write(
      [
        `Outbox settings of ${mailbox.name}:`,
        `  tries:            ${settings.maxAttempts}`,
        `  first wait:       ${settings.firstRetrySeconds} s, then x${settings.retryFactor} each time, at most ${settings.maxRetrySeconds} s`,
        `  connections:      ${settings.connections}, ${settings.messagesPerConnection} messages each`,
        `  timeout:          ${settings.timeoutSeconds} s`,
        `  debug transcript: ${settings.debug ? 'on' : 'off'}`,
      ].join('\n') + '\n',
    );
  });
}
