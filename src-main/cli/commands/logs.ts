/** `mailroom logs` and `mailroom logs export`. */
import { LogFilterInput, LOG_EXPORT_FORMATS, type LogExportFormat } from '../../shared/contract/logs.js';
import type { LogEntry } from '../../shared/activity-log.js';
import { parseOrThrow } from '../../shared/validation.js';
import { exportLogs, localTimestamp } from '../../engine/log-export.js';
import type { Mailroom } from '../../engine/mailroom.js';
import { withEngine, type CommonOptions } from '../context.js';
import { printJson, reportError, usageError } from '../output.js';
import { checkOutputPath } from '../files.js';

interface FilterFlags extends CommonOptions {
  mailbox?: string;
  direction?: string;
  level?: string;
  code?: string;
  text?: string;
  since?: string;
  until?: string;
}

/** Parses `--since`/`--until`: an ISO date/time, or a span back from now such as 30m, 24h or 7d. */
export function parseTime(value: string, flag: string, now = Date.now()): number {
  const span = /^(\d+)\s*(s|m|h|d|w)$/i.exec(value.trim());
  if (span) {
    const unit = { s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 }[span[2]!.toLowerCase() as 's' | 'm' | 'h' | 'd' | 'w'];
    return now - Number(span[1]) * unit;
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw usageError(`${flag} "${value}" is not a time: use an ISO date/time such as 2026-11-25T08:00, or a span such as 30m, 24h or 7d.`);
  return t;
}

function toFilter(engine: Mailroom, f: FilterFlags): LogFilterInput {
  const raw = {
    ...(f.mailbox ? { mailboxId: engine.mailboxes.resolve(f.mailbox).id } : {}),
    ...(f.direction ? { direction: f.direction } : {}),
    ...(f.level ? { level: f.level } : {}),
    ...(f.code ? { code: f.code } : {}),
    ...(f.text ? { text: f.text } : {}),
    ...(f.since ? { since: parseTime(f.since, '--since') } : {}),
    ...(f.until ? { until: parseTime(f.until, '--until') } : {}),
  };
  return parseOrThrow(LogFilterInput, raw, 'filter');
}

const MARK: Record<LogEntry['level'], string> = { success: 'OK  ', warning: 'WARN', error: 'ERR ', info: 'INFO' };

export async function showLogs(f: FilterFlags & { limit?: string }): Promise<void> {
  await withEngine(f, (engine) => {
    const limit = f.limit === undefined ? 50 : Number(f.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw usageError('--limit must be a whole number from 1 to 10000.');
    const entries = engine.log.query(toFilter(engine, f), limit);
    if (f.json) return printJson(entries);
    if (!entries.length) return void process.stdout.write('No log entries match.\n');
    for (const e of entries) {
      const who = e.mailboxName ?? (e.mailboxId !== null ? `#${e.mailboxId}` : '-');
      process.stdout.write(`${localTimestamp(e.at)}  ${MARK[e.level]}  ${e.direction.padEnd(7)}  ${who.padEnd(16)}  ${e.code ? `[${e.code}] ` : ''}${e.message}\n`);
      if (e.detail && e.level === 'error') process.stdout.write(`${' '.repeat(29)}${e.detail.replace(/\n/g, '\n' + ' '.repeat(29))}\n`);
    }
  });
}

export async function exportLogsCommand(f: FilterFlags & { format: string; out: string }): Promise<void> {
  // What was typed is checked before the data folder is opened: a usage error touches nothing.
  let target: string;
  try {
    if (!(LOG_EXPORT_FORMATS as readonly string[]).includes(f.format)) throw usageError(`--format must be one of: ${LOG_EXPORT_FORMATS.join(', ')}.`);
    target = checkOutputPath(f.out, '--out');
  } catch (error) {
    return reportError(error, Boolean(f.json));
  }
  await withEngine(f, async (engine) => {
    const showProgress = !f.json && process.stderr.isTTY;
    const result = await exportLogs(engine.log, toFilter(engine, f), f.format as LogExportFormat, target, {
      onProgress: showProgress ? (written, total) => process.stderr.write(`\rexporting ${written}/${total}`) : undefined,
    });
    if (showProgress) process.stderr.write('\n');
    if (f.json) printJson(result);
    else process.stdout.write(`Wrote ${result.rows} entries to ${result.path} (${Math.ceil(result.bytes / 1024)} KB).\n`);
  });
}
