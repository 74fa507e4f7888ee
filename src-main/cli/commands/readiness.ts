/**
 * `mailroom readiness`: the basic-authentication retirement report. With
 * --json: `{ "mailboxes": [ { "name", "protocol", "auth", "provider", "risk",
 * "reason", "action", ... } ], "relayAccounts": [ ... ] }`. Exits 0 when the
 * report was made, whatever it says (the risks are in it).
 */
import type { ReadinessMailboxRow, ReadinessReport } from '../../shared/readiness.js';
import { withEngine, type CommonOptions } from '../context.js';
import { printJson, table } from '../output.js';
import { toCliWords } from '../../shared/setting-words.js';

const RISK_WORD = { none: 'ok', soon: 'SOON', broken: 'BROKEN' } as const;

function describe(report: ReadinessReport): string {
  const out: string[] = [];
  const rows = (list: ReadinessMailboxRow[], first: (r: ReadinessMailboxRow) => string) =>
    table(
      ['', 'protocol', 'sign-in', 'provider', 'risk'],
      list.map((r) => [first(r), r.protocol.toUpperCase(), r.auth, r.provider === 'microsoft365' ? 'Microsoft 365' : 'other', RISK_WORD[r.risk as keyof typeof RISK_WORD]]),
    );
  out.push(`Basic authentication for SMTP AUTH is turned off by default in Microsoft 365 at the end of December 2026 (MC786329).${report.offline ? ' DNS and Microsoft\'s user realm could not be reached: only host names were used.' : ''}`, '');
  out.push('Mailboxes', report.mailboxes.length ? rows(report.mailboxes, (r) => r.name) : '  (none)\n');
  if (report.relayAccounts.length) out.push('Relay accounts', rows(report.relayAccounts, (r) => r.name));
  const atRisk = [...report.mailboxes, ...report.relayAccounts].filter((r) => r.risk !== 'none');
  if (!atRisk.length) out.push('Nothing signs in to Microsoft 365 with a password: nothing to do.');
  for (const r of atRisk) {
    out.push(`[${RISK_WORD[r.risk]}] ${'account' in r ? `relay account ${r.name}` : r.name} ${r.protocol.toUpperCase()}: ${r.reason}`);
    if (r.evidence.length) out.push(`  recognised by: ${r.evidence.join(', ')}`);
    if (r.action) out.push(`  what to do: ${toCliWords(r.action)}`);
  }
  return out.join('\n') + '\n';
}

export async function readiness(f: CommonOptions): Promise<void> {
  await withEngine(f, async (engine) => {
    const report = await engine.readiness();
    if (f.json) printJson(report);
    else process.stdout.write(describe(report));
  });
}
