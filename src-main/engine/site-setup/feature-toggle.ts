/**
 * The `NewAuthentication` feature toggle in web.config (OAuth 2.0 for
 * Microsoft 365 on G9 9.2 R10 up to 10.0.3): finds which of its parts a
 * file has, and plans the smallest edit that adds what is missing.
 *
 * The edit is a list of insertions and in-place replacements at offsets of
 * the original text: the document is never re-serialised, so comments,
 * attribute order, whitespace, line endings and the BOM stay as they were.
 * Inserted lines reuse the file's line ending, indentation and `/>` style.
 * Planning on a file that already has everything yields no edit.
 */
import { AppError } from '../../shared/errors.js';
import {
  FEATURE_TOGGLE_SECTION_TYPE,
  type WebConfigPart,
  type WebConfigPartId,
} from '../../shared/site-setup.js';
import { detectIndentUnit, detectLineEnding, detectSpaceBeforeSlash, lineIndent } from './config-text.js';
import { childrenNamed, outlineXml, type XmlElement } from './xml-outline.js';

/** One change to the text: replace [start, end) with `text` (start === end inserts). */
export interface TextEdit {
  start: number;
  end: number;
  text: string;
  part: WebConfigPartId;
  action: 'insert' | 'replace';
  description: string;
}

/** What the inspection found, with the edit that completes the toggle. */
export interface ToggleAnalysis {
  parts: WebConfigPart[];
  complete: boolean;
  tablePrefix?: string;
  notes: string[];
  edits: TextEdit[];
  lineEnding: '\r\n' | '\n';
  indentUnit: string;
}

/** An element to create: its tag, attributes (in order) and children. */
interface NodeSpec {
  name: string;
  attributes: [string, string][];
  children: NodeSpec[];
  /** Where among the parent's children a new one goes. */
  place: 'first' | 'last';
  part: WebConfigPartId;
}

const SECTION_GROUP_LABEL = 'configSections / sectionGroup SuperOffice';
const LABELS: Record<WebConfigPartId, string> = {
  'section-group': SECTION_GROUP_LABEL,
  'feature-toggles-group': 'configSections / SuperOffice / sectionGroup FeatureToggles',
  'state-section': 'configSections / SuperOffice / FeatureToggles / section State',
  'state-element': 'SuperOffice / FeatureToggles / State',
  'new-authentication': 'SuperOffice / FeatureToggles / State / add NewAuthentication = True',
};

const DECLARATION_CHAIN: NodeSpec[] = [
  { name: 'configSections', attributes: [], children: [], place: 'first', part: 'section-group' },
  { name: 'sectionGroup', attributes: [['name', 'SuperOffice']], children: [], place: 'last', part: 'section-group' },
  { name: 'sectionGroup', attributes: [['name', 'FeatureToggles']], children: [], place: 'first', part: 'feature-toggles-group' },
  { name: 'section', attributes: [['name', 'State'], ['type', FEATURE_TOGGLE_SECTION_TYPE]], children: [], place: 'last', part: 'state-section' },
];

const SETTING_CHAIN: NodeSpec[] = [
  { name: 'SuperOffice', attributes: [], children: [], place: 'last', part: 'state-element' },
  { name: 'FeatureToggles', attributes: [], children: [], place: 'first', part: 'state-element' },
  { name: 'State', attributes: [], children: [], place: 'last', part: 'state-element' },
  { name: 'add', attributes: [['key', 'NewAuthentication'], ['value', 'True']], children: [], place: 'last', part: 'new-authentication' },
];

function structureError(message: string, hint: string): AppError {
  return new AppError('WEBCONFIG_AMBIGUOUS', `${message} Nothing was changed.`, { hint });
}

/** The single child with this name (and name attribute); refuses duplicates, which .NET refuses too. */
function single(parent: XmlElement | undefined, tag: string, nameAttribute?: string): XmlElement | undefined {
  if (!parent) return undefined;
  const found = childrenNamed(parent, tag, nameAttribute === undefined ? {} : { name: nameAttribute });
  if (found.length > 1) {
    const what = nameAttribute === undefined ? `<${tag}>` : `<${tag} name="${nameAttribute}">`;
    throw structureError(
      `<${parent.name}> (line ${parent.line}) contains ${what} ${found.length} times (lines ${found.map((f) => f.line).join(', ')}).`,
      'ASP.NET accepts each section only once. Merge them into one by hand, then check again.',
    );
  }
  if (nameAttribute !== undefined) {
    // A section and a section group cannot share a name.
    const clash = parent.children.find((c) => c.attributes.name === nameAttribute && c.name !== tag && (c.name === 'section' || c.name === 'sectionGroup'));
    if (clash) {
      throw structureError(
        `<${clash.name} name="${nameAttribute}"> at line ${clash.line} is declared where Mailroom expects <${tag} name="${nameAttribute}">.`,
        `Change it to <${tag} name="${nameAttribute}"> by hand (see the SuperOffice documentation on the FeatureToggles section), then check again.`,
      );
    }
  }
  return found[0];
}

/** Whether a section type names NameValueSectionHandler in the System assembly (any version spelling). */
export function isNameValueSectionType(type: string | undefined): boolean {
  if (!type) return false;
  const [className, assembly] = type.split(',').map((p) => p.trim());
  return className === 'System.Configuration.NameValueSectionHandler' && assembly === 'System';
}

/** The effective NewAuthentication entry of <State>: the last add, unless a later remove or clear drops it. */
function effectiveEntry(state: XmlElement | undefined): XmlElement | undefined {
  let current: XmlElement | undefined;
  for (const child of state?.children ?? []) {
    // NameValueSectionHandler compares keys without regard to case.
    const key = child.attributes.key?.toLowerCase();
    if (child.name === 'add' && key === 'newauthentication') current = child;
    else if (child.name === 'remove' && key === 'newauthentication') current = undefined;
    else if (child.name === 'clear') current = undefined;
  }
  return current;
}

/** Where an attribute's value sits in the raw start tag. */
function attributeValueRange(text: string, element: XmlElement, attribute: string): { start: number; end: number } | undefined {
  const tag = text.slice(element.start, element.startTagEnd);
  const pattern = /([^\s=/<>"']+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;
  pattern.lastIndex = 1 + element.name.length;
  for (let m = pattern.exec(tag); m; m = pattern.exec(tag)) {
    if (m[1] !== attribute) continue;
    const quoted = m[0].length - (m[2] ?? m[3] ?? '').length - 1;
    const start = element.start + m.index + quoted;
    return { start, end: start + (m[2] ?? m[3] ?? '').length };
  }
  return undefined;
}

/** Offset just after the last attribute of a start tag (before the whitespace and `>` or `/>`). */
function endOfAttributes(text: string, element: XmlElement): number {
  let i = element.startTagEnd - (element.selfClosing ? 2 : 1);
  while (i > element.start && /\s/.test(text.charAt(i - 1))) i--;
  return i;
}

const escapeAttribute = (value: string) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** Inspects a web.config text (no BOM) and plans the edit that completes the toggle. */
export function analyseFeatureToggle(text: string): ToggleAnalysis {
  const { root } = outlineXml(text);
  if (root.name !== 'configuration') {
    throw new AppError('WEBCONFIG_NOT_CONFIGURATION', `The root element is <${root.name.slice(0, 60)}>, not <configuration>: this is not a web.config. Nothing was changed.`, {
      hint: 'Choose the web.config of the SuperOffice web application (the folder IIS serves it from).',
    });
  }
  const lineEnding = detectLineEnding(text);
  const indentUnit = detectIndentUnit(text, root);
  const slash = detectSpaceBeforeSlash(text, root) ? ' />' : '/>';
  const notes: string[] = [];

  // Declarations under <configSections>.
  const configSections = single(root, 'configSections');
  const soGroup = single(configSections, 'sectionGroup', 'SuperOffice');
  const ftGroup = single(soGroup, 'sectionGroup', 'FeatureToggles');
  const stateSection = single(ftGroup, 'section', 'State');
  // Settings under <SuperOffice>.
  const soElement = single(root, 'SuperOffice');
  const ftElement = single(soElement, 'FeatureToggles');
  const stateElement = single(ftElement, 'State');
  const entry = effectiveEntry(stateElement);

  if (stateElement?.attributes.configSource !== undefined) {
    throw new AppError(
      'WEBCONFIG_EXTERNAL_SECTION',
      `<State> (line ${stateElement.line}) takes its entries from another file, configSource="${stateElement.attributes.configSource.slice(0, 200)}". Nothing was changed.`,
      { hint: 'Add <add key="NewAuthentication" value="True" /> to that file by hand, or check that file with Mailroom (its root must then be <configuration>).' },
    );
  }
  if (configSections && root.children[0] !== configSections) {
    notes.push(`<configSections> (line ${configSections.line}) is not the first element inside <configuration>. ASP.NET requires it first and reports a configuration error otherwise: move it to the top.`);
  }
  // The schema of the help-desk tables, to prefill the registry SQL; informational, so never an error.
  const database = soElement?.children.find((c) => c.name === 'Data')?.children.find((c) => c.name === 'Database');
  const tablePrefix = database?.children.filter((c) => c.name === 'add' && c.attributes.key?.toLowerCase() === 'tableprefix').at(-1)?.attributes.value?.trim();

  const typeOk = isNameValueSectionType(stateSection?.attributes.type);
  const value = entry?.attributes.value;
  const parts: WebConfigPart[] = [
    soGroup
      ? { id: 'section-group', label: LABELS['section-group'], state: 'present', line: soGroup.line, detail: `Declared at line ${soGroup.line}.` }
      : {
          id: 'section-group',
          label: LABELS['section-group'],
          state: 'missing',
          detail: configSections ? `<configSections> (line ${configSections.line}) has no <sectionGroup name="SuperOffice">.` : 'The file has no <configSections>; the fix adds it as the first element of <configuration>.',
        },
    ftGroup
      ? { id: 'feature-toggles-group', label: LABELS['feature-toggles-group'], state: 'present', line: ftGroup.line, detail: `Declared at line ${ftGroup.line}.` }
      : { id: 'feature-toggles-group', label: LABELS['feature-toggles-group'], state: 'missing', detail: 'Not declared.' },
    !stateSection
      ? { id: 'state-section', label: LABELS['state-section'], state: 'missing', detail: 'Not declared.' }
      : typeOk
        ? { id: 'state-section', label: LABELS['state-section'], state: 'present', line: stateSection.line, detail: `Declared at line ${stateSection.line} with NameValueSectionHandler.` }
        : {
            id: 'state-section',
            label: LABELS['state-section'],
            state: 'different',
            line: stateSection.line,
            detail: `Declared at line ${stateSection.line} with ${stateSection.attributes.type === undefined ? 'no type' : `type "${stateSection.attributes.type.slice(0, 200)}"`}; the fix sets the NameValueSectionHandler type.`,
          },
    stateElement
      ? { id: 'state-element', label: LABELS['state-element'], state: 'present', line: stateElement.line, detail: `At line ${stateElement.line}.` }
      : {
          id: 'state-element',
          label: LABELS['state-element'],
          state: 'missing',
          detail: soElement ? `<SuperOffice> (line ${soElement.line}) has no <FeatureToggles><State>.` : 'The file has no <SuperOffice> element.',
        },
    !entry
      ? { id: 'new-authentication', label: LABELS['new-authentication'], state: 'missing', detail: 'No NewAuthentication entry.' }
      : value === 'True'
        ? { id: 'new-authentication', label: LABELS['new-authentication'], state: 'present', line: entry.line, detail: `Set to True at line ${entry.line}: OAuth 2.0 for Microsoft 365 is on.` }
        : {
            id: 'new-authentication',
            label: LABELS['new-authentication'],
            state: 'different',
            line: entry.line,
            detail: `${value === undefined ? 'Has no value' : `Value is "${value.slice(0, 100)}"`} at line ${entry.line}; the fix sets it to "True".`,
          },
  ];

  // Plan: the deepest existing element of each chain receives the rest of the chain as one block.
  const requests = new Map<XmlElement, { place: 'first' | 'last'; node: NodeSpec }[]>();
  const request = (parent: XmlElement, chain: NodeSpec[], existing: number) => {
    const rest = chain.slice(existing);
    if (rest.length === 0) return;
    const node = rest.reduceRight<NodeSpec | undefined>((child, spec) => ({ ...spec, children: child ? [child] : [] }), undefined)!;
    const list = requests.get(parent) ?? [];
    list.push({ place: node.place, node });
    requests.set(parent, list);
  };
  const declared = [configSections, soGroup, ftGroup, stateSection];
  const declaredDepth = declared.findIndex((e) => !e);
  if (declaredDepth !== -1) request(declaredDepth === 0 ? root : declared[declaredDepth - 1]!, DECLARATION_CHAIN, declaredDepth);
  const settings = [soElement, ftElement, stateElement, entry];
  const settingsDepth = settings.findIndex((e) => !e);
  if (settingsDepth !== -1) request(settingsDepth === 0 ? root : settings[settingsDepth - 1]!, SETTING_CHAIN, settingsDepth);

  const edits: TextEdit[] = [];
  const render = (node: NodeSpec, indent: string): string => {
    const attributes = node.attributes.map(([k, v]) => ` ${k}="${escapeAttribute(v)}"`).join('');
    if (node.children.length === 0) return `<${node.name}${attributes}${slash}`;
    const inner = node.children.map((c) => lineEnding + indent + indentUnit + render(c, indent + indentUnit)).join('');
    return `<${node.name}${attributes}>${inner}${lineEnding}${indent}</${node.name}>`;
  };
  const describe = (node: NodeSpec, parent: XmlElement): string => {
    const names: string[] = [];
    for (let n: NodeSpec | undefined = node; n; n = n.children[0]) names.push(n.attributes.length && n.name !== 'add' ? `${n.name} ${n.attributes[0]![1]}` : n.name === 'add' ? 'add NewAuthentication = True' : n.name);
    const parentName = parent.attributes.name === undefined ? `<${parent.name}>` : `<${parent.name} name="${parent.attributes.name}">`;
    return `Adds ${names.join(' > ')} ${node.place === 'first' ? 'as the first element' : 'at the end'} of ${parentName} (line ${parent.line}).`;
  };

  for (const [parent, list] of requests) {
    const { indent: parentIndent } = lineIndent(text, parent.start);
    const lineChildren = parent.children.filter((c) => lineIndent(text, c.start).startsLine);
    const childIndentFor = (place: 'first' | 'last') => {
      const sample = place === 'first' ? lineChildren[0] : lineChildren.at(-1);
      return sample ? lineIndent(text, sample.start).indent : parentIndent + indentUnit;
    };
    const block = (items: typeof list) => items.map(({ node, place }) => lineEnding + childIndentFor(place) + render(node, childIndentFor(place))).join('');
    const firsts = list.filter((r) => r.place === 'first');
    const lasts = list.filter((r) => r.place === 'last');
    const ordered = [...firsts, ...lasts];
    const part = ordered[0]!.node.part;
    const description = ordered.map((r) => describe(r.node, parent)).join(' ');
    const content = text.slice(parent.startTagEnd, parent.closeStart);

    if (parent.selfClosing) {
      // <SuperOffice /> becomes <SuperOffice> ... </SuperOffice>; attributes stay as they were.
      const start = endOfAttributes(text, parent);
      edits.push({ start, end: parent.startTagEnd, text: `>${block(ordered)}${lineEnding}${parentIndent}</${parent.name}>`, part, action: 'replace', description });
    } else if (content.trim() === '') {
      // Empty element: keep its whitespace; add a line break before the end tag only if it had none.
      if (content.includes('\n')) edits.push({ start: parent.startTagEnd, end: parent.startTagEnd, text: block(ordered), part, action: 'insert', description });
      else edits.push({ start: parent.closeStart, end: parent.closeStart, text: block(ordered) + lineEnding + parentIndent, part, action: 'insert', description });
    } else {
      if (firsts.length) {
        // After the start tag's line when only whitespace or comments follow it there (a comment stays with its tag);
        // otherwise right after the start tag, moving what followed to the next line.
        const lineRest = /^[^\r\n]*/.exec(content)![0];
        const restIsQuiet = /^(?:\s|<!--(?:(?!-->)[\s\S])*-->)*$/.test(lineRest) && lineRest.length < content.length;
        const at = restIsQuiet ? parent.startTagEnd + lineRest.length : parent.startTagEnd;
        const insertion = block(firsts) + (restIsQuiet ? '' : lineEnding + childIndentFor('first'));
        edits.push({ start: at, end: at, text: insertion, part: firsts[0]!.node.part, action: 'insert', description: firsts.map((r) => describe(r.node, parent)).join(' ') });
      }
      if (lasts.length) {
        let at = parent.closeStart;
        while (at > parent.startTagEnd && /\s/.test(text.charAt(at - 1))) at--;
        const closeOnSameLine = !text.slice(at, parent.closeStart).includes('\n');
        const insertion = block(lasts) + (closeOnSameLine ? lineEnding + parentIndent : '');
        edits.push({ start: at, end: at, text: insertion, part: lasts[0]!.node.part, action: 'insert', description: lasts.map((r) => describe(r.node, parent)).join(' ') });
      }
    }
  }

  // In-place fixes of existing elements.
  if (stateSection && !typeOk) {
    const range = attributeValueRange(text, stateSection, 'type');
    edits.push(
      range
        ? { ...range, text: escapeAttribute(FEATURE_TOGGLE_SECTION_TYPE), part: 'state-section', action: 'replace', description: `Sets the type of section State (line ${stateSection.line}) to NameValueSectionHandler.` }
        : (() => {
            const at = endOfAttributes(text, stateSection);
            return { start: at, end: at, text: ` type="${escapeAttribute(FEATURE_TOGGLE_SECTION_TYPE)}"`, part: 'state-section' as const, action: 'insert' as const, description: `Adds the NameValueSectionHandler type to section State (line ${stateSection.line}).` };
          })(),
    );
  }
  if (entry && value !== 'True') {
    const range = attributeValueRange(text, entry, 'value');
    if (range) edits.push({ ...range, text: 'True', part: 'new-authentication', action: 'replace', description: `Sets NewAuthentication (line ${entry.line}) from "${(value ?? '').slice(0, 100)}" to "True".` });
    else {
      const at = endOfAttributes(text, entry);
      edits.push({ start: at, end: at, text: ' value="True"', part: 'new-authentication', action: 'insert', description: `Adds value="True" to NewAuthentication (line ${entry.line}).` });
    }
  }

  edits.sort((a, b) => a.start - b.start);
  const complete = parts.every((p) => p.state === 'present');
  return { parts, complete, ...(tablePrefix ? { tablePrefix } : {}), notes, edits, lineEnding, indentUnit };
}

/** Applies edits (sorted, not overlapping) to the text. */
export function applyEdits(text: string, edits: TextEdit[]): string {
  let out = '';
  let cursor = 0;
  for (const edit of [...edits].sort((a, b) => a.start - b.start)) {
    out += text.slice(cursor, edit.start) + edit.text;
    cursor = edit.end;
  }
  return out + text.slice(cursor);
}
