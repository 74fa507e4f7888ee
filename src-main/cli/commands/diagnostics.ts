/** `mailroom diagnostics export|inspect`. */
import { readBundle } from '../../engine/diagnostics/bundle.js';
import { defaultBundlePath } from '../../engine/diagnostics/paths.js';
import { localTimestamp } from '../../engine/log-export.js';
import { withEngine, type CommonOptions } from '../context.js';
import { printJson, reportError, usageError } from '../output.js';
import { checkOutputPath, readInputFile } from '../files.js';

/** Largest bundle `inspect` reads: bundles hold at most 100,000 log entries, far below this. */
const MAX_BUNDLE_BYTES = 512 * 1024 * 1024;

export async function exportDiagnostics(opts: CommonOptions & { out?: string; logLimit?: string }): Promise<void> {
  // What was typed is checked before the data folder is opened: a usage error touches nothing.
  let logLimit: number;
  let out: string | undefined;
  try {
    logLimit = opts.logLimit === undefined ? 5000 : Number(opts.logLimit);
    if (!/^\s*\d+\s*$/.test(opts.logLimit ?? '0') || !Number.isInteger(logLimit) || logLimit < 0 || logLimit > 100_000) throw usageError(`--log-limit must be a whole number from 0 to 100000, not "${opts.logLimit}".`);
    out = opts.out === undefined ? undefined : checkOutputPath(opts.out, '--out');
  } catch (error) {
    return reportError(error, Boolean(opts.json));
  }
  await withEngine(opts, async (engine) => {
    const target = out ?? defaultBundlePath(engine.dataDir);
    const result = await engine.diagnostics.createBundle(target, { runtime: 'cli', logLimit });
    if (opts.json) printJson(result);
    else process.stdout.write(`Wrote ${result.path} (${Math.ceil(result.bytes / 1024)} KB, ${result.manifest.logEntries} log entries, sections: ${result.manifest.sections.join(', ')}). It holds no passwords or tokens.\n`);
  });
}

export async function inspectDiagnostics(file: string, opts: CommonOptions): Promise<void> {
  try {
    const data = readInputFile(file, '<file>', MAX_BUNDLE_BYTES);
    const bundle = await readBundle(data);
    const errors = bundle.logs.filter((e) => e.level === 'error');
    const summary = { manifest: bundle.manifest, sections: Object.keys(bundle.sections), logEntries: bundle.logs.length, errors: errors.length, latestErrors: errors.slice(0, 10) };
    if (opts.json) return printJson(summary);
    const m = bundle.manifest;
    process.stdout.write(`Bundle made ${localTimestamp(m.createdAt)} by Mailroom ${m.app.version} (${m.app.runtime}) on ${m.app.platform}\n`);
    process.stdout.write(`Sections: ${m.sections.join(', ')}; ${bundle.logs.length} log entries, ${errors.length} errors\n`);
    for (const e of errors.slice(0, 10)) process.stdout.write(`  ${localTimestamp(e.at)}  ${e.mailboxName ?? '-'}  [${e.code ?? ''}] ${e.message}\n`);
  } catch (error) {
    reportError(error, Boolean(opts.json));
  }
}
