/**
 * A strict XML well-formedness check (saxes, XML 1.0) that also records,
 * for every element, where its tags are in the text. The web.config editor
 * inserts text at these offsets instead of re-serialising the document, so
 * every other byte (comments, formatting, attribute order) stays as it was.
 */
import { SaxesParser } from 'saxes';
import { AppError } from '../../shared/errors.js';

/** One element with the offsets (UTF-16 code units into the text) of its tags. */
export interface XmlElement {
  name: string;
  /** Attribute values as the XML means them (entities decoded), by name. */
  attributes: Record<string, string>;
  /** Offset of `<` of the start tag. */
  start: number;
  /** Offset just after `>` of the start tag (for `<a/>`, just after `/>`). */
  startTagEnd: number;
  selfClosing: boolean;
  /** Offset of `</` of the end tag; equals `startTagEnd` for a self-closing element. */
  closeStart: number;
  /** Offset just after the end tag. */
  end: number;
  /** 1-based line of the start tag. */
  line: number;
  children: XmlElement[];
  parent: XmlElement | undefined;
}

/**
 * Deepest element nesting accepted. Real web.config files nest about ten
 * levels (configuration/location/system.webServer/rewrite/rules/rule/...);
 * a file nested thousands deep is not one, and is refused before anything
 * walks it.
 */
export const MAX_XML_DEPTH = 200;

/** The outline of a well-formed document: its root element. */
export interface XmlOutline {
  root: XmlElement;
}

/**
 * Parses the text (without a byte order mark) and returns its element
 * outline. Throws WEBCONFIG_MALFORMED naming the line and column of the
 * first error, or WEBCONFIG_TOO_DEEP for elements nested deeper than
 * MAX_XML_DEPTH; nothing is guessed or repaired.
 */
export function outlineXml(text: string): XmlOutline {
  const parser = new SaxesParser({ position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let failure: { message: string; line: number; column: number } | undefined;
  let tooDeep: { line: number } | undefined;
  // 1-based line of an offset, computed incrementally (offsets only grow).
  let lineCursor = 0;
  let lineNumber = 1;
  const lineAt = (offset: number): number => {
    for (; lineCursor < offset; lineCursor++) if (text.charCodeAt(lineCursor) === 10) lineNumber++;
    return lineNumber;
  };

  parser.on('error', (error) => {
    if (!failure) failure = { message: error.message.replace(/^\d+:\d+:\s*/, ''), line: parser.line, column: parser.column };
  });
  parser.on('opentag', (tag) => {
    if (failure || tooDeep) return;
    if (stack.length >= MAX_XML_DEPTH) {
      tooDeep = { line: parser.line };
      return;
    }
    const startTagEnd = parser.position;
    // `<` cannot occur inside a start tag of well-formed XML (not even in attribute values).
    const start = text.lastIndexOf('<', startTagEnd - 1);
    const element: XmlElement = {
      name: tag.name,
      attributes: { ...(tag.attributes as Record<string, string>) },
      start,
      startTagEnd,
      selfClosing: tag.isSelfClosing,
      closeStart: startTagEnd,
      end: startTagEnd,
      line: lineAt(start),
      children: [],
      parent: stack.at(-1),
    };
    if (element.parent) element.parent.children.push(element);
    else root ??= element;
    stack.push(element);
  });
  parser.on('closetag', () => {
    if (failure || tooDeep) return;
    const element = stack.pop();
    if (!element) return;
    element.end = parser.position;
    element.closeStart = element.selfClosing ? element.startTagEnd : text.lastIndexOf('<', parser.position - 1);
  });

  try {
    parser.write(text).close();
  } catch (error) {
    // saxes throws only without an error handler; keep the first reported failure.
    if (!failure) failure = { message: error instanceof Error ? error.message : String(error), line: parser.line, column: parser.column };
  }
  if (tooDeep && !failure) {
    throw new AppError('WEBCONFIG_TOO_DEEP', `Elements are nested more than ${MAX_XML_DEPTH} levels deep (at line ${tooDeep.line}); a web.config nests about ten. Nothing was changed.`, {
      hint: 'Check that this is the site\'s web.config; if it is, restore it from a backup, since something wrote it wrongly.',
    });
  }
  if (failure || !root) {
    const where = failure ? `line ${failure.line}, column ${failure.column}` : 'the end';
    const what = failure?.message.replace(/\.$/, '') ?? 'no root element';
    throw new AppError('WEBCONFIG_MALFORMED', `This is not well-formed XML (${what} at ${where}). Nothing was changed.`, {
      hint: 'Open the file in an editor that checks XML (Visual Studio, VS Code), fix the error at that line, or restore the file from a backup, then check again.',
    });
  }
  return { root };
}

/** The element's direct children with this name (and, when given, attribute values). */
export function childrenNamed(parent: XmlElement, name: string, attributes: Record<string, string> = {}): XmlElement[] {
  return parent.children.filter((c) => c.name === name && Object.entries(attributes).every(([k, v]) => c.attributes[k] === v));
}
