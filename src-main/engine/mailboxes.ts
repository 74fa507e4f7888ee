/**
 * Mailbox management: validation, presets and defaults, secrets, settings
 * import/export. Every change is one transaction: a failure stores nothing.
 */
import { AppError, type FieldIssue } from '../shared/errors.js';
import {
  DEFAULT_POLL_SECONDS,
  ImapSettings,
  type Mailbox,
  Pop3Settings,
  isOAuthMode,
  MailboxCreateInput,
  MailboxUpdateInput,
  PRESETS,
  type PresetId,
  SmtpSettings,
  defaultPort,
  type SecurityMode,
} from '../shared/mailbox.js';
import { SettingsExport, type SettingsImportResult } from '../shared/contract/mailboxes.js';
import { parseOrThrow, toFieldIssues, describeIssues } from '../shared/validation.js';
import type { Db } from '../store/db.js';
import { MailboxRepo, type MailboxFields } from '../store/mailbox-repo.js';
import type { SecretRepo } from '../store/secret-repo.js';
import type { EventBus } from './events.js';
import { z } from 'zod';

type CreateParsed = z.output<typeof MailboxCreateInput>;
type UpdateParsed = z.output<typeof MailboxUpdateInput>;
type ImapPartial = NonNullable<CreateParsed['imap']>;
type SmtpPartial = NonNullable<CreateParsed['smtp']>;
type Pop3Partial = NonNullable<CreateParsed['pop3']>;
type GraphPartial = NonNullable<CreateParsed['graph']>;

/** The transport fields of a mailbox as input, partial. */
interface TransportInput {
  receiveVia?: Mailbox['receiveVia'];
  sendVia?: Mailbox['sendVia'];
  pop3?: Pop3Partial;
  graph?: GraphPartial;
}

/** Guesses a preset from an address's domain, for when none is given. */
export function guessPreset(address: string): PresetId {
  const domain = address.split('@').pop()?.toLowerCase() ?? '';
  if (domain === 'gmail.com' || domain === 'googlemail.com') return 'gmail';
  if (/^(outlook|hotmail|live|msn)\.[a-z.]+$/.test(domain) || domain.endsWith('.onmicrosoft.com')) return 'microsoft365';
  return 'generic';
}

/** Chooses the port: the explicit one, the preset's when the security matches, else the default for the security. */
function pickPort(protocol: 'imap' | 'pop3' | 'smtp', security: SecurityMode, explicit: number | undefined, base: { port: number; security: SecurityMode } | undefined): number {
  if (explicit !== undefined) return explicit;
  if (base && base.security === security) return base.port;
  return defaultPort(protocol, security);
}

/**
 * Resolves the complete settings of a mailbox from user input, a base (the
 * preset, or the existing mailbox when editing) and the defaults.
 */
export function resolveSettings(
  input: { name: string; address: string; preset: PresetId; enabled: boolean; imap?: ImapPartial; smtp?: SmtpPartial } & TransportInput,
  base?: {
    imap?: Partial<Mailbox['imap']>;
    smtp?: Partial<Mailbox['smtp']>;
    receiveVia?: Mailbox['receiveVia'];
    sendVia?: Mailbox['sendVia'];
    pop3?: Partial<Pop3Settings> | null;
    graph?: Mailbox['graph'];
  },
  previousAddress?: string,
): MailboxFields {
  const preset = PRESETS[input.preset];
  const imapBase = { ...preset.imap, ...base?.imap };
  const smtpBase = { ...preset.smtp, ...base?.smtp };
  const imapIn = input.imap ?? {};
  const smtpIn = input.smtp ?? {};
  const imapSecurity = imapIn.security ?? imapBase.security ?? 'tls';
  const smtpSecurity = smtpIn.security ?? smtpBase.security ?? 'tls';
  // A user name that followed the old address follows the new one.
  const follow = (u: string | undefined) => (u === undefined || u === '' || u === previousAddress ? input.address : u);
  const candidate = {
    name: input.name,
    address: input.address,
    enabled: input.enabled,
    preset: input.preset,
    imap: {
      host: imapIn.host ?? imapBase.host,
      port: pickPort('imap', imapSecurity, imapIn.port, imapBase.port !== undefined && imapBase.security ? { port: imapBase.port, security: imapBase.security } : undefined),
      security: imapSecurity,
      username: imapIn.username ? imapIn.username : follow(imapBase.username),
      auth: imapIn.auth ?? imapBase.auth ?? 'password',
      folder: imapIn.folder ?? imapBase.folder ?? 'INBOX',
      afterImport: imapIn.afterImport ?? imapBase.afterImport ?? 'mark-seen',
      pollIntervalSeconds: imapIn.pollIntervalSeconds ?? imapBase.pollIntervalSeconds ?? DEFAULT_POLL_SECONDS,
    },
    smtp: {
      host: smtpIn.host ?? smtpBase.host,
      port: pickPort('smtp', smtpSecurity, smtpIn.port, smtpBase.port !== undefined && smtpBase.security ? { port: smtpBase.port, security: smtpBase.security } : undefined),
      security: smtpSecurity,
      username: smtpIn.username ? smtpIn.username : follow(smtpBase.username),
      auth: smtpIn.auth ?? smtpBase.auth ?? 'password',
    },
  };
  const receiveVia = input.receiveVia ?? base?.receiveVia ?? 'imap';
  const sendVia = input.sendVia ?? base?.sendVia ?? 'smtp';
  const graph = { saveToSentItems: input.graph?.saveToSentItems ?? base?.graph?.saveToSentItems ?? true };
  // POP3 settings are resolved once POP3 is chosen or typed, and kept when the mailbox goes back to IMAP.
  const pop3Base = { ...preset.pop3, ...(base?.pop3 ?? {}) };
  const pop3In = input.pop3 ?? {};
  const wantsPop3 = receiveVia === 'pop3' || input.pop3 !== undefined || (base?.pop3 !== undefined && base.pop3 !== null);
  const pop3Security = pop3In.security ?? pop3Base.security ?? 'tls';
  const pop3Candidate = wantsPop3
    ? {
        host: pop3In.host ?? pop3Base.host,
        port: pickPort('pop3', pop3Security, pop3In.port, pop3Base.port !== undefined && pop3Base.security ? { port: pop3Base.port, security: pop3Base.security } : undefined),
        security: pop3Security,
        username: pop3In.username ? pop3In.username : follow(pop3Base.username),
        auth: pop3In.auth ?? pop3Base.auth ?? candidate.imap.auth ?? 'password',
        afterImport: pop3In.afterImport ?? pop3Base.afterImport ?? 'leave',
      }
    : undefined;
  const issues = [];
  if (pop3Candidate && !pop3Candidate.host && receiveVia === 'pop3') {
    issues.push({ path: 'pop3.host', message: `is required to receive through POP3 with the ${preset.label} preset: enter the POP3 server, such as pop.example.com` });
  }
  const pop3 = pop3Candidate?.host ? Pop3Settings.safeParse(pop3Candidate) : undefined;
  if (pop3 && !pop3.success) issues.push(...toFieldIssues(pop3.error).map((i) => ({ ...i, path: `pop3.${i.path}` })));
  // Graph signs in with the mailbox's Microsoft 365 sign-in of that direction.
  if (receiveVia === 'graph' && !isOAuthMode(candidate.imap.auth)) {
    issues.push({ path: 'receiveVia', message: 'must be imap or pop3 while incoming mail signs in with a password: Microsoft Graph needs Microsoft 365 OAuth 2.0 (set the incoming sign-in to oauth2 or oauth2-app)' });
  }
  if (sendVia === 'graph' && !isOAuthMode(candidate.smtp.auth)) {
    issues.push({ path: 'sendVia', message: 'must be smtp while sending signs in with a password or not at all: Microsoft Graph needs Microsoft 365 OAuth 2.0 (set the SMTP sign-in to oauth2 or oauth2-app)' });
  }
  // A mailbox that only has a POP3 server keeps IMAP settings all the same (every mailbox has them): they take the POP3 host, unused while it receives over POP3.
  if (!candidate.imap.host && receiveVia === 'pop3' && pop3Candidate?.host) candidate.imap.host = pop3Candidate.host;
  if (!candidate.imap.host) issues.push({ path: 'imap.host', message: `is required for the ${preset.label} preset: enter the IMAP server, such as imap.example.com` });
  if (!candidate.smtp.host) issues.push({ path: 'smtp.host', message: `is required for the ${preset.label} preset: enter the SMTP server, such as smtp.example.com` });
  const imap = ImapSettings.safeParse(candidate.imap);
  const smtp = SmtpSettings.safeParse(candidate.smtp);
  if (candidate.imap.host && !imap.success) issues.push(...toFieldIssues(imap.error).map((i) => ({ ...i, path: `imap.${i.path}` })));
  if (candidate.smtp.host && !smtp.success) issues.push(...toFieldIssues(smtp.error).map((i) => ({ ...i, path: `smtp.${i.path}` })));
  // One mailbox gets one kind of token: a person's (delegated) or the app's (app-only), never both.
  const kinds = [candidate.imap.auth, candidate.smtp.auth];
  if (kinds.includes('oauth2-app') && kinds.includes('oauth2')) {
    issues.push({ path: candidate.smtp.auth === 'oauth2-app' ? 'imap.auth' : 'smtp.auth', message: 'must not mix oauth2 (a person\'s sign-in) with oauth2-app (app-only) in one mailbox: use oauth2-app for both IMAP and SMTP, or oauth2 for both' });
  }
  if (issues.length || !imap.success || !smtp.success) {
    throw new AppError('VALIDATION_FAILED', `Invalid mailbox settings: ${describeIssues(issues)}`, { issues });
  }
  return {
    name: candidate.name,
    address: candidate.address,
    enabled: candidate.enabled,
    preset: candidate.preset,
    imap: imap.data,
    smtp: smtp.data,
    receiveVia,
    sendVia,
    pop3: pop3?.success ? pop3.data : null,
    graph,
  };
}

const SettingsEntry = SettingsExport.shape.mailboxes.element;
const SettingsEnvelope = SettingsExport.extend({ mailboxes: z.array(z.unknown()) });

/** The error for one bad entry of a settings file: names the mailbox, its position and the fields. */
function invalidEntry(raw: unknown, index: number, fieldIssues: FieldIssue[]): AppError {
  const name = typeof raw === 'object' && raw !== null && typeof (raw as { name?: unknown }).name === 'string' ? (raw as { name: string }).name : undefined;
  const which = name ? `Mailbox "${name}" (entry ${index + 1})` : `Entry ${index + 1}`;
  const issues = fieldIssues.map((i) => ({ ...i, path: i.path === '(input)' ? `mailboxes.${index}` : `mailboxes.${index}.${i.path}` }));
  return new AppError('SETTINGS_FILE_INVALID', `${which} in the file is invalid: ${describeIssues(fieldIssues)}. Nothing was imported.`, {
    hint: 'Correct that entry in the file (or remove it) and import again.',
    issues,
  });
}

/** The settings of a mailbox as an import/export entry (no secrets). */
export function toSettingsEntry(m: Mailbox): SettingsExport['mailboxes'][number] {
  return {
    name: m.name,
    address: m.address,
    preset: m.preset,
    enabled: m.enabled,
    imap: { ...m.imap },
    smtp: { ...m.smtp },
    receiveVia: m.receiveVia,
    sendVia: m.sendVia,
    ...(m.pop3 ? { pop3: { ...m.pop3 } } : {}),
    graph: { ...m.graph },
  };
}

export class MailboxService {
  private readonly repo: MailboxRepo;

  constructor(private readonly db: Db, private readonly secrets: SecretRepo, private readonly events?: EventBus) {
    this.repo = new MailboxRepo(db);
  }

  list(): Mailbox[] {
    return this.repo.list();
  }

  get(id: number): Mailbox {
    const m = this.repo.get(id);
    if (!m) throw new AppError('NOT_FOUND', `No mailbox has id ${id}.`, { hint: 'List the mailboxes to see their ids and names.' });
    return m;
  }

  /** Finds a mailbox by id (digits) or by name (case-insensitive). */
  resolve(idOrName: string | number): Mailbox {
    const text = String(idOrName).trim();
    const found = /^\d+$/.test(text) ? this.repo.get(Number(text)) ?? this.repo.findByName(text) : this.repo.findByName(text);
    if (!found) throw new AppError('NOT_FOUND', `No mailbox is named or numbered "${text}".`, { hint: 'Run "mailroom mailbox list" to see the mailboxes.' });
    return found;
  }

  create(input: unknown): Mailbox {
    const parsed = parseOrThrow(MailboxCreateInput, input, 'mailbox');
    const preset = parsed.preset ?? guessPreset(parsed.address);
    const fields = resolveSettings({ ...parsed, preset, enabled: parsed.enabled ?? true });
    const id = this.db.transaction(() => {
      const newId = this.repo.insert(fields);
      if (parsed.password) this.secrets.set(newId, 'password', parsed.password);
      if (parsed.smtpPassword) this.secrets.set(newId, 'smtp-password', parsed.smtpPassword);
      return newId;
    })();
    this.events?.emit('mailboxes.changed', { id });
    return this.get(id);
  }

  /**
   * The mailbox as a create or an update would leave it, without saving
   * anything (id 0 for a new one): the CLI looks into its folder before the
   * first enable. Validation errors are the same as on saving.
   */
  preview(input: unknown, mode: 'create' | 'update'): Mailbox {
    if (mode === 'create') {
      const parsed = parseOrThrow(MailboxCreateInput, input, 'mailbox');
      const preset = parsed.preset ?? guessPreset(parsed.address);
      const fields = resolveSettings({ ...parsed, preset, enabled: parsed.enabled ?? true });
      return { id: 0, ...fields, passwordSet: Boolean(parsed.password), smtpPasswordSet: Boolean(parsed.smtpPassword), createdAt: 0, updatedAt: 0 };
    }
    const parsed: UpdateParsed = parseOrThrow(MailboxUpdateInput, input, 'mailbox');
    const existing = this.get(parsed.id);
    return { ...existing, ...this.updatedFields(parsed, existing) };
  }

  update(input: unknown): Mailbox {
    const parsed: UpdateParsed = parseOrThrow(MailboxUpdateInput, input, 'mailbox');
    const existing = this.get(parsed.id);
    const fields = this.updatedFields(parsed, existing);
    this.db.transaction(() => {
      this.repo.update(existing.id, fields);
      if (parsed.password === null) this.secrets.remove(existing.id, 'password');
      else if (parsed.password) this.secrets.set(existing.id, 'password', parsed.password);
      if (parsed.smtpPassword === null) this.secrets.remove(existing.id, 'smtp-password');
      else if (parsed.smtpPassword) this.secrets.set(existing.id, 'smtp-password', parsed.smtpPassword);
    })();
    this.events?.emit('mailboxes.changed', { id: existing.id });
    return this.get(existing.id);
  }

  /** The complete settings an update leaves: the existing ones, the input, and the preset's when it changes. */
  private updatedFields(parsed: UpdateParsed, existing: Mailbox): MailboxFields {
    const presetChanged = parsed.preset !== undefined && parsed.preset !== existing.preset;
    const preset = parsed.preset ?? existing.preset;
    const address = parsed.address ?? existing.address;
    // Keep the existing settings as the base, unless the preset changed: then the preset's servers apply.
    const transports = { receiveVia: existing.receiveVia, sendVia: existing.sendVia, graph: existing.graph };
    const base = presetChanged
      ? {
          ...transports,
          imap: { folder: existing.imap.folder, afterImport: existing.imap.afterImport, pollIntervalSeconds: existing.imap.pollIntervalSeconds, username: existing.imap.username },
          smtp: { username: existing.smtp.username },
          pop3: existing.pop3 ? { username: existing.pop3.username, afterImport: existing.pop3.afterImport } : null,
        }
      : { ...transports, imap: existing.imap, smtp: existing.smtp, pop3: existing.pop3 };
    if (!presetChanged) {
      // A change of security without a port: a port that was the default for the old
      // security follows to the new default; a custom port (a relay on 2525) stays.
      if (parsed.imap?.security && parsed.imap.port === undefined) {
        const wasDefault = existing.imap.port === defaultPort('imap', existing.imap.security);
        base.imap = { ...existing.imap, security: parsed.imap.security, port: wasDefault ? defaultPort('imap', parsed.imap.security) : existing.imap.port };
      }
      if (parsed.smtp?.security && parsed.smtp.port === undefined) {
        const wasDefault = existing.smtp.port === defaultPort('smtp', existing.smtp.security);
        base.smtp = { ...existing.smtp, security: parsed.smtp.security, port: wasDefault ? defaultPort('smtp', parsed.smtp.security) : existing.smtp.port };
      }
      if (parsed.pop3?.security && parsed.pop3.port === undefined && existing.pop3) {
        const wasDefault = existing.pop3.port === defaultPort('pop3', existing.pop3.security);
        base.pop3 = { ...existing.pop3, security: parsed.pop3.security, port: wasDefault ? defaultPort('pop3', parsed.pop3.security) : existing.pop3.port };
      }
    }
    return resolveSettings(
      {
        name: parsed.name ?? existing.name,
        address,
        preset,
        enabled: parsed.enabled ?? existing.enabled,
        ...(parsed.imap ? { imap: parsed.imap } : {}),
        ...(parsed.smtp ? { smtp: parsed.smtp } : {}),
        ...(parsed.receiveVia ? { receiveVia: parsed.receiveVia } : {}),
        ...(parsed.sendVia ? { sendVia: parsed.sendVia } : {}),
        ...(parsed.pop3 ? { pop3: parsed.pop3 } : {}),
        ...(parsed.graph ? { graph: parsed.graph } : {}),
      },
      base,
      existing.address,
    );
  }

  remove(id: number): boolean {
    const removed = this.repo.remove(id);
    if (removed) this.events?.emit('mailboxes.changed', { id });
    return removed;
  }

  /** The stored (incoming, IMAP) password of a mailbox, for the engine's own connections only. */
  password(id: number): string | undefined {
    return this.secrets.get(id, 'password');
  }

  /**
   * The password SMTP signs in with, for the engine's own connections only:
   * SMTP's own when one is set, else the incoming password (data folders from
   * before SMTP had its own keep working unchanged).
   */
  smtpPassword(id: number): string | undefined {
    return this.secrets.smtpPassword(id);
  }

  exportSettings(ids?: number[]): SettingsExport {
    const all = ids?.length ? ids.map((id) => this.get(id)) : this.list();
    return { format: 'mailroom-settings', version: 1, exportedAt: new Date().toISOString(), mailboxes: all.map(toSettingsEntry) };
  }

  /**
   * Imports a settings export: new names are created, existing names updated
   * (their secrets kept). All or nothing: one bad entry imports nothing.
   */
  importSettings(settings: unknown): SettingsImportResult {
    // First the envelope: is this a settings file at all? Then each entry, so an error names the mailbox.
    const envelope = SettingsEnvelope.safeParse(settings);
    if (!envelope.success) {
      const issues = toFieldIssues(envelope.error);
      throw new AppError('SETTINGS_FILE_INVALID', `This is not a Mailroom settings file: ${describeIssues(issues.slice(0, 5))}`, {
        hint: 'Choose a file made by "Export settings" (format "mailroom-settings", version 1).',
        issues,
      });
    }
    const entries: SettingsExport['mailboxes'] = [];
    envelope.data.mailboxes.forEach((raw, index) => {
      const entry = SettingsEntry.safeParse(raw);
      if (entry.success) entries.push(entry.data);
      else throw invalidEntry(raw, index, toFieldIssues(entry.error));
    });
    const result: SettingsImportResult = { created: [], updated: [] };
    this.db.transaction(() => {
      entries.forEach((entry, index) => {
        try {
          const existing = this.repo.findByName(entry.name);
          if (existing) {
            this.update({ ...entry, id: existing.id });
            result.updated.push(entry.name);
          } else {
            this.create(entry);
            result.created.push(entry.name);
          }
        } catch (error) {
          if (error instanceof AppError && error.issues) throw invalidEntry(entry, index, error.issues);
          throw error;
        }
      });
    })();
    return result;
  }
}
