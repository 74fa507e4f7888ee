/**
 * The round-trip probe: a small message sent through the mailbox's own SMTP
 * (password or Microsoft 365 sign-in, with the outbox's sender code) to the
 * mailbox's address or one the admin set, then looked for over the
 * mailbox's IMAP by its X-Mailroom-Probe token: the inbox folder first, then
 * Junk. It records the time to acceptance (sendMs), the time from
 * acceptance to being found (deliverMs) and the total, then deletes the probe
 * from the server.
 *
 * How it can fail, each with a diagnosis:
 * - refused on sending: the outbox's own diagnosis of the refusal;
 * - accepted but not delivered within the timeout (PROBE_NOT_DELIVERED);
 * - delivered to Junk (PROBE_IN_JUNK): found, timed, deleted, and said so;
 * - the mailbox could not be searched (the import's diagnosis of the IMAP error).
 *
 * Scheduled probes (off until the admin turns them on, default every 15
 * minutes) run in the process that sends the outbox (`start()`).
 */
import type { ImapFlow } from 'imapflow';
import type { Db } from '../../store/db.js';
import { HealthRepo, type ProbeOutcome } from '../../store/health-repo.js';
import type { Mailbox } from '../../shared/mailbox.js';
import type { OutboxSettings } from '../../shared/outbox.js';
import { PROBE_HEADER, type ProbeRecord } from '../../shared/health.js';
import { AppError } from '../../shared/errors.js';
import type { ActivityLog } from '../activity-log.js';
import type { EventBus } from '../events.js';
import { SmtpLane, type OutboxLane, type OutboxTokenProvider } from '../outbox/smtp-lane.js';
import { GraphLane } from '../outbox/graph-lane.js';
import { isGraphTokenUnavailable, type GraphClient } from '../graph/graph-client.js';
import { isGraphError } from '../graph/graph-error.js';
import { diagnoseGraphError } from '../graph/graph-diagnosis.js';
import { classifySendFailure, classifyRefusals, recipientRefusals } from '../outbox/send-failure.js';
import { closeClient, credentialsFor, openClient, type InboxTokenProvider } from '../inbox/imap-client.js';
import { Pop3Client, type Pop3ConnectOptions } from '../inbox/pop3-client.js';
import { pop3Credentials } from '../inbox/pop3-importer.js';
import { diagnoseImportError } from '../inbox/import-diagnosis.js';
import { ProbeMarker } from './probe-marker.js';

/** What the probe needs from the rest of the engine. */
export interface ProbeServiceOptions {
  db: Db;
  mailboxes: { get(id: number): Mailbox; resolve(idOrName: string | number): Mailbox; list(): Mailbox[]; password(id: number): string | undefined };
  /** The mailbox's send settings (timeouts), as the outbox keeps them. */
  outboxSettings: (mailboxId: number) => OutboxSettings;
  tokens?: OutboxTokenProvider & InboxTokenProvider;
  log: ActivityLog;
  events?: EventBus;
  marker?: ProbeMarker;
  clock?: () => number;
  /** Extra TLS options (tests pass their CA). */
  tls?: { smtp?: Record<string, unknown>; imap?: Record<string, unknown> };
  /** How often the folders are searched while waiting. Default 2 s, then up to 15 s. */
  searchIntervalMs?: number;
  /** How often the schedule is looked at. Default 30 s. */
  scheduleTickMs?: number;
  /** Microsoft Graph, for mailboxes that send or receive through it. */
  graph?: GraphClient;
}

/** How one probe is run. */
export interface ProbeRunOptions {
  trigger?: ProbeRecord['trigger'];
  /** Overrides the mailbox's probe timeout. */
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

/** Days of probe history kept. */
export const PROBE_HISTORY_DAYS = 30;

/** The names Junk folders go by when the server does not mark one \Junk. */
const JUNK_NAMES = /^(junk|junk e-?mail|junk mail|spam|bulk mail|\[gmail\]\/spam)$/i;

function processAlive(pid: number | null): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The probe message: plain text, the token in its own header, a Message-ID of this computer's making. */
export function probeMessage(from: string, to: string, token: string, at: number): { raw: Buffer; messageId: string } {
  const domain = from.split('@')[1] || 'mailroom.invalid';
  const messageId = `probe.${token.slice(5, 21)}.${at}@${domain}`;
  const date = new Date(at).toUTCString().replace('GMT', '+0000');
  const lines = [
    `From: Mailroom probe <${from}>`,
    `To: <${to}>`,
    `Subject: Mailroom round-trip probe ${new Date(at).toISOString()}`,
    `Date: ${date}`,
    `Message-ID: <${messageId}>`,
    `${PROBE_HEADER}: ${token}`,
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'This message tests that mail to this mailbox flows end to end. Mailroom deletes it as soon as it arrives,',
    'and never imports it into the help desk.',
    '',
  ];
  return { raw: Buffer.from(lines.join('\r\n'), 'utf8'), messageId };
}

export class ProbeService {
  readonly repo: HealthRepo;
  readonly marker: ProbeMarker;
  private readonly clock: () => number;
  private readonly running = new Map<number, { controller: AbortController; done: Promise<ProbeRecord> }>();
  private scheduleTimer: NodeJS.Timeout | undefined;
  private prunedAt = 0;

  constructor(private readonly options: ProbeServiceOptions) {
    this.repo = new HealthRepo(options.db);
    this.marker = options.marker ?? new ProbeMarker(options.db);
    this.clock = options.clock ?? Date.now;
  }

  /** Sends a probe and waits for it (up to its timeout); resolves with the stored record. A probe already running for the mailbox is joined. */
  run(mailboxIdOrName: number | string, options: ProbeRunOptions = {}): Promise<ProbeRecord> {
    const mailbox = this.options.mailboxes.resolve(mailboxIdOrName);
    const existing = this.running.get(mailbox.id);
    if (existing) return existing.done;
    const controller = new AbortController();
    options.signal?.addEventListener('abort', () => controller.abort(), { once: true });
    const done = this.runOne(mailbox, options, controller.signal).finally(() => this.running.delete(mailbox.id));
    this.running.set(mailbox.id, { controller, done });
    return done;
  }

  private async runOne(mailbox: Mailbox, options: ProbeRunOptions, signal: AbortSignal): Promise<ProbeRecord> {
    const settings = this.repo.probeSettings(mailbox.id);
    const target = settings.targetAddress ?? mailbox.address;
    const timeoutMs = (options.timeoutSeconds ?? settings.timeoutSeconds) * 1000;
    const token = this.marker.newToken();
    const startedAt = this.clock();
    const id = this.repo.startProbe({ mailboxId: mailbox.id, token, trigger: options.trigger ?? 'manual', target, startedAt, pid: process.pid });
    let outcome: ProbeOutcome;
    try {
      outcome = await this.travel(mailbox, target, token, startedAt, timeoutMs, signal);
    } catch (error) {
      outcome = {
        status: 'failed',
        finishedAt: this.clock(),
        sendMs: null,
        deliverMs: null,
        totalMs: null,
        folder: null,
        diagnosis: { code: 'PROBE_FAILED', message: `The probe could not run: ${error instanceof Error ? error.message : String(error)}`, hint: 'Run the connection test of this mailbox (Connection tests, or "mailroom test mailbox") to see which side fails.' },
      };
    }
    this.repo.finishProbe(id, outcome);
    const record = this.repo.probe(id)!;
    this.logOutcome(mailbox, record);
    this.options.events?.emit('probes.finished', record);
    return record;
  }

  private async travel(mailbox: Mailbox, target: string, token: string, startedAt: number, timeoutMs: number, signal: AbortSignal): Promise<ProbeOutcome> {
    const failed = (diagnosis: ProbeOutcome['diagnosis'], extra: Partial<ProbeOutcome> = {}): ProbeOutcome => ({ status: 'failed', finishedAt: this.clock(), sendMs: null, deliverMs: null, totalMs: null, folder: null, diagnosis, ...extra });
    // 1. Send through the mailbox's SMTP, exactly as the outbox would.
    const { raw, messageId } = probeMessage(mailbox.address, target, token, startedAt);
    const sent = await this.send(mailbox, target, raw, messageId);
    if (!sent.ok) return failed(sent.diagnosis);
    const acceptedAt = this.clock();
    const sendMs = acceptedAt - startedAt;
    if (signal.aborted) return failed(cancelled(), { sendMs });
    // 2. Look for it (over IMAP, or through Microsoft Graph) until it turns up or the time is over.
    let client: ImapFlow | undefined;
    try {
      let folders: string[];
      let find: (folder: string) => Promise<boolean>;
      switch (mailbox.receiveVia) {
        case 'graph': {
          const graph = this.options.graph;
          if (!graph) throw new AppError('OAUTH_NOT_AVAILABLE', 'This mailbox receives through Microsoft Graph, which is not available in this process.', { hint: 'Run the probe from the desktop app or the console.' });
          const ref = { id: mailbox.id, address: mailbox.address };
          folders = [mailbox.imap.folder, 'Junk Email'];
          find = async (folder) => (await graph.removeMessagesWithId(ref, folder, messageId)) > 0;
          break;
        }
        case 'pop3': {
          // POP3 has one maildrop and no junk folder: each look is a session of its own (a POP3 session holds the maildrop).
          const checked = new Set<string>();
          folders = [mailbox.imap.folder];
          find = () => this.findAndDeleteOverPop3(mailbox, token, checked);
          break;
        }
        default: {
          const credentials = await credentialsFor(mailbox, (mid) => this.options.mailboxes.password(mid), this.options.tokens);
          const open = await openClient(mailbox, credentials, { ...(this.options.tls?.imap ? { tls: this.options.tls.imap } : {}) });
          client = open;
          const junk = await junkFolders(open, mailbox.imap.folder);
          folders = [mailbox.imap.folder, ...junk];
          find = (folder) => findAndDelete(open, folder, token);
        }
      }
      const deadline = acceptedAt + timeoutMs;
      let wait = this.options.searchIntervalMs ?? 2_000;
      for (;;) {
        for (const folder of folders) {
          const found = await find(folder);
          if (found) {
            const finishedAt = this.clock();
            const deliverMs = finishedAt - acceptedAt;
            const totalMs = finishedAt - startedAt;
            if (folder !== mailbox.imap.folder) {
              return failed(
                {
                  code: 'PROBE_IN_JUNK',
                  message: `The probe was accepted and delivered, but to ${folder}, not to ${mailbox.imap.folder}: mail from ${mailbox.address} is treated as spam, so the help desk does not see it.`,
                  hint: `Add ${mailbox.address} to the safe senders (allow list) of the mailbox or the tenant; in Microsoft 365, check the anti-spam policy and transport rules that set the spam level. Meanwhile, look in ${folder} for customer mail.`,
                },
                { finishedAt, sendMs, deliverMs, totalMs, folder },
              );
            }
            return { status: 'delivered', finishedAt, sendMs, deliverMs, totalMs, folder, diagnosis: null };
          }
        }
        const left = deadline - this.clock();
        if (left <= 0 || signal.aborted) break;
        await sleep(Math.min(wait, left), signal);
        wait = Math.min(wait * 1.5, 15_000);
      }
      if (signal.aborted) return failed(cancelled(), { sendMs });
      return failed(
        {
          code: 'PROBE_NOT_DELIVERED',
          message: `${mailbox.sendVia === 'graph' ? 'Microsoft Graph' : mailbox.smtp.host} accepted the probe after ${Math.round(sendMs / 100) / 10} s, but it did not arrive in ${folders.join(' or ')} of ${mailbox.name} within ${Math.round(timeoutMs / 1000)} s.`,
          hint: `Look for Message-ID <${messageId}> in the mail server's queue or message trace: a stuck queue, a transport or forwarding rule, quarantine or a full mailbox can hold it.${target !== mailbox.address ? ` Check that ${target} delivers to ${mailbox.address}.` : ''} If it arrives later, Mailroom never imports it.`,
        },
        { sendMs },
      );
    } catch (error) {
      if (isGraphTokenUnavailable(error)) error = error.tokenError;
      if (isGraphError(error)) {
        const g = diagnoseGraphError(error, { operation: 'folder', address: mailbox.address, folder: mailbox.imap.folder, auth: mailbox.imap.auth === 'oauth2-app' ? 'app' : 'delegated' });
        return failed({ code: g.code, message: `The probe was accepted, but Mailroom could not look for it: ${g.summary}`, hint: g.hint }, { sendMs });
      }
      const d = diagnoseImportError(error, client ? 'select' : 'connect', mailbox, mailbox.imap.folder);
      return failed({ code: d.code, message: `The probe was accepted, but Mailroom could not look for it: ${d.message}`, hint: d.hint ?? 'Run the incoming connection test of this mailbox.' }, { sendMs });
    } finally {
      await closeClient(client);
    }
  }

  /**
   * Looks for the probe in a POP3 maildrop: the headers (TOP n 0) of each
   * message not looked at yet in this probe (`checked`, by UIDL); the probe
   * is deleted (DELE, then QUIT commits it) when found.
   */
  private async findAndDeleteOverPop3(mailbox: Mailbox, token: string, checked: Set<string>): Promise<boolean> {
    const settings = mailbox.pop3;
    if (!settings) throw new AppError('VALIDATION_FAILED', `Mailbox ${mailbox.name} reads mail over POP3 but has no POP3 settings.`, { hint: `Enter the POP3 server: Mailboxes > ${mailbox.name} > Edit > Incoming.` });
    const credentials = await pop3Credentials(mailbox, settings, (mid) => this.options.mailboxes.password(mid), this.options.tokens);
    const client = await Pop3Client.connect({
      host: settings.host,
      port: settings.port,
      security: settings.security,
      ...(this.options.tls?.imap ? { tls: this.options.tls.imap as Pop3ConnectOptions['tls'] } : {}),
    });
    try {
      await client.signIn(credentials);
      const header = new RegExp(`^${PROBE_HEADER}:[ \\t]*${token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[ \\t]*$`, 'im');
      let found = false;
      for (const { number, uidl } of await client.uidl()) {
        if (checked.has(uidl)) continue;
        checked.add(uidl);
        const headers = await client.top(number);
        if (headers && header.test(headers.toString('latin1'))) {
          const refused = await client.dele([number]);
          found = !refused.size;
          break;
        }
      }
      await client.quit();
      return found;
    } finally {
      client.destroy();
    }
  }

  /** One send through a one-connection lane of the outbox's sender code. */
  private async send(mailbox: Mailbox, target: string, raw: Buffer, messageId: string): Promise<{ ok: true } | { ok: false; diagnosis: NonNullable<ProbeOutcome['diagnosis']> }> {
    const settings = this.options.outboxSettings(mailbox.id);
    let password: string | undefined;
    let credentialError: unknown;
    if (mailbox.smtp.auth === 'password') {
      try {
        password = this.options.mailboxes.password(mailbox.id);
        if (password === undefined) credentialError = new AppError('PASSWORD_NOT_SET', `Mailbox ${mailbox.name} signs in to SMTP with a password, but none is stored.`, { hint: `Enter the password: Mailboxes > ${mailbox.name} > Edit.` });
      } catch (error) {
        credentialError = error;
      }
    }
    if (credentialError !== undefined) {
      const e = credentialError as AppError;
      return { ok: false, diagnosis: { code: e.code ?? 'PROBE_SEND_REFUSED', message: `The probe was not sent: ${e.message}`, hint: e.hint ?? '' } };
    }
    const laneConfig = {
      mailbox,
      settings: { ...settings, messagesPerConnection: 1 },
      ...(password !== undefined ? { password } : {}),
      ...(this.options.tokens ? { tokens: this.options.tokens } : {}),
      ...(this.options.tls?.smtp ? { tls: this.options.tls.smtp } : {}),
    };
    // Sent exactly as the outbox would: through Microsoft Graph or over SMTP.
    const lane: OutboxLane = mailbox.sendVia === 'graph' ? new GraphLane(laneConfig, this.options.graph ?? null, this.clock) : new SmtpLane(laneConfig, this.clock);
    try {
      const result = await lane.send({ from: mailbox.address, to: [target] }, raw, messageId);
      const ctx = { mailbox, phase: result.phase, recipients: [target], ...(result.tokenError !== undefined ? { tokenError: result.tokenError } : {}), ...(result.token ? { token: result.token } : {}) };
      if (result.ok) {
        const refusals = recipientRefusals(result.info?.rejectedErrors, result.info?.rejected);
        if (!refusals.length) return { ok: true };
        const f = classifyRefusals(refusals, ctx);
        return { ok: false, diagnosis: { code: f.code, message: `The probe was refused on sending: ${f.message}`, hint: f.hint ?? "" } };
      }
      const f = classifySendFailure(result.error, ctx);
      return { ok: false, diagnosis: { code: f.code, message: `The probe was refused on sending: ${f.message}`, hint: f.hint ?? "" } };
    } finally {
      lane.close();
    }
  }

  private logOutcome(mailbox: Mailbox, p: ProbeRecord): void {
    const secs = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`);
    this.options.log.write({
      mailboxId: mailbox.id,
      direction: 'system',
      level: p.status === 'delivered' ? 'success' : p.diagnosis?.code === 'PROBE_IN_JUNK' ? 'warning' : 'error',
      code: p.diagnosis?.code ?? null,
      message:
        p.status === 'delivered'
          ? `${mailbox.name}: round trip in ${secs(p.totalMs)} (sent ${secs(p.sendMs)}, delivered ${secs(p.deliverMs)}) to ${p.folder}.`
          : `${mailbox.name}: round-trip probe failed: ${p.diagnosis?.message ?? 'no diagnosis'}`,
      detail: p.diagnosis?.hint ?? null,
      refKind: 'mailbox',
      refId: mailbox.id,
    });
  }

  /** Starts the schedule: each mailbox with probes on gets one every interval (never two at once). */
  start(): void {
    if (this.scheduleTimer) return;
    this.repo.interruptOrphans(processAlive, this.clock());
    const tick = () => {
      const settings = this.repo.allProbeSettings();
      const mailboxes = this.options.mailboxes.list();
      const lastStarts = this.repo.lastProbeStarts(mailboxes.filter((m) => settings.get(m.id)?.enabled).map((m) => m.id));
      const now = this.clock();
      // The history keeps 30 days (the chart shows 7).
      if (now - this.prunedAt > 3_600_000) {
        this.prunedAt = now;
        this.repo.pruneProbes(now - PROBE_HISTORY_DAYS * 24 * 3_600_000);
      }
      for (const m of mailboxes) {
        const s = settings.get(m.id);
        if (!m.enabled || !s?.enabled || this.running.has(m.id)) continue;
        const last = lastStarts.get(m.id);
        if (last !== undefined && now - last < s.intervalSeconds * 1000) continue;
        void this.run(m.id, { trigger: 'schedule' }).catch(() => undefined);
      }
    };
    this.scheduleTimer = setInterval(tick, this.options.scheduleTickMs ?? 30_000);
    this.scheduleTimer.unref?.();
    tick();
  }

  /** Stops the schedule and cancels the probes running here (they are recorded as cancelled). */
  async stop(): Promise<void> {
    if (this.scheduleTimer) clearInterval(this.scheduleTimer);
    this.scheduleTimer = undefined;
    const running = [...this.running.values()];
    for (const r of running) r.controller.abort();
    await Promise.allSettled(running.map((r) => r.done));
  }

  /** Probes running in this process, by mailbox. */
  get active(): number[] {
    return [...this.running.keys()];
  }
}

function cancelled(): NonNullable<ProbeOutcome['diagnosis']> {
  return { code: 'PROBE_CANCELLED', message: 'The probe was stopped before it arrived (the engine stopped).', hint: 'Nothing to do: the next probe runs on schedule, and a probe that arrives later is never imported.' };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The Junk folders of the account: the one marked \Junk, else those named like it. */
async function junkFolders(client: ImapFlow, inbox: string): Promise<string[]> {
  const list = await client.list();
  const marked = list.filter((f) => f.specialUse === '\\Junk').map((f) => f.path);
  const named = list.filter((f) => JUNK_NAMES.test(f.path) || JUNK_NAMES.test(f.name)).map((f) => f.path);
  return [...new Set([...marked, ...named])].filter((f) => f !== inbox);
}

/** Searches a folder for the probe by its header; deletes it when found. */
async function findAndDelete(client: ImapFlow, folder: string, token: string): Promise<boolean> {
  const lock = await client.getMailboxLock(folder);
  try {
    const uids = await client.search({ header: { [PROBE_HEADER]: token } }, { uid: true });
    if (!uids || !uids.length) return false;
    await client.messageDelete(uids.join(','), { uid: true });
    return true;
  } finally {
    lock.release();
  }
}
