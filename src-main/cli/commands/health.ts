/**
 * `mailroom health [--json]` and `mailroom probe <mailbox> [--timeout SECONDS] [--json]`,
 * for scripts, the Windows Task Scheduler and monitoring systems.
 *
 * `health --json`: `{ summary, mailboxes: [ { name, state, reason, lastReceiveAt, lastSendAt,
 * queue: { pending, oldestAgeSeconds }, tokenExpiresAt, clientSecretExpiresAt, clientCredential ('secret' | 'certificate' | null: which credential expires then), lastProbe } ] }` (times in ISO 8601 UTC);
 * exit 0 when every enabled mailbox is Healthy, 1 otherwise.
 * `probe --json`: `{ ok, mailbox, sendMs, deliverMs, totalMs, folder, diagnosis }` (diagnosis null
 * when ok); exit 0 when the probe arrived in the inbox folder, 1 otherwise.
 */
import type { HealthOverview, MailboxHealth, ProbeRecord } from '../../shared/health.js';
import { HEALTH_STATE_WORDS } from '../../shared/health.js';
import { withEngine, type CommonOptions } from '../context.js';
import { EXIT_FAILED, EXIT_OK, printJson, table, usageError } from '../output.js';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** One probe as scripts read it. */
export function probeJson(p: ProbeRecord | null): Record<string, unknown> | null {
  if (!p) return null;
  return { ok: p.status === 'delivered', at: iso(p.startedAt), sendMs: p.sendMs, deliverMs: p.deliverMs, totalMs: p.totalMs, folder: p.folder, diagnosis: p.diagnosis };
}

/** The `health --json` shape. */
export function healthJson(o: HealthOverview): { summary: string; mailboxes: Record<string, unknown>[] } {
  return {
    summary: o.summary,
    mailboxes: o.mailboxes.map((m: MailboxHealth) => ({
      name: m.name,
      state: m.state,
      reason: m.reason,
      lastReceiveAt: iso(m.lastReceiveAt),
      lastSendAt: iso(m.lastSendAt),
      queue: { pending: m.queue.pending, oldestAgeSeconds: m.queue.oldestAgeSeconds },
      tokenExpiresAt: iso(m.tokenExpiresAt),
      clientSecretExpiresAt: iso(m.clientSecretExpiresAt),
      clientCredential: m.clientCredential,
      lastProbe: probeJson(m.lastProbe),
    })),
  };
}

function age(ms: number | null, now: number): string {
  if (ms === null) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  return s < 90 ? `${s} s ago` : s < 5400 ? `${Math.round(s / 60)} min ago` : s < 172_800 ? `${Math.round(s / 3600)} h ago` : `${Math.round(s / 86_400)} days ago`;
}

export async function healthCommand(f: CommonOptions): Promise<void> {
  await withEngine(f, (engine) => {
    const o = engine.health.overview();
    if (f.json) printJson(healthJson(o));
    else {
      const rows = o.mailboxes.map((m) => [
        m.name,
        HEALTH_STATE_WORDS[m.state],
        age(m.lastReceiveAt, o.at),
        age(m.lastSendAt, o.at),
        m.queue.pending ? `${m.queue.pending} (oldest ${m.queue.oldestAgeSeconds ?? 0} s)` : '0',
        m.lastProbe ? (m.lastProbe.status === 'delivered' ? `${((m.lastProbe.totalMs ?? 0) / 1000).toFixed(1)} s` : m.lastProbe.diagnosis?.code ?? 'failed') : '-',
        m.reason,
      ]);
      process.stdout.write(`${o.summary}\n\n${table(['Mailbox', 'State', 'Received', 'Sent', 'Queue', 'Round trip', 'Reason'], rows)}\n`);
    }
    process.exitCode = o.mailboxes.every((m) => m.state === 'healthy' || m.state === 'disabled') ? EXIT_OK : EXIT_FAILED;
  });
}

/** --timeout as whole seconds from 5 to 3600. */
export function parseTimeoutSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\s*\d+\s*$/.test(value)) throw usageError(`--timeout must be a whole number of seconds, such as 600; it is "${value}".`, 'Give how long to wait for the probe to arrive, in seconds (5 to 3600).');
  const n = Number(value);
  if (n < 5 || n > 3600) throw usageError(`--timeout must be from 5 to 3600 seconds; it is ${n}.`, 'The default is the mailbox\'s probe timeout (600 seconds).');
  return n;
}

export async function probeCommand(mailbox: string, f: CommonOptions & { timeout?: string }): Promise<void> {
  const timeoutSeconds = parseTimeoutSeconds(f.timeout);
  await withEngine(f, async (engine) => {
    const target = engine.mailboxes.resolve(mailbox);
    if (!f.json) process.stderr.write(`Sending a probe through ${target.smtp.host} and waiting for it in ${target.name} (${target.imap.host})...\n`);
    const p = await engine.probes.run(target.id, { trigger: 'cli', ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}) });
    // The new probe may change the mailbox's state: recorded (and logged) now.
    engine.health.overview();
    const ok = p.status === 'delivered';
    if (f.json) printJson({ ok, mailbox: target.name, sendMs: p.sendMs, deliverMs: p.deliverMs, totalMs: p.totalMs, folder: p.folder, diagnosis: p.diagnosis });
    else if (ok) process.stdout.write(`Round trip OK in ${((p.totalMs ?? 0) / 1000).toFixed(1)} s: accepted after ${((p.sendMs ?? 0) / 1000).toFixed(1)} s, found in ${p.folder} ${((p.deliverMs ?? 0) / 1000).toFixed(1)} s later; deleted.\n`);
    else process.stdout.write(`Round trip FAILED: ${p.diagnosis?.code}\n  ${p.diagnosis?.message}\n  What to change: ${p.diagnosis?.hint}\n`);
    process.exitCode = ok ? EXIT_OK : EXIT_FAILED;
  });
}

/** A whole number flag within bounds, or a usage error naming the flag. */
function wholeNumber(flag: string, value: string | undefined, min: number, max: number, unit: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\s*\d+\s*$/.test(value)) throw usageError(`${flag} must be a whole number of ${unit}; it is "${value}".`, `Give ${flag} a number from ${min} to ${max}.`);
  const n = Number(value);
  if (n < min || n > max) throw usageError(`${flag} must be from ${min} to ${max} ${unit}; it is ${n}.`);
  return n;
}

export async function probeScheduleCommand(
  mailbox: string,
  f: CommonOptions & { on?: boolean; off?: boolean; every?: string; to?: string; toSelf?: boolean; timeout?: string; slow?: string },
): Promise<void> {
  if (f.on && f.off) throw usageError('--on and --off cannot be given together.', 'Give one of them.');
  if (f.to !== undefined && f.toSelf) throw usageError('--to and --to-self cannot be given together.', 'Give one of them.');
  const every = wholeNumber('--every', f.every, 1, 1440, 'minutes');
  const timeout = wholeNumber('--timeout', f.timeout, 5, 3600, 'seconds');
  const slow = wholeNumber('--slow', f.slow, 1, 3600, 'seconds');
  await withEngine(f, (engine) => {
    const target = engine.mailboxes.resolve(mailbox);
    const change = {
      ...(f.on ? { enabled: true } : f.off ? { enabled: false } : {}),
      ...(every !== undefined ? { intervalSeconds: every * 60 } : {}),
      ...(timeout !== undefined ? { timeoutSeconds: timeout } : {}),
      ...(slow !== undefined ? { slowThresholdMs: slow * 1000 } : {}),
      ...(f.to !== undefined ? { targetAddress: f.to } : f.toSelf ? { targetAddress: null } : {}),
    };
    const s = Object.keys(change).length ? engine.health.saveProbeSettings({ mailboxId: target.id, ...change }) : engine.health.probeSettings(target.id);
    if (f.json) printJson({ mailbox: target.name, enabled: s.enabled, intervalSeconds: s.intervalSeconds, timeoutSeconds: s.timeoutSeconds, targetAddress: s.targetAddress, slowThresholdMs: s.slowThresholdMs });
    else
      process.stdout.write(
        `${target.name}: scheduled probes ${s.enabled ? `on, every ${Math.round(s.intervalSeconds / 60)} min` : 'off'}; to ${s.targetAddress ?? `${target.address} (its own address)`}; timeout ${s.timeoutSeconds} s; slower than ${s.slowThresholdMs / 1000} s is Degraded.\n`,
      );
  });
}
