/**
 * Opens an imported diagnostics bundle as an engine of its own, over a
 * temporary data folder, so the same screens show it. The admin's own data
 * folder is never touched; the temporary one is deleted on close.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { GraphSettings, ImapSettings, Pop3Settings, ReceiveViaSchema, SendViaSchema, SmtpSettings, PRESET_IDS } from '../../shared/mailbox.js';
import { z } from 'zod';
import { MailboxRepo } from '../../store/mailbox-repo.js';
import { staticKeyProvider } from '../../store/secret-box.js';
import { openMailroom, type Mailroom } from '../mailroom.js';
import type { ReadBundle } from './bundle.js';

const BundleMailbox = z.object({
  id: z.number().int(),
  name: z.string(),
  address: z.string(),
  enabled: z.boolean().default(true),
  preset: z.enum(PRESET_IDS).default('generic'),
  imap: ImapSettings,
  smtp: SmtpSettings,
  // Bundles made before transports per direction: IMAP and SMTP.
  receiveVia: ReceiveViaSchema.default('imap'),
  sendVia: SendViaSchema.default('smtp'),
  pop3: Pop3Settings.nullable().default(null),
  graph: GraphSettings.default({ saveToSentItems: true }),
  createdAt: z.number().int().default(0),
  updatedAt: z.number().int().default(0),
});

/** Imports a section of a bundle into the viewer engine; areas register theirs. */
export type SectionImporter = (engine: Mailroom, data: unknown) => void;

const importers = new Map<string, SectionImporter>();

/** Lets an area of the engine show its section of imported bundles. */
export function registerSectionImporter(section: string, importer: SectionImporter): void {
  importers.set(section, importer);
}

registerSectionImporter('mailboxes', (engine, data) => {
  const repo = new MailboxRepo(engine.db);
  for (const raw of Array.isArray(data) ? data : []) {
    const parsed = BundleMailbox.safeParse(raw);
    if (!parsed.success) continue;
    const m = parsed.data;
    repo.insertWithId(m.id, { name: m.name, address: m.address, enabled: m.enabled, preset: m.preset, imap: m.imap, smtp: m.smtp, receiveVia: m.receiveVia, sendVia: m.sendVia, pop3: m.pop3, graph: m.graph }, m.createdAt, m.updatedAt);
  }
});

export interface BundleViewer {
  engine: Mailroom;
  close(): void;
}

export function openBundleViewer(bundle: ReadBundle): BundleViewer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-bundle-'));
  const engine = openMailroom({ dataDir: dir, keyProvider: staticKeyProvider(crypto.randomBytes(32), 'bundle viewer') });
  try {
    engine.db.transaction(() => {
      for (const [name, data] of Object.entries(bundle.sections)) importers.get(name)?.(engine, data);
      const insert = engine.db.prepare(
        `INSERT INTO log_entries (id, at, mailbox_id, mailbox_name, direction, level, code, message, detail, ref_kind, ref_id, repeat_count, first_at)
         VALUES (@id, @at, (SELECT id FROM mailboxes WHERE id = @mailboxId), @mailboxName, @direction, @level, @code, @message, @detail, @refKind, @refId, @repeats, @firstAt)`,
      );
      for (const e of bundle.logs) insert.run(e);
    })();
  } catch (error) {
    engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    engine,
    close: () => {
      engine.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
