/**
 * Bytes to text and back without changing a byte, and the file's writing
 * conventions (line ending, indentation, `/>` style), so that lines Mailroom
 * inserts look like their neighbours.
 */
import { AppError } from '../../shared/errors.js';
import type { WebConfigFormat } from '../../shared/site-setup.js';
import type { XmlElement } from './xml-outline.js';

/** A decoded config file and how to encode it back. */
export interface DecodedText {
  text: string;
  encoding: WebConfigFormat['encoding'];
  bom: boolean;
}

const encodingError = (why: string) =>
  new AppError('WEBCONFIG_ENCODING', `The file's text encoding is not supported: ${why}. Nothing was changed.`, {
    hint: 'web.config files are UTF-8 (with or without BOM) or UTF-16. Save it as UTF-8 in an editor, or declare encoding="iso-8859-1" in the XML declaration if that is what it uses.',
  });

function swapBytes(bytes: Uint8Array): Buffer {
  const out = Buffer.alloc(bytes.length);
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    out[i] = bytes[i + 1]!;
    out[i + 1] = bytes[i]!;
  }
  return out;
}

/** Encodes text exactly as the file was encoded (same encoding, same BOM). */
export function encodeText(text: string, encoding: DecodedText['encoding'], bom: boolean): Buffer {
  switch (encoding) {
    case 'utf-8':
      return Buffer.concat([bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), Buffer.from(text, 'utf8')]);
    case 'utf-16le':
      return Buffer.concat([bom ? Buffer.from([0xff, 0xfe]) : Buffer.alloc(0), Buffer.from(text, 'utf16le')]);
    case 'utf-16be':
      return Buffer.concat([bom ? Buffer.from([0xfe, 0xff]) : Buffer.alloc(0), swapBytes(Buffer.from(text, 'utf16le'))]);
    case 'latin1':
      return Buffer.from(text, 'latin1');
  }
}

/**
 * Decodes a config file: UTF-8 (BOM or not), UTF-16 LE/BE, or a declared
 * single-byte encoding (kept byte for byte as latin1). Refuses anything that
 * would not encode back to the very same bytes.
 */
export function decodeBytes(bytes: Uint8Array): DecodedText {
  let decoded: DecodedText;
  const b0 = bytes[0];
  const b1 = bytes[1];
  const strict = (label: string, body: Uint8Array) => {
    try {
      return new TextDecoder(label, { fatal: true, ignoreBOM: true }).decode(body);
    } catch {
      throw encodingError(`the bytes are not valid ${label.toUpperCase()}`);
    }
  };
  if (b0 === 0xef && b1 === 0xbb && bytes[2] === 0xbf) decoded = { text: strict('utf-8', bytes.subarray(3)), encoding: 'utf-8', bom: true };
  else if (b0 === 0xff && b1 === 0xfe) decoded = { text: strict('utf-16le', bytes.subarray(2)), encoding: 'utf-16le', bom: true };
  else if (b0 === 0xfe && b1 === 0xff) decoded = { text: strict('utf-16be', bytes.subarray(2)), encoding: 'utf-16be', bom: true };
  else if (b0 === 0x3c && b1 === 0x00) decoded = { text: strict('utf-16le', bytes), encoding: 'utf-16le', bom: false };
  else if (b0 === 0x00 && b1 === 0x3c) decoded = { text: strict('utf-16be', bytes), encoding: 'utf-16be', bom: false };
  else {
    try {
      decoded = { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes), encoding: 'utf-8', bom: false };
    } catch {
      const head = Buffer.from(bytes.subarray(0, 200)).toString('latin1');
      const declared = /^<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head)?.[1]?.toLowerCase();
      if (declared && /^(iso-8859-1|iso-8859-15|latin1|windows-1252|cp1252|us-ascii)$/.test(declared)) {
        decoded = { text: Buffer.from(bytes).toString('latin1'), encoding: 'latin1', bom: false };
      } else {
        throw encodingError(declared ? `it declares encoding "${declared}" but is not valid UTF-8` : 'it is not valid UTF-8 and declares no other encoding');
      }
    }
  }
  // The edit must not change any byte it does not touch: prove the round trip.
  if (!encodeText(decoded.text, decoded.encoding, decoded.bom).equals(Buffer.from(bytes))) throw encodingError('it does not read back to the same bytes');
  return decoded;
}

/** The line ending the file mostly uses; CRLF (Windows) when it has none. */
export function detectLineEnding(text: string): '\r\n' | '\n' {
  let crlf = 0;
  let lf = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) {
    if (i > 0 && text.charCodeAt(i - 1) === 13) crlf++;
    else lf++;
  }
  return lf > crlf ? '\n' : '\r\n';
}

/** The whitespace before `offset` on its line, and whether only whitespace precedes it there. */
export function lineIndent(text: string, offset: number): { indent: string; startsLine: boolean } {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const before = text.slice(lineStart, offset);
  const indent = /^[ \t]*/.exec(before)![0];
  return { indent, startsLine: indent.length === before.length };
}

/** Every element of the outline, depth first (a loop, not recursion: no nesting can exhaust the stack). */
export function allElements(root: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  const pending: XmlElement[] = [root];
  while (pending.length) {
    const e = pending.pop()!;
    out.push(e);
    for (let i = e.children.length - 1; i >= 0; i--) pending.push(e.children[i]!);
  }
  return out;
}

/** The indentation unit the file uses: a tab, or the most common step in spaces (2 when nothing tells). */
export function detectIndentUnit(text: string, root: XmlElement): string {
  let tabs = 0;
  let spaces = 0;
  const steps = new Map<number, number>();
  for (const element of allElements(root)) {
    const own = lineIndent(text, element.start);
    if (!own.startsLine || own.indent === '') continue;
    if (own.indent.startsWith('\t')) tabs++;
    else spaces++;
    if (!element.parent) continue;
    const parent = lineIndent(text, element.parent.start);
    if (!parent.startsLine || !own.indent.startsWith(parent.indent)) continue;
    const step = own.indent.slice(parent.indent.length);
    if (step.length > 0 && /^ +$/.test(step)) steps.set(step.length, (steps.get(step.length) ?? 0) + 1);
  }
  if (tabs > spaces) return '\t';
  let best = 2;
  let bestCount = 0;
  for (const [width, count] of steps) if (count > bestCount || (count === bestCount && width < best)) [best, bestCount] = [width, count];
  return ' '.repeat(best);
}

/** Whether the file writes empty elements as `<a />` (true) or `<a/>`. */
export function detectSpaceBeforeSlash(text: string, root: XmlElement): boolean {
  let spaced = 0;
  let tight = 0;
  for (const element of allElements(root)) {
    if (!element.selfClosing) continue;
    if (/\s/.test(text.charAt(element.startTagEnd - 3))) spaced++;
    else tight++;
  }
  return spaced >= tight;
}
