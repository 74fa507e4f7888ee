/**
 * Diagnostics bundles. `createBundle` collects what a helper needs to see
 * (versions, mailbox settings without secrets, recent connection tests, queue
 * and import states, the last log entries), scrubs every stored secret out of
 * it, and writes one .zip with a summary page that opens in any browser.
 * `readBundle` reads one back, validating every part, for read-only viewing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { z } from 'zod';
import { LogEntry } from '../../shared/activity-log.js';
import { BUNDLE_FORMAT, BUNDLE_VERSION, BundleManifest, type BundleResult } from '../../shared/diagnostics.js';
import { AppError } from '../../shared/errors.js';
import type { ActivityLog } from '../activity-log.js';
import { localTimestamp } from '../log-export.js';
import type { MailboxService } from '../mailboxes.js';
import { toSettingsEntry } from '../mailboxes.js';
import { APP_VERSION } from '../version.js';
import { redactIdentifiers, scrubText } from './scrub.js';

/** One part of a bundle, contributed by an area of the engine. */
export interface SectionProvider {
  /** File-safe name: sections/<name>.json. */
  name: string;
  /** Heading on the summary page. */
  title: string;
  collect(): unknown | Promise<unknown>;
  /** Plain-text lines for the summary page; `createdAt` is the bundle's time (ages are told from it). */
  summarize?(data: unknown, context: { createdAt: number }): string[];
}

export interface DiagnosticsDeps {
  log: ActivityLog;
  mailboxes: MailboxService;
  /** Every secret stored anywhere, in plaintext, to scrub from the bundle. */
  secrets: () => string[];
  /**
   * Identifiers of the organisation that are not secrets (the tenant id, the
   * app registration's client id): shown everywhere in the bundle only as
   * their first and last four characters.
   */
  identifiers?: () => string[];
}

const MAX_ENTRY_BYTES = 256 * 1024 * 1024;
const MAX_ENTRIES = 200;

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export class DiagnosticsService {
  private readonly providers = new Map<string, SectionProvider>();

  constructor(private readonly deps: DiagnosticsDeps) {
    this.register({
      name: 'mailboxes',
      title: 'Mailboxes (settings, no secrets)',
      collect: () => deps.mailboxes.list().map((m) => ({ id: m.id, ...toSettingsEntry(m), passwordSet: m.passwordSet, smtpPasswordSet: m.smtpPasswordSet, createdAt: m.createdAt, updatedAt: m.updatedAt })),
      summarize: (data) =>
        (data as { name: string; address: string; imap: { host: string; port: number; security: string; auth: string }; smtp: { host: string; port: number; security: string; auth: string }; enabled: boolean }[]).map(
          (m) => `${m.name} <${m.address}>: IMAP ${m.imap.host}:${m.imap.port} ${m.imap.security} (${m.imap.auth}), SMTP ${m.smtp.host}:${m.smtp.port} ${m.smtp.security} (${m.smtp.auth})${m.enabled ? '' : ', disabled'}`,
        ),
    });
  }

  /** Adds a section; areas of the engine register theirs when they are wired. */
  register(provider: SectionProvider): void {
    if (!/^[a-z0-9-]+$/.test(provider.name)) throw new Error(`Bad section name ${provider.name}`);
    this.providers.set(provider.name, provider);
  }

  /** Writes a bundle to `target` (a .zip). */
  async createBundle(target: string, options: { runtime: string; logLimit?: number; now?: number }): Promise<BundleResult> {
    const createdAt = options.now ?? Date.now();
    const secrets = this.deps.secrets();
    const identifiers = this.deps.identifiers?.() ?? [];
    let scrubbed = 0;
    const clean = (value: unknown): string => {
      const { text, count } = scrubText(JSON.stringify(value, null, 2), secrets);
      scrubbed += count;
      return redactIdentifiers(text, identifiers);
    };

    const sections: { provider: SectionProvider; json: string }[] = [];
    for (const provider of this.providers.values()) {
      let data: unknown;
      try {
        data = await provider.collect();
      } catch (error) {
        data = { error: `This section could not be collected: ${(error as Error).message}` };
      }
      sections.push({ provider, json: clean(data) });
    }
    const logs = this.deps.log.query({}, options.logLimit ?? 5000);
    const logLines = logs.map((e) => clean(e).replace(/\n\s*/g, ' ')).join('\n');

    const manifest: BundleManifest = {
      format: BUNDLE_FORMAT,
      version: BUNDLE_VERSION,
      createdAt,
      app: {
        version: APP_VERSION,
        runtime: options.runtime,
        platform: `${os.type()} ${os.release()} (${process.platform} ${process.arch})`,
        node: process.versions.node,
        electron: process.versions.electron ?? null,
      },
      sections: sections.map((s) => s.provider.name),
      logEntries: logs.length,
      secretsScrubbed: 0,
    };
    const summary = this.summaryPage(manifest, sections, logs);
    const summaryClean = scrubText(summary, secrets);
    summaryClean.text = redactIdentifiers(summaryClean.text, identifiers);
    scrubbed += summaryClean.count;
    manifest.secretsScrubbed = scrubbed;

    const zip = new yazl.ZipFile();
    const mtime = new Date(createdAt);
    zip.addBuffer(Buffer.from(JSON.stringify(manifest, null, 2)), 'manifest.json', { mtime });
    zip.addBuffer(Buffer.from(summaryClean.text), 'summary.html', { mtime });
    for (const s of sections) zip.addBuffer(Buffer.from(s.json), `sections/${s.provider.name}.json`, { mtime });
    zip.addBuffer(Buffer.from(logLines + (logLines ? '\n' : '')), 'logs.jsonl', { mtime });
    zip.end();

    fs.mkdirSync(path.dirname(target), { recursive: true });
    const temp = `${target}.${process.pid}.partial`;
    try {
      await new Promise<void>((resolve, reject) => {
        const out = fs.createWriteStream(temp);
        out.on('close', resolve);
        out.on('error', reject);
        zip.outputStream.on('error', reject);
        zip.outputStream.pipe(out);
      });
      fs.renameSync(temp, target);
    } catch (error) {
      fs.rmSync(temp, { force: true });
      throw new AppError('EXPORT_FAILED', `Cannot write the diagnostics bundle ${target}: ${(error as Error).message}`, {
        hint: 'Choose a folder you can write to, and close the file if another program has it open.',
      });
    }
    return { path: target, fileName: path.basename(target), bytes: fs.statSync(target).size, manifest };
  }

  private summaryPage(manifest: BundleManifest, sections: { provider: SectionProvider; json: string }[], logs: z.infer<typeof LogEntry>[]): string {
    const errorsByCode = new Map<string, number>();
    // A repeated event is one entry that happened `repeats` times: each time counts.
    for (const e of logs) if (e.level === 'error') errorsByCode.set(e.code ?? '(no code)', (errorsByCode.get(e.code ?? '(no code)') ?? 0) + e.repeats);
    const parts: string[] = [];
    parts.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Mailroom diagnostics ${escapeHtml(localTimestamp(manifest.createdAt))}</title>
<style>body{font:14px/1.45 "Segoe UI",system-ui,sans-serif;margin:24px;max-width:1100px;color:#242424}h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #e0e0e0}
table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}.error{color:#b10e1c;font-weight:600}.warning{color:#8a5300}.success{color:#0e700e}code{font-family:Consolas,monospace}</style></head><body>`);
    parts.push(`<h1>Mailroom diagnostics</h1><p>Made ${escapeHtml(localTimestamp(manifest.createdAt))} by Mailroom ${escapeHtml(manifest.app.version)} (${escapeHtml(manifest.app.runtime)}) on ${escapeHtml(manifest.app.platform)}, Node ${escapeHtml(manifest.app.node)}${manifest.app.electron ? `, Electron ${escapeHtml(manifest.app.electron)}` : ''}.</p>`);
    parts.push('<p>Passwords, app passwords and OAuth tokens are never included. Open the <code>sections</code> folder for the full data; <code>logs.jsonl</code> holds the log, one entry per line.</p>');
    parts.push('<h2>Errors in the log</h2>');
    parts.push(
      errorsByCode.size
        ? `<table><tr><th>Code</th><th>Times</th></tr>${[...errorsByCode].sort((a, b) => b[1] - a[1]).map(([code, n]) => `<tr><td class="error">${escapeHtml(code)}</td><td>${n}</td></tr>`).join('')}</table>`
        : '<p class="success">No errors among the entries included.</p>',
    );
    for (const s of sections) {
      parts.push(`<h2>${escapeHtml(s.provider.title)}</h2>`);
      let lines: string[] = [];
      try {
        lines = s.provider.summarize?.(JSON.parse(s.json), { createdAt: manifest.createdAt }) ?? [];
      } catch {
        lines = [];
      }
      parts.push(lines.length ? `<ul>${lines.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>` : `<p>See sections/${escapeHtml(s.provider.name)}.json.</p>`);
    }
    parts.push(`<h2>Latest log entries</h2><table><tr><th>Time</th><th>Level</th><th>Mailbox</th><th>Code</th><th>Message</th></tr>`);
    for (const e of logs.slice(0, 200)) {
      parts.push(`<tr><td>${escapeHtml(localTimestamp(e.at))}</td><td class="${e.level}">${e.level}</td><td>${escapeHtml(e.mailboxName ?? '')}</td><td>${escapeHtml(e.code ?? '')}</td><td>${escapeHtml(e.message)}${e.repeats > 1 ? ` <em>(${e.repeats} times, first ${escapeHtml(localTimestamp(e.firstAt ?? e.at))})</em>` : ''}</td></tr>`);
    }
    parts.push('</table></body></html>\n');
    return parts.join('\n');
  }
}

/** A bundle read back: its manifest, sections and log entries, all validated. */
export interface ReadBundle {
  manifest: BundleManifest;
  sections: Record<string, unknown>;
  logs: z.infer<typeof LogEntry>[];
}

function invalid(message: string): AppError {
  return new AppError('BUNDLE_INVALID', `This is not a Mailroom diagnostics bundle: ${message}`, {
    hint: 'Choose a .zip made by "Export diagnostics" in Mailroom.',
  });
}

/** Reads a bundle from its bytes. Entries are size-checked before they are inflated. */
export async function readBundle(data: Buffer): Promise<ReadBundle> {
  const files = await new Promise<Map<string, Buffer>>((resolve, reject) => {
    yauzl.fromBuffer(data, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true }, (error, zip) => {
      if (error || !zip) return reject(invalid('the file is not a readable .zip.'));
      const out = new Map<string, Buffer>();
      let total = 0;
      zip.on('entry', (entry: yauzl.Entry) => {
        if (out.size >= MAX_ENTRIES) return reject(invalid('it holds too many files.'));
        if (entry.uncompressedSize > MAX_ENTRY_BYTES || (total += entry.uncompressedSize) > MAX_ENTRY_BYTES) return reject(invalid('it is too large.'));
        if (/\/$/.test(entry.fileName)) return zip.readEntry();
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(invalid(`the part ${entry.fileName} cannot be read.`));
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', () => reject(invalid(`the part ${entry.fileName} is damaged.`)));
          stream.on('end', () => {
            out.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(out));
      zip.on('error', () => reject(invalid('the .zip is damaged.')));
      zip.readEntry();
    });
  });
  const manifestBytes = files.get('manifest.json');
  if (!manifestBytes) throw invalid('manifest.json is missing.');
  let manifest: BundleManifest;
  try {
    const raw = JSON.parse(manifestBytes.toString('utf8')) as { version?: unknown };
    if (typeof raw.version === 'number' && raw.version > BUNDLE_VERSION) {
      throw new AppError('BUNDLE_TOO_NEW', `This bundle was made by a newer Mailroom (format ${raw.version}).`, { hint: 'Open it with the newer Mailroom, or ask for a bundle from this version.' });
    }
    manifest = BundleManifest.parse(raw);
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw invalid('manifest.json is not valid.');
  }
  const sections: Record<string, unknown> = {};
  for (const name of manifest.sections) {
    const bytes = files.get(`sections/${name}.json`);
    if (!bytes) throw invalid(`the section ${name} is missing.`);
    try {
      sections[name] = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw invalid(`the section ${name} is not valid JSON.`);
    }
  }
  const logs: z.infer<typeof LogEntry>[] = [];
  for (const [i, line] of (files.get('logs.jsonl')?.toString('utf8') ?? '').split('\n').entries()) {
    if (!line.trim()) continue;
    try {
      logs.push(LogEntry.parse(JSON.parse(line)));
    } catch {
      throw invalid(`log line ${i + 1} is not valid.`);
    }
  }
  return { manifest, sections, logs };
}
