/** `mailroom detect <address>`: the evidence, step by step, and the proposed settings. */
import { AppError } from '../../shared/errors.js';
import { EmailAddress } from '../../shared/mailbox.js';
import type { DetectResult } from '../../shared/oauth.js';
import { Detector, detectorOptionsFromEnv } from '../../engine/autodetect/index.js';
import type { CommonOptions } from '../context.js';
import { printJson, reportError } from '../output.js';

const STATUS_WORD: Record<DetectResult['evidence'][number]['status'], string> = {
  success: 'found',
  info: 'info',
  warning: 'warning',
  error: 'error',
  skipped: 'skipped',
};

function describe(result: DetectResult): string {
  const lines = [result.summary, ''];
  for (const e of result.evidence) {
    lines.push(`  [${STATUS_WORD[e.status].padEnd(7)}] ${e.title}: ${e.summary}${e.durationMs ? ` (${e.durationMs} ms)` : ''}`);
    for (const d of e.details) lines.push(`              ${d}`);
  }
  const p = result.proposal;
  lines.push('', `Proposed settings (${p.providerLabel}, preset ${p.preset}):`);
  if (p.imap) lines.push(`  incoming  imap ${p.imap.host}:${p.imap.port} ${p.imap.security}  user ${p.imap.username}  sign-in ${p.imap.auth}`);
  if (p.pop3) lines.push(`  incoming  pop3 ${p.pop3.host}:${p.pop3.port} ${p.pop3.security}  user ${p.pop3.username}  sign-in ${p.pop3.auth}  (mailbox add --incoming pop3)`);
  if (p.smtp) lines.push(`  outgoing  smtp ${p.smtp.host}:${p.smtp.port} ${p.smtp.security}  user ${p.smtp.username}  sign-in ${p.smtp.auth}`);
  if (!p.imap && !p.smtp) lines.push('  none: enter the servers your provider gives.');
  if (result.warnings.length) lines.push('', ...result.warnings.map((w) => `note: ${w}`));
  if (result.microsoft365) {
    lines.push('', `Next: mailroom mailbox add --name <name> --address ${result.address} --preset microsoft365, then mailroom oauth login <name>.`);
  }
  return lines.join('\n') + '\n';
}

export async function runDetect(address: string, options: CommonOptions): Promise<void> {
  try {
    const parsed = EmailAddress.safeParse(address);
    if (!parsed.success) {
      throw new AppError('VALIDATION_FAILED', `"${address.slice(0, 100)}" is not an email address.`, {
        hint: 'Give the mailbox\'s full address, such as support@contoso.com.',
        issues: [{ path: 'address', message: 'must be an email address such as support@contoso.com' }],
      });
    }
    const result = await new Detector(detectorOptionsFromEnv()).detect(parsed.data);
    if (options.json) printJson(result);
    else process.stdout.write(describe(result));
  } catch (error) {
    reportError(error, Boolean(options.json));
  }
}
