/**
 * The diff shown before a web.config is saved: a unified diff of the changed
 * lines with three lines of context. A web.config also holds database and
 * service passwords (e.g. SuperOffice <Data><Explicit> DBPassword), so values
 * of keys and connection-string parts that look secret are masked in every
 * line shown; the file itself is never masked.
 */
import { structuredPatch } from 'diff';
import type { DiffHunk, DiffLine } from '../../shared/site-setup.js';

/** What a masked value is shown as. */
export const MASK = '********';

const SECRET_NAME = /(pass(word|wd|phrase)?|pwd|secret|token|credential|api[-_]?key|private[-_]?key|signingkey|encryptionkey|validationkey|decryptionkey)/i;

/**
 * Masks secret-looking values in one line of a config file:
 * `<add key="DBPassword" value="x" />`, `password="x"`, `Password=x;` inside
 * connection strings, `<machineKey validationKey="...">`.
 */
export function maskSecrets(line: string): string {
  let out = line;
  // <add key="...Password..." value="..."> (either attribute order).
  if (/\bkey\s*=\s*["'][^"']*["']/i.test(out)) {
    const key = /\bkey\s*=\s*(["'])([^"']*)\1/i.exec(out)?.[2] ?? '';
    if (SECRET_NAME.test(key)) out = out.replace(/(\bvalue\s*=\s*)(["'])([^"']*)\2/gi, (_m, a: string, q: string) => `${a}${q}${MASK}${q}`);
  }
  // Attributes whose own name looks secret: password="..." validationKey="...".
  out = out.replace(/(\b[\w.:-]+)(\s*=\s*)(["'])([^"']*)\3/g, (m, name: string, eq: string, q: string, value: string) =>
    SECRET_NAME.test(name) && value !== '' && name.toLowerCase() !== 'key' ? `${name}${eq}${q}${MASK}${q}` : m,
  );
  // Connection strings: Password=...; Pwd=...; (up to ; or the closing quote).
  out = out.replace(/\b(password|pwd)(\s*=\s*)([^;"'<>]*)/gi, (m, name: string, eq: string, value: string) => (value.trim() === '' || value === MASK ? m : `${name}${eq}${MASK}`));
  return out;
}

/** A line-level diff of two texts, masked for display. */
export interface TextDiff {
  unified: string;
  hunks: DiffHunk[];
}

/** Unified diff (three lines of context) of before and after, with secrets masked. */
export function diffTexts(before: string, after: string, name: string): TextDiff {
  if (before === after) return { unified: '', hunks: [] };
  const patch = structuredPatch(name, name, before, after, undefined, undefined, { context: 3 });
  const hunks: DiffHunk[] = patch.hunks.map((h) => {
    let oldLine = h.oldStart;
    let newLine = h.newStart;
    const lines: DiffLine[] = [];
    for (const raw of h.lines) {
      const marker = raw.charAt(0);
      if (marker === '\\') continue; // "\ No newline at end of file"
      const text = maskSecrets(raw.slice(1).replace(/\r$/, ''));
      if (marker === '+') lines.push({ kind: 'add', text, newLine: newLine++ });
      else if (marker === '-') lines.push({ kind: 'remove', text, oldLine: oldLine++ });
      else lines.push({ kind: 'context', text, oldLine: oldLine++, newLine: newLine++ });
    }
    return { oldStart: h.oldStart, oldLines: h.oldLines, newStart: h.newStart, newLines: h.newLines, lines };
  });
  const body = hunks.flatMap((h) => [
    `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`,
    ...h.lines.map((l) => (l.kind === 'add' ? '+' : l.kind === 'remove' ? '-' : ' ') + l.text),
  ]);
  return { unified: [`--- ${name}`, `+++ ${name} (after Mailroom)`, ...body].join('\n') + '\n', hunks };
}

/** Number of lines of a text, as an editor counts them. */
export function countLines(text: string): number {
  if (text === '') return 0;
  const breaks = text.split('\n').length - 1;
  return text.endsWith('\n') ? breaks : breaks + 1;
}
