/**
 * Which server fields of the new-mailbox form a preset (or the detected
 * provider) filled in, and which the admin typed. Switching the preset, by
 * hand or because detection recognised another provider, replaces what the
 * previous preset filled and never what the admin typed: after "No provider
 * was recognised" and a switch to Other, no field keeps Microsoft 365's
 * outlook.office365.com (issue 13). Pure functions, tested without a browser.
 */
import { PRESETS, defaultPort, type PresetId, type SecurityMode } from '../../../src-main/shared/mailbox.js';
import type { DetectProposal } from '../../../src-main/shared/oauth.js';

/** The server fields a preset or a detection fills in, as the form holds them (strings as typed). */
export interface ServerFields {
  imapHost: string;
  imapPort: string;
  imapSecurity: SecurityMode;
  imapAuth: 'password' | 'oauth2' | 'oauth2-app';
  imapUsername: string;
  smtpHost: string;
  smtpPort: string;
  smtpSecurity: SecurityMode;
  smtpAuth: 'password' | 'oauth2' | 'oauth2-app' | 'none';
  smtpUsername: string;
  pop3Host: string;
  pop3Port: string;
  pop3Security: SecurityMode;
  pop3Auth: 'password' | 'oauth2' | 'oauth2-app';
  pop3Username: string;
}
export type PresetField = keyof ServerFields;

/** Every field a preset may fill. */
export const PRESET_FIELDS: readonly PresetField[] = [
  'imapHost',
  'imapPort',
  'imapSecurity',
  'imapAuth',
  'imapUsername',
  'smtpHost',
  'smtpPort',
  'smtpSecurity',
  'smtpAuth',
  'smtpUsername',
  'pop3Host',
  'pop3Port',
  'pop3Security',
  'pop3Auth',
  'pop3Username',
];

/** What a preset puts in the server fields; Other has no servers (empty hosts, default ports). */
export function presetServerFields(preset: PresetId): ServerFields {
  const p = PRESETS[preset];
  return {
    imapHost: p.imap?.host ?? '',
    imapPort: String(p.imap?.port ?? defaultPort('imap', 'tls')),
    imapSecurity: p.imap?.security ?? 'tls',
    imapAuth: p.imap?.auth ?? 'password',
    imapUsername: '',
    smtpHost: p.smtp?.host ?? '',
    smtpPort: String(p.smtp?.port ?? defaultPort('smtp', 'tls')),
    smtpSecurity: p.smtp?.security ?? 'tls',
    smtpAuth: p.smtp?.auth ?? 'password',
    smtpUsername: '',
    pop3Host: p.pop3?.host ?? '',
    pop3Port: String(p.pop3?.port ?? defaultPort('pop3', 'tls')),
    pop3Security: p.pop3?.security ?? 'tls',
    pop3Auth: p.pop3?.auth ?? p.imap?.auth ?? 'password',
    pop3Username: '',
  };
}

/** What a detection proposes: its servers, else its preset's. A user name equal to the address is left empty (it is the default). */
export function proposalServerFields(proposal: Omit<DetectProposal, 'pop3'> & Partial<Pick<DetectProposal, 'pop3'>>, address: string): ServerFields {
  const fields = presetServerFields(proposal.preset);
  const user = (u: string) => (u.toLowerCase() === address.trim().toLowerCase() ? '' : u);
  if (proposal.imap) {
    Object.assign(fields, {
      imapHost: proposal.imap.host,
      imapPort: String(proposal.imap.port),
      imapSecurity: proposal.imap.security,
      imapAuth: proposal.imap.auth === 'oauth2' ? 'oauth2' : 'password',
      imapUsername: user(proposal.imap.username),
    });
  }
  if (proposal.smtp) {
    Object.assign(fields, {
      smtpHost: proposal.smtp.host,
      smtpPort: String(proposal.smtp.port),
      smtpSecurity: proposal.smtp.security,
      smtpAuth: proposal.smtp.auth,
      smtpUsername: user(proposal.smtp.username),
    });
  }
  if (proposal.pop3) {
    Object.assign(fields, {
      pop3Host: proposal.pop3.host,
      pop3Port: String(proposal.pop3.port),
      pop3Security: proposal.pop3.security,
      pop3Auth: proposal.pop3.auth === 'oauth2' ? 'oauth2' : 'password',
      pop3Username: user(proposal.pop3.username),
    });
  }
  return fields;
}

/**
 * Puts `next` into the fields a preset filled before (and into empty ones);
 * fields the admin typed keep their value. Returns the new values and the
 * fields now filled by a preset.
 */
export function refill<T extends ServerFields>(values: T, filled: ReadonlySet<PresetField>, next: ServerFields): { values: T; filled: Set<PresetField> } {
  const out = { ...values };
  const nowFilled = new Set(filled);
  for (const field of PRESET_FIELDS) {
    const free = filled.has(field) || values[field] === '';
    if (!free) continue;
    (out as ServerFields)[field] = next[field] as never;
    nowFilled.add(field);
  }
  return { values: out, filled: nowFilled };
}

/** Puts every field of `next` in place (the admin asked for exactly these settings); all count as preset-filled. */
export function fillAll<T extends ServerFields>(values: T, next: ServerFields): { values: T; filled: Set<PresetField> } {
  return { values: { ...values, ...next }, filled: new Set(PRESET_FIELDS) };
}

/** The admin typed into a field: no preset replaces it from now on. */
export function typedInto(filled: ReadonlySet<PresetField>, field: string): Set<PresetField> {
  const next = new Set(filled);
  next.delete(field as PresetField);
  return next;
}
