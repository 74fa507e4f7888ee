import { z } from 'zod';
import { channel } from './channel.js';
import { Mailbox, MailboxCreateInput, MailboxId, MailboxUpdateInput, PRESET_IDS } from '../mailbox.js';

/** A settings export: mailboxes without any secret. */
export const SettingsExport = z.object({
  format: z.literal('mailroom-settings'),
  version: z.literal(1),
  exportedAt: z.string(),
  mailboxes: z.array(MailboxCreateInput.omit({ password: true, smtpPassword: true })),
});
export type SettingsExport = z.infer<typeof SettingsExport>;

/** What an import did. */
export const SettingsImportResult = z.object({
  created: z.array(z.string()),
  updated: z.array(z.string()),
});
export type SettingsImportResult = z.infer<typeof SettingsImportResult>;

export const PresetInfo = z.object({
  id: z.enum(PRESET_IDS),
  label: z.string(),
  description: z.string(),
  imap: z.object({ host: z.string(), port: z.number(), security: z.string(), auth: z.string() }).optional(),
  smtp: z.object({ host: z.string(), port: z.number(), security: z.string(), auth: z.string() }).optional(),
  pop3: z.object({ host: z.string(), port: z.number(), security: z.string(), auth: z.string() }).optional(),
});

/** Mailbox management channels. */
export const mailboxes = {
  list: channel(z.object({}).strict(), z.array(Mailbox)),
  get: channel(z.object({ id: MailboxId }).strict(), Mailbox),
  create: channel(MailboxCreateInput, Mailbox),
  update: channel(MailboxUpdateInput, Mailbox),
  remove: channel(z.object({ id: MailboxId }).strict(), z.object({ removed: z.boolean() })),
  presets: channel(z.object({}).strict(), z.array(PresetInfo)),
  exportSettings: channel(z.object({ ids: z.array(MailboxId).optional() }).strict(), SettingsExport),
  importSettings: channel(z.object({ settings: z.unknown() }).strict(), SettingsImportResult),
} as const;
