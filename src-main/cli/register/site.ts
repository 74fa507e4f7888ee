/** Registers `mailroom site ...`: the help-desk site setup assistant. Actions import their code only when run. */
import type { Command } from 'commander';
import { common } from './common.js';
import { fieldFlags } from '../flag-names.js';

export function registerSiteCommands(program: Command): void {
  const site = program
    .command('site')
    .description('help-desk site setup: version checklist, cURL mail registry SQL, OAuth feature toggle in web.config');

  common(site.command('versions').description('list the version ranges the checklist knows')).action(async (opts) => {
    const { listVersions } = await import('../commands/site.js');
    await listVersions(opts);
  });
  common(
    site
      .command('checklist')
      .argument('<version...>', 'installed version, e.g. 10.1.4, "G9 9.2 R10", 9.2R10, "8.0 SR2" or Online')
      .description('what applies to mail for the installed version'),
  ).action(async (version: string[], opts) => {
    const { showChecklist } = await import('../commands/site.js');
    await showChecklist(version.join(' '), opts);
  });
  fieldFlags(common(
    site
      .command('registry-sql')
      .description("SQL Server statements that read and set reg_id 320 (value '0' = cURL mail, '2' = not cURL); Mailroom never connects to the database")
      .option('--use-curl', "set the value to '0': use cURL mail (the default)")
      .option('--no-curl', "set the value to '2': do not use cURL mail")
      .option('--table <name>', 'registry table with its schema (default crm7.registry; the schema is the TablePrefix in web.config)'),
  ), { useCurl: '--use-curl / --no-curl' }).action(async (opts) => {
    const { printRegistrySql } = await import('../commands/site.js');
    await printRegistrySql(opts);
  });
  fieldFlags(common(
    site
      .command('check-webconfig')
      .argument('<file>', 'path of the web.config')
      .description('report which parts of the NewAuthentication feature toggle are present (exit 0 all present, 1 something missing, 2 bad file)'),
  ), { path: '<file>' }).action(async (file: string, opts) => {
    const { checkWebConfig } = await import('../commands/site.js');
    await checkWebConfig(file, opts);
  });
  fieldFlags(common(
    site
      .command('enable-oauth-toggle')
      .argument('<file>', 'path of the web.config')
      .description('add what is missing of the NewAuthentication feature toggle: prints the diff, writes a timestamped backup, then saves')
      .option('--dry-run', 'print the diff only; write nothing'),
  ), { path: '<file>' }).action(async (file: string, opts) => {
    const { enableOauthToggle } = await import('../commands/site.js');
    await enableOauthToggle(file, opts);
  });
}
