/**
 * Exports of the activity log as Excel (.xlsx, streamed with exceljs), HTML
 * (one self-contained page, no scripts) or plain text. Rows are read page by
 * page, so a million entries never sit in memory; progress is reported as
 * rows are written. Files are written to a temporary name and renamed, so a
 * half-written export never looks finished.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LogEntry } from '../shared/activity-log.js';
import type { LogExportFormat, LogExportResult, LogFilterInput } from '../shared/contract/logs.js';
import { AppError } from '../shared/errors.js';
import type { ActivityLog } from './activity-log.js';

/** Progress of an export: rows written so far out of the total matching. */
export type ExportProgress = (written: number, total: number) => void;

/** Time is the last time an entry happened; Times and First time say how often and since when it repeated. */
const HEADERS = ['Time', 'Mailbox', 'Direction', 'Level', 'Code', 'Message', 'Description', 'Times', 'First time'] as const;

/** Fill colours per level (light, readable with black text), and the word that also says it. */
const LEVEL_FILL: Record<LogEntry['level'], string> = { success: 'FFDFF6DD', warning: 'FFFFF4CE', error: 'FFFDE7E9', info: 'FFF3F2F1' };
const LEVEL_WORD: Record<LogEntry['level'], string> = { success: 'Success', warning: 'Warning', error: 'Error', info: 'Info' };

/** Local time with its UTC offset, e.g. 2026-11-25 14:03:07 +01:00. */
export function localTimestamp(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
}

function cells(e: LogEntry): string[] {
  return [
    localTimestamp(e.at),
    e.mailboxName ?? (e.mailboxId !== null ? `#${e.mailboxId}` : ''),
    e.direction,
    LEVEL_WORD[e.level],
    e.code ?? '',
    e.message,
    e.detail ?? '',
    String(e.repeats),
    localTimestamp(e.firstAt ?? e.at),
  ];
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A description of the filter, for the export's heading. */
export function describeFilter(filter: LogFilterInput, mailboxName?: (id: number) => string | undefined): string {
  const parts: string[] = [];
  if (filter.mailboxId !== undefined) parts.push(`mailbox ${mailboxName?.(filter.mailboxId) ?? '#' + filter.mailboxId}`);
  if (filter.direction) parts.push(`direction ${filter.direction}`);
  if (filter.level) parts.push(`level ${filter.level}`);
  if (filter.code) parts.push(`code ${filter.code}`);
  if (filter.text) parts.push(`text "${filter.text}"`);
  if (filter.since !== undefined) parts.push(`since ${localTimestamp(filter.since)}`);
  if (filter.until !== undefined) parts.push(`until ${localTimestamp(filter.until)}`);
  return parts.length ? parts.join(', ') : 'all entries';
}

/** Writes the entries matching `filter` to `target` in `format`. */
export async function exportLogs(
  log: ActivityLog,
  filter: LogFilterInput,
  format: LogExportFormat,
  target: string,
  options: { onProgress?: ExportProgress; title?: string; signal?: AbortSignal } = {},
): Promise<LogExportResult> {
  const started = Date.now();
  const total = log.count(filter);
  const dir = path.dirname(target);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new AppError('EXPORT_FAILED', `Cannot create the folder ${dir}: ${(error as Error).message}`, { hint: 'Choose a folder you can write to.' });
  }
  const temp = `${target}.${process.pid}.partial`;
  let written = 0;
  const progress = () => options.onProgress?.(written, total);
  const heading = options.title ?? `Mailroom log export: ${describeFilter(filter)}`;
  try {
    if (format === 'xlsx') {
      // exceljs is large: loaded only when a spreadsheet is asked for.
      const { default: ExcelJS } = await import('exceljs');
      // Our own stream, opened first: exceljs loses an error of the file it opens itself, and its
      // commit() then never settles (a name too long, a folder gone), so the export would hang.
      const file = fs.createWriteStream(temp);
      const fileFailed = new Promise<never>((_resolve, reject) => file.once('error', reject));
      fileFailed.catch(() => undefined);
      await Promise.race([new Promise((resolve) => file.once('open', resolve)), fileFailed]);
      const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: file, useStyles: true, useSharedStrings: false });
      workbook.creator = 'Mailroom';
      const sheet = workbook.addWorksheet('Log', { views: [{ state: 'frozen', ySplit: 1 }] });
      sheet.columns = [
        { header: HEADERS[0], width: 27 },
        { header: HEADERS[1], width: 18 },
        { header: HEADERS[2], width: 10 },
        { header: HEADERS[3], width: 9 },
        { header: HEADERS[4], width: 26 },
        { header: HEADERS[5], width: 60 },
        { header: HEADERS[6], width: 80 },
        { header: HEADERS[7], width: 8 },
        { header: HEADERS[8], width: 27 },
      ];
      sheet.getRow(1).font = { bold: true };
      sheet.autoFilter = { from: 'A1', to: 'I1' };
      for (const page of log.iterate(filter)) {
        if (options.signal?.aborted) throw new AppError('EXPORT_CANCELLED', 'The export was cancelled.');
        for (const e of page) {
          const row = sheet.addRow(cells(e));
          const fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: LEVEL_FILL[e.level] } } as const;
          row.getCell(4).fill = fill;
          row.getCell(4).font = { bold: e.level === 'error' };
          row.commit();
        }
        written += page.length;
        progress();
        await new Promise((r) => setImmediate(r));
      }
      sheet.commit();
      await Promise.race([workbook.commit(), fileFailed]);
    } else {
      const out = fs.createWriteStream(temp, { encoding: 'utf8' });
      const write = (text: string) => new Promise<void>((resolve, reject) => (out.write(text) ? resolve() : out.once('drain', resolve), out.once('error', reject)));
      if (format === 'html') {
        await write(
          `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(heading)}</title>\n<style>
body{font:14px/1.4 "Segoe UI",system-ui,sans-serif;margin:24px;color:#242424}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #e0e0e0;padding:4px 8px;text-align:left;vertical-align:top}
th{position:sticky;top:0;background:#fafafa}td.t{white-space:nowrap;font-variant-numeric:tabular-nums}
.success td.l{background:#dff6dd;color:#0e700e}.warning td.l{background:#fff4ce;color:#8a5300}.error td.l{background:#fde7e9;color:#b10e1c;font-weight:600}.info td.l{background:#f3f2f1;color:#424242}
td.d{color:#616161;white-space:pre-wrap}
</style></head><body>\n<h1>${escapeHtml(heading)}</h1>\n<p>${total} entries, exported ${escapeHtml(localTimestamp(Date.now()))}. Secrets are never logged.</p>\n<table><thead><tr>${HEADERS.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>\n`,
        );
        for (const page of log.iterate(filter)) {
          if (options.signal?.aborted) throw new AppError('EXPORT_CANCELLED', 'The export was cancelled.');
          await write(
            page
              .map((e) => {
                const c = cells(e).map(escapeHtml);
                return `<tr class="${e.level}"><td class="t">${c[0]}</td><td>${c[1]}</td><td>${c[2]}</td><td class="l">${c[3]}</td><td>${c[4]}</td><td>${c[5]}</td><td class="d">${c[6]}</td><td>${c[7]}</td><td class="t">${c[8]}</td></tr>\n`;
              })
              .join(''),
          );
          written += page.length;
          progress();
        }
        await write('</tbody></table>\n</body></html>\n');
      } else {
        await write(`${heading}\r\n${total} entries, exported ${localTimestamp(Date.now())}\r\n\r\n${HEADERS.join('\t')}\r\n`);
        for (const page of log.iterate(filter)) {
          if (options.signal?.aborted) throw new AppError('EXPORT_CANCELLED', 'The export was cancelled.');
          // Tabs separate columns; line breaks inside a value become " | " so each entry stays one line.
          await write(page.map((e) => cells(e).map((c) => c.replace(/\t/g, ' ').replace(/\r?\n/g, ' | ')).join('\t') + '\r\n').join(''));
          written += page.length;
          progress();
        }
      }
      await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    }
    renameWithRetry(temp, target);
  } catch (error) {
    try {
      fs.rmSync(temp, { force: true });
    } catch {
      // The temporary name itself may be what failed (too long): nothing was created under it.
    }
    if (error instanceof AppError) throw error;
    throw new AppError('EXPORT_FAILED', `The export to ${target} failed: ${(error as Error).message}`, {
      hint: 'Check that the folder exists, is writable, and the file is not open in another program (such as Excel).',
    });
  }
  progress();
  return { path: target, fileName: path.basename(target), rows: written, bytes: fs.statSync(target).size, ms: Date.now() - started };
}

/** Renames over an existing file; on Windows a file open in Excel is locked, so retry briefly and then say so. */
function renameWithRetry(from: string, to: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      fs.renameSync(from, to);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'EPERM' || code === 'EBUSY' || code === 'EACCES') && attempt < 5) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
        continue;
      }
      throw new AppError('EXPORT_FAILED', `Cannot write ${to}: the file is in use or read-only.`, { hint: 'Close the file in Excel or the browser, or choose another name.' });
    }
  }
}

/** The default file of an export: <dataDir>/exports/mailroom-log-<time>.<ext>. */
export function defaultExportPath(dataDir: string, format: LogExportFormat, now = new Date()): string {
  const stamp = now.toISOString().replace(/[:T]/g, '-').replace(/\..+$/, '');
  return path.join(dataDir, 'exports', `mailroom-log-${stamp}.${format}`);
}
