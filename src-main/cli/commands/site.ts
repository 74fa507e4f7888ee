/**
 * `mailroom site ...` commands. They need no data folder: the site setup
 * assistant is stateless, so nothing is opened or created.
 */
import type { ChecklistItem, WebConfigCheck } from '../../shared/site-setup.js';
import { SiteSetupService } from '../../engine/site-setup/index.js';
import type { CommonOptions } from '../context.js';
import { EXIT_FAILED, EXIT_OK, printJson, reportError, table, usageError } from '../output.js';

async function run(opts: CommonOptions, body: (site: SiteSetupService) => Promise<void> | void): Promise<void> {
  try {
    await body(new SiteSetupService());
  } catch (error) {
    // A file that cannot be used as a web.config exits 2, as for other bad input (see output.ts).
    reportError(error, Boolean(opts.json));
  }
}

const useColour = () => Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
const paint = (code: string, text: string) => (useColour() ? `\u001b[${code}m${text}\u001b[0m` : text);

const STATUS_WORD: Record<ChecklistItem['status'], string> = { action: 'ACTION', applies: 'applies', 'not-needed': 'not needed' };

export async function listVersions(opts: CommonOptions): Promise<void> {
  await run(opts, (site) => {
    const versions = site.versions();
    if (opts.json) printJson(versions);
    else process.stdout.write(table(['range', 'versions', 'what changes'], versions.map((v) => [v.range, v.label, v.description])));
  });
}

export async function showChecklist(version: string, opts: CommonOptions): Promise<void> {
  await run(opts, (site) => {
    const checklist = site.checklist(version);
    if (opts.json) return printJson(checklist);
    const lines = [`Site checklist for ${checklist.version.display} (${checklist.rangeLabel})`, ''];
    for (const item of checklist.items) {
      const word = STATUS_WORD[item.status];
      lines.push(`[${item.status === 'action' ? paint('33', word) : word}] ${item.title}: ${item.summary}`);
      lines.push(`    ${item.explanation}`);
      if (item.hint) lines.push(`    What to do: ${item.hint}`);
      if (item.action === 'registry-sql') lines.push('    Command: mailroom site registry-sql');
      if (item.action === 'web-config') lines.push('    Command: mailroom site check-webconfig <path of web.config>');
      lines.push('');
    }
    process.stdout.write(lines.join('\n'));
  });
}

export async function printRegistrySql(opts: CommonOptions & { useCurl?: boolean; curl?: boolean; table?: string }): Promise<void> {
  await run(opts, (site) => {
    if (opts.useCurl && opts.curl === false) throw usageError('Use either --use-curl or --no-curl, not both.');
    const sql = site.registrySql({ useCurl: opts.curl !== false, ...(opts.table !== undefined ? { table: opts.table } : {}) });
    if (opts.json) return printJson(sql);
    // A script that can be saved and opened in SQL Server Management Studio as it is.
    const out = [
      `-- Mailroom: cURL mail registry switch (reg_id ${sql.regId}) in ${sql.table}, SQL Server.`,
      ...sql.notes.map((n) => `-- * ${n}`),
      '',
      ...sql.statements.flatMap((s) => [`-- ${s.title}: ${s.explanation}`, s.sql, '']),
    ];
    process.stdout.write(out.join('\n'));
  });
}

function describeCheck(check: WebConfigCheck): string {
  const mark = (state: string) => (state === 'present' ? paint('32', 'present') : state === 'missing' ? paint('31', 'missing') : paint('33', 'different'));
  const lines = [
    `${check.path ?? 'web.config'}: ${check.complete ? 'the NewAuthentication feature toggle is on.' : 'the NewAuthentication feature toggle is NOT complete.'}`,
    '',
    ...check.parts.map((p) => `  ${mark(p.state).padEnd(useColour() ? 18 : 9)}  ${p.label}\n             ${p.detail}`),
  ];
  if (check.tablePrefix) lines.push('', `Table prefix (schema of the registry table): ${check.tablePrefix}`);
  for (const note of check.notes) lines.push('', `Note: ${note}`);
  const f = check.format;
  lines.push('', `Format: ${f.encoding}${f.bom ? ' with BOM' : ''}, ${f.lineEnding.toUpperCase()} line endings, indented with ${f.indent.kind === 'tabs' ? 'tabs' : `${f.indent.width} spaces`}.`);
  if (!check.complete) lines.push(`Fix: mailroom site enable-oauth-toggle "${check.path ?? 'web.config'}" --dry-run   (then without --dry-run to save)`);
  return lines.join('\n') + '\n';
}

function printDiff(unified: string): void {
  if (!useColour()) return void process.stdout.write(unified);
  const out = unified.split('\n').map((line) => (line.startsWith('+') && !line.startsWith('+++') ? paint('32', line) : line.startsWith('-') && !line.startsWith('---') ? paint('31', line) : line.startsWith('@@') ? paint('36', line) : line));
  process.stdout.write(out.join('\n'));
}

export async function checkWebConfig(file: string, opts: CommonOptions): Promise<void> {
  await run(opts, (site) => {
    const check = site.checkWebConfig({ path: file });
    if (opts.json) printJson(check);
    else process.stdout.write(describeCheck(check));
    process.exitCode = check.complete ? EXIT_OK : EXIT_FAILED;
  });
}

export async function enableOauthToggle(file: string, opts: CommonOptions & { dryRun?: boolean }): Promise<void> {
  await run(opts, async (site) => {
    const plan = site.previewWebConfig({ path: file });
    const where = plan.check.path ?? file;
    if (opts.dryRun || !plan.changed) {
      if (opts.json) return printJson({ dryRun: Boolean(opts.dryRun), ...plan });
      if (!plan.changed) return void process.stdout.write(`${where}: nothing to change, the NewAuthentication feature toggle is already on.\n`);
      printDiff(plan.diff);
      process.stdout.write(`\n${plan.changes.map((c) => `- ${c.description}`).join('\n')}\nDry run: nothing was written. Run again without --dry-run to save (a backup is written first).\n`);
      return;
    }
    const result = await site.applyWebConfig({ path: file, expectedSha256: plan.check.sha256 });
    if (opts.json) return printJson({ dryRun: false, changes: plan.changes, ...result });
    printDiff(result.diff);
    process.stdout.write(
      `\n${plan.changes.map((c) => `- ${c.description}`).join('\n')}\nSaved ${result.path}.\nBackup: ${result.backupPath}\n` +
        'ASP.NET restarts the site when web.config changes: users may need to sign in again.\n',
    );
  });
}
