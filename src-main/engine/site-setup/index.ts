/**
 * The site setup assistant for the help-desk system that Mailroom's
 * mailboxes serve: the version checklist, the registry SQL, and the
 * web.config feature toggle (check, preview the diff, apply with a backup).
 * Stateless and without a database: the CLI uses it without opening the store.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { AppError } from '../../shared/errors.js';
import { parseOrThrow } from '../../shared/validation.js';
import {
  WebConfigApplyInput,
  WebConfigSource,
  type RegistrySql,
  type RegistrySqlInput,
  type SiteChecklist,
  type SiteVersionChoice,
  type WebConfigApplyResult,
  type WebConfigCheck,
  type WebConfigEditPlan,
} from '../../shared/site-setup.js';
import { siteChecklist } from './checklist.js';
import { countLines, diffTexts } from './config-diff.js';
import { readConfigFile, replaceConfigFile, type FileOps } from './config-file.js';
import { decodeBytes, encodeText, type DecodedText } from './config-text.js';
import { analyseFeatureToggle, applyEdits, type ToggleAnalysis } from './feature-toggle.js';
import { registrySql } from './registry-sql.js';
import { SITE_VERSION_CHOICES } from './versions.js';

export { parseSiteVersion, SITE_VERSION_CHOICES } from './versions.js';
export { checklistForRange, siteChecklist } from './checklist.js';
export { registrySql, MAIL_REGISTRY_ID } from './registry-sql.js';
export { maskSecrets } from './config-diff.js';

/** Options for tests: a fixed clock for backup names and injected file failures. */
export interface SiteSetupOptions {
  now?: () => Date;
  fileOps?: FileOps;
  retryDelaysMs?: number[];
}

interface Loaded {
  source: 'file' | 'text';
  path?: string;
  bytes: Buffer;
  decoded: DecodedText;
  analysis: ToggleAnalysis;
}

const sha256 = (bytes: Uint8Array) => crypto.createHash('sha256').update(bytes).digest('hex');

/** The site setup assistant. */
export class SiteSetupService {
  constructor(private readonly options: SiteSetupOptions = {}) {}

  /** The version picker's choices, oldest first. */
  versions(): SiteVersionChoice[] {
    return [...SITE_VERSION_CHOICES];
  }

  /** The checklist for a typed version or a range id. */
  checklist(version: string): SiteChecklist {
    return siteChecklist(version);
  }

  /** The registry switch statements (SQL Server). */
  registrySql(input: RegistrySqlInput = {}): RegistrySql {
    return registrySql(input);
  }

  /** Which parts of the NewAuthentication toggle a web.config (file or text) has. Reads only. */
  checkWebConfig(source: WebConfigSource): WebConfigCheck {
    return this.toCheck(this.load(source));
  }

  /** The edit that would complete the toggle, as a diff. Writes nothing. */
  previewWebConfig(source: WebConfigSource): WebConfigEditPlan {
    const loaded = this.load(source);
    const { plan } = this.plan(loaded);
    return plan;
  }

  /**
   * Completes the toggle in a file: backup, then an atomic replace. Does
   * nothing (no backup, no write) when the file already has everything.
   * With `expectedSha256` (from the preview) refuses a file changed since.
   */
  async applyWebConfig(input: WebConfigApplyInput): Promise<WebConfigApplyResult> {
    const { path: filePath, expectedSha256 } = parseOrThrow(WebConfigApplyInput, input, 'web.config apply request');
    const loaded = this.load({ path: filePath });
    const sum = sha256(loaded.bytes);
    if (expectedSha256 && expectedSha256 !== sum) {
      throw new AppError('WEBCONFIG_CHANGED', `${loaded.path} changed after the preview you confirmed. Nothing was written.`, {
        hint: 'Check the file again and review the new diff before saving.',
      });
    }
    const { plan, nextText } = this.plan(loaded);
    if (!plan.changed) return { path: loaded.path!, changed: false, diff: '', hunks: [], after: plan.check };
    const nextBytes = encodeText(nextText, loaded.decoded.encoding, loaded.decoded.bom);
    const backupPath = await replaceConfigFile(loaded.path!, loaded.bytes, nextBytes, {
      ...(this.options.now ? { now: this.options.now() } : {}),
      ...(this.options.fileOps ? { ops: this.options.fileOps } : {}),
      ...(this.options.retryDelaysMs ? { retryDelaysMs: this.options.retryDelaysMs } : {}),
    });
    const after = this.checkWebConfig({ path: loaded.path! });
    return { path: loaded.path!, changed: true, backupPath, diff: plan.diff, hunks: plan.hunks, after };
  }

  private load(source: WebConfigSource): Loaded {
    const parsed = parseOrThrow(WebConfigSource, source, 'web.config source');
    if ('path' in parsed) {
      const file = readConfigFile(parsed.path);
      const decoded = decodeBytes(file.bytes);
      return { source: 'file', path: file.path, bytes: file.bytes, decoded, analysis: analyseFeatureToggle(decoded.text) };
    }
    // Pasted text: a BOM may come along from a copy; keep it out of the XML.
    const bom = parsed.text.startsWith('\uFEFF');
    const text = bom ? parsed.text.slice(1) : parsed.text;
    const decoded: DecodedText = { text, encoding: 'utf-8', bom };
    return { source: 'text', bytes: encodeText(text, 'utf-8', bom), decoded, analysis: analyseFeatureToggle(text) };
  }

  private toCheck(loaded: Loaded): WebConfigCheck {
    const { analysis, decoded } = loaded;
    const notes = [...analysis.notes];
    if (loaded.path && path.basename(loaded.path).toLowerCase() !== 'web.config') {
      notes.push(`The file is named ${path.basename(loaded.path)}; the site reads the settings from web.config.`);
    }
    return {
      source: loaded.source,
      ...(loaded.path ? { path: loaded.path } : {}),
      format: {
        encoding: decoded.encoding,
        bom: decoded.bom,
        lineEnding: analysis.lineEnding === '\r\n' ? 'crlf' : 'lf',
        indent: analysis.indentUnit === '\t' ? { kind: 'tabs', width: 1 } : { kind: 'spaces', width: analysis.indentUnit.length },
      },
      parts: analysis.parts,
      complete: analysis.complete,
      ...(analysis.tablePrefix ? { tablePrefix: analysis.tablePrefix } : {}),
      sha256: sha256(loaded.bytes),
      notes,
    };
  }

  private plan(loaded: Loaded): { plan: WebConfigEditPlan; nextText: string } {
    const check = this.toCheck(loaded);
    const before = loaded.decoded.text;
    const edits = loaded.analysis.edits;
    const nextText = applyEdits(before, edits);
    // Safety net: the result must itself be a complete, well-formed toggle that needs no further edit.
    if (edits.length) {
      const again = analyseFeatureToggle(nextText);
      if (!again.complete || again.edits.length) {
        throw new AppError('INTERNAL_ERROR', 'Mailroom could not work out a safe edit for this file. Nothing was changed.', {
          hint: 'Add the lines shown in the SuperOffice documentation by hand, and report this file layout to the Mailroom team.',
        });
      }
    }
    const name = loaded.path ? path.basename(loaded.path) : 'web.config';
    const { unified, hunks } = diffTexts(before, nextText, name);
    // Line of each change in the new text.
    let delta = 0;
    const changes = edits.map((edit) => {
      const at = edit.start + delta;
      delta += edit.text.length - (edit.end - edit.start);
      const leadingBreaks = /^(\r?\n)*/.exec(edit.text)![0].split('\n').length - 1;
      const line = nextText.slice(0, at).split('\n').length + leadingBreaks;
      return { part: edit.part, action: edit.action, line, description: edit.description };
    });
    const plan: WebConfigEditPlan = {
      check,
      changed: edits.length > 0,
      changes,
      diff: unified,
      hunks,
      lineCountBefore: countLines(before),
      lineCountAfter: countLines(nextText),
      ...(loaded.source === 'text' ? { updatedText: (loaded.decoded.bom ? '\uFEFF' : '') + nextText } : {}),
    };
    return { plan, nextText };
  }
}
