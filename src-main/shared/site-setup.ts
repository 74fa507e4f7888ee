/**
 * Site setup of the help-desk system (SuperOffice Service) that Mailroom's
 * mailboxes serve: the version-aware checklist, the cURL mail registry
 * switch and the `NewAuthentication` feature toggle in web.config.
 * Schemas and types only; the rules live in the engine (engine/site-setup).
 * This module imports nothing from node or electron.
 */
import { z } from 'zod';

/**
 * The version ranges that behave differently for mail. Every installed
 * version falls into exactly one.
 */
export const SITE_VERSION_RANGES = ['before-8.0-sr2', '8.0-sr2', '8.1', '9.2-r10', '10.0.3', '10.1.5', 'online'] as const;
/** One version range, e.g. `9.2-r10` for G9 9.2 R10 up to 10.0.2. */
export type SiteVersionRange = (typeof SITE_VERSION_RANGES)[number];
/** Zod schema of {@link SiteVersionRange}. */
export const SiteVersionRangeSchema = z.enum(SITE_VERSION_RANGES);

/** One choice of the version picker. */
export const SiteVersionChoice = z.object({
  range: SiteVersionRangeSchema,
  /** What the picker shows, e.g. "G9 9.2 R10 to 10.0.2". */
  label: z.string(),
  /** One line on what changes in this range. */
  description: z.string(),
});
export type SiteVersionChoice = z.infer<typeof SiteVersionChoice>;

/** A version as the admin typed it, or a range id from the picker. */
export const SiteVersionText = z
  .string({ error: 'type the installed version, e.g. 10.1.4, G9 9.2 R10, 8.0 SR2 or Online' })
  .trim()
  .min(1, { error: 'type the installed version, e.g. 10.1.4, G9 9.2 R10, 8.0 SR2 or Online' })
  .max(100, { error: 'must be at most 100 characters' });

/** What a typed version was understood as. */
export const ParsedSiteVersion = z.object({
  /** What was typed, trimmed. */
  input: z.string(),
  range: SiteVersionRangeSchema,
  /** The version in the vendor's own spelling, e.g. "G9 9.2 R10", "10.1.4", "Online". */
  display: z.string(),
  /** Comparable numbers [major, minor, release] (the service release or R number counts as release); absent for Online and range ids. */
  numbers: z.tuple([z.number(), z.number(), z.number()]).optional(),
});
export type ParsedSiteVersion = z.infer<typeof ParsedSiteVersion>;

/** Whether a checklist item concerns this version. */
export const CHECKLIST_STATUSES = ['action', 'applies', 'not-needed'] as const;
/** `action`: the admin must do something; `applies`: a requirement or caveat to know; `not-needed`: nothing to do for this version. */
export type ChecklistStatus = (typeof CHECKLIST_STATUSES)[number];

/** Where on the Site setup screen an item's action is done. */
export const CHECKLIST_ACTIONS = ['registry-sql', 'web-config'] as const;

/** One line of the site checklist. */
export const ChecklistItem = z.object({
  /** Stable id, e.g. `curl-mail`, `oauth-microsoft-365`. */
  id: z.string(),
  title: z.string(),
  status: z.enum(CHECKLIST_STATUSES),
  /** A few words for the status column, e.g. "On by default". */
  summary: z.string(),
  /** Plain words: what is true for this version and why it matters. */
  explanation: z.string(),
  /** What to do or check, when there is something. */
  hint: z.string().optional(),
  /** The panel of the Site setup screen (or CLI command) that does it. */
  action: z.enum(CHECKLIST_ACTIONS).optional(),
});
export type ChecklistItem = z.infer<typeof ChecklistItem>;

/** The checklist for one installed version. */
export const SiteChecklist = z.object({
  version: ParsedSiteVersion,
  /** The picker label of the version's range. */
  rangeLabel: z.string(),
  items: z.array(ChecklistItem),
});
export type SiteChecklist = z.infer<typeof SiteChecklist>;

/** The default registry table: the `crm7` schema that SQL Server installations commonly use. */
export const DEFAULT_REGISTRY_TABLE = 'crm7.registry';

/**
 * A SQL Server table name: `registry`, `crm7.registry`, `[crm7].[registry]`
 * or `SuperOffice.crm7.registry` (database.schema.table). The engine checks
 * it, so that a refusal says what to type instead of naming a schema rule.
 */
export const SQL_TABLE_NAME_PATTERN = /^(?:(?:[A-Za-z_][A-Za-z0-9_@#$]*|\[[^\]\r\n]+\])\.){0,2}(?:[A-Za-z_][A-Za-z0-9_@#$]*|\[[^\]\r\n]+\])$/;

/** Input of the registry SQL generator. */
export const RegistrySqlInput = z
  .object({
    /** true: set cURL mail on (value '0'); false: off (value '2'). */
    useCurl: z.boolean().default(true),
    /** The registry table with its schema; checked by the engine against SQL_TABLE_NAME_PATTERN. */
    table: z.string().max(200, { error: 'must be at most 200 characters' }).default(DEFAULT_REGISTRY_TABLE),
  })
  .strict();
export type RegistrySqlInput = z.input<typeof RegistrySqlInput>;

/** One generated SQL statement with what it does. */
export const SqlStatement = z.object({
  /** `read`: shows the current value; `set`: changes it, guarded by a transaction. */
  id: z.enum(['read', 'set']),
  title: z.string(),
  sql: z.string(),
  explanation: z.string(),
});
export type SqlStatement = z.infer<typeof SqlStatement>;

/** The registry switch: statements to run in SQL Server Management Studio, and what to know first. */
export const RegistrySql = z.object({
  /** The registry id of the mail switch: 320. */
  regId: z.literal(320),
  table: z.string(),
  useCurl: z.boolean(),
  /** The value the set statement writes: '0' (cURL) or '2' (not cURL). */
  value: z.enum(['0', '2']),
  dialect: z.literal('sqlserver'),
  statements: z.array(SqlStatement),
  /** Everything as one script, to copy at once. */
  script: z.string(),
  notes: z.array(z.string()),
});
export type RegistrySql = z.infer<typeof RegistrySql>;

/** The fully qualified type of the `State` section, as SuperOffice documents it. */
export const FEATURE_TOGGLE_SECTION_TYPE =
  'System.Configuration.NameValueSectionHandler, System, Version=1.0.5000.0, Culture=neutral, PublicKeyToken=b77a5c561934e089';

/** The parts of the feature toggle, in the order they are checked. */
export const WEB_CONFIG_PARTS = ['section-group', 'feature-toggles-group', 'state-section', 'state-element', 'new-authentication'] as const;
export type WebConfigPartId = (typeof WEB_CONFIG_PARTS)[number];

/** One part of the toggle and whether the file has it. */
export const WebConfigPart = z.object({
  id: z.enum(WEB_CONFIG_PARTS),
  /** Where it lives, e.g. `configSections / sectionGroup SuperOffice`. */
  label: z.string(),
  /** `different`: present but with another value or type, changed in place by the fix. */
  state: z.enum(['present', 'missing', 'different']),
  /** 1-based line of the element in the file, when present. */
  line: z.number().int().optional(),
  /** Plain words, e.g. `value is "False"; the fix sets it to "True"`. */
  detail: z.string(),
});
export type WebConfigPart = z.infer<typeof WebConfigPart>;

/** A web.config to inspect: a file on this computer or pasted text. */
export const WebConfigSource = z.union([
  z.object({ path: z.string().trim().min(1, { error: 'give the full path of web.config' }).max(4096) }).strict(),
  z.object({ text: z.string().max(10 * 1024 * 1024, { error: 'is larger than 10 MB; a web.config is much smaller' }) }).strict(),
]);
export type WebConfigSource = z.infer<typeof WebConfigSource>;

/** How the file is written, so that inserted lines look like their neighbours. */
export const WebConfigFormat = z.object({
  encoding: z.enum(['utf-8', 'utf-16le', 'utf-16be', 'latin1']),
  bom: z.boolean(),
  lineEnding: z.enum(['crlf', 'lf']),
  indent: z.object({ kind: z.enum(['tabs', 'spaces']), width: z.number().int() }),
});
export type WebConfigFormat = z.infer<typeof WebConfigFormat>;

/** The result of inspecting a web.config. */
export const WebConfigCheck = z.object({
  source: z.enum(['file', 'text']),
  /** The absolute path, for a file. */
  path: z.string().optional(),
  format: WebConfigFormat,
  parts: z.array(WebConfigPart),
  /** True when every part is present: NewAuthentication is on. */
  complete: z.boolean(),
  /** SuperOffice/Data/Database TablePrefix, when the file has one (the SQL Server schema of the registry table). */
  tablePrefix: z.string().optional(),
  /** SHA-256 (hex) of the bytes inspected, to detect a change between preview and apply. */
  sha256: z.string(),
  /** Things to know that the fix does not change. */
  notes: z.array(z.string()),
});
export type WebConfigCheck = z.infer<typeof WebConfigCheck>;

/** One line of a diff. */
export const DiffLine = z.object({
  kind: z.enum(['context', 'add', 'remove']),
  text: z.string(),
  /** 1-based line in the old file (context and remove). */
  oldLine: z.number().int().optional(),
  /** 1-based line in the new file (context and add). */
  newLine: z.number().int().optional(),
});
export type DiffLine = z.infer<typeof DiffLine>;

/** One hunk of a unified diff. */
export const DiffHunk = z.object({
  oldStart: z.number().int(),
  oldLines: z.number().int(),
  newStart: z.number().int(),
  newLines: z.number().int(),
  lines: z.array(DiffLine),
});
export type DiffHunk = z.infer<typeof DiffHunk>;

/** The edit the fix would make. Values of keys that look secret are masked in the diff. */
export const WebConfigEditPlan = z.object({
  check: WebConfigCheck,
  /** False when nothing is missing: applying writes nothing and makes no backup. */
  changed: z.boolean(),
  /** What each change does, in plain words. */
  changes: z.array(z.object({ part: z.enum(WEB_CONFIG_PARTS), action: z.enum(['insert', 'replace']), line: z.number().int(), description: z.string() })),
  /** Unified diff of the changed lines (text). */
  diff: z.string(),
  hunks: z.array(DiffHunk),
  lineCountBefore: z.number().int(),
  lineCountAfter: z.number().int(),
  /** For pasted text only: the whole corrected text, to copy back. */
  updatedText: z.string().optional(),
});
export type WebConfigEditPlan = z.infer<typeof WebConfigEditPlan>;

/**
 * How a web.config backup is named, next to the file: the file's name, then
 * `.mailroom-`, the local date and time of the save (`YYYYMMDD-HHMMSS`) and
 * `.bak`. Before a save, screens name it with this pattern; the exact name is
 * the one the write reports (`WebConfigApplyResult.backupPath`), never one
 * computed again from another reading of the clock.
 */
export function webConfigBackupName(fileName: string, stamp = 'YYYYMMDD-HHMMSS'): string {
  return `${fileName}.mailroom-${stamp}.bak`;
}

/** Input of applying the fix to a file. */
export const WebConfigApplyInput = z
  .object({
    path: z.string().trim().min(1, { error: 'give the full path of web.config' }).max(4096),
    /** The sha256 of the preview the admin confirmed; the write is refused when the file changed since. */
    expectedSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, { error: 'must be the sha256 returned by the preview' })
      .optional(),
  })
  .strict();
export type WebConfigApplyInput = z.infer<typeof WebConfigApplyInput>;

/** What applying did. */
export const WebConfigApplyResult = z.object({
  path: z.string(),
  changed: z.boolean(),
  /** The backup written before the change (absent when nothing changed). */
  backupPath: z.string().optional(),
  diff: z.string(),
  hunks: z.array(DiffHunk),
  /** The file as checked after the write. */
  after: WebConfigCheck,
});
export type WebConfigApplyResult = z.infer<typeof WebConfigApplyResult>;
