/**
 * The web.config feature toggle on real-world-shaped files, through the
 * engine's service on real files in a temporary folder: each result is
 * compared line by line (with line endings) against the original, so every
 * byte outside the inserted lines must be unchanged.
 */
import fs from 'node:fs';
import path from 'node:path';
import { diffArrays } from 'diff';
import { describe, expect, it } from 'vitest';
import { SiteSetupService } from '../../src-main/engine/site-setup/index';
import { maskSecrets } from '../../src-main/engine/site-setup/config-diff';
import { MAX_XML_DEPTH } from '../../src-main/engine/site-setup/xml-outline';
import { FEATURE_TOGGLE_SECTION_TYPE } from '../../src-main/shared/site-setup';
import { ROOT } from '../helpers/paths';
import { tempDir } from '../helpers/temp';

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'webconfig');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name));
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const FIXED_NOW = new Date(2026, 0, 2, 3, 4, 5);

/** Lines with their terminators, so CRLF and a missing final newline count. */
const linesOf = (text: string) => text.match(/[^\n]*\n|[^\n]+$/g) ?? [];

/** Lines the toggle may add (any indentation, either `/>` style). */
const INSERTABLE = [
  /^\s*<configSections>\r?\n$/,
  /^\s*<\/configSections>\r?\n$/,
  /^\s*<sectionGroup name="(SuperOffice|FeatureToggles)">\r?\n$/,
  /^\s*<\/sectionGroup>\r?\n$/,
  new RegExp(`^\\s*<section name="State" type="${FEATURE_TOGGLE_SECTION_TYPE.replace(/\./g, '\\.')}" ?/>\\r?\\n$`),
  /^\s*<\/?SuperOffice>\r?\n$/,
  /^\s*<\/?FeatureToggles>\r?\n$/,
  /^\s*<\/?State>\r?\n$/,
  /^\s*<add key="NewAuthentication" value="True" ?\/>\r?\n$/,
];

/**
 * Asserts that `after` is `before` with whole lines inserted (each one of
 * the toggle's lines) and, at most, `replaced` lines changed in place.
 */
function expectOnlyToggleLines(before: Buffer, after: Buffer, replaced: { from: RegExp; to: RegExp }[] = []) {
  const a = linesOf(before.toString('latin1'));
  const b = linesOf(after.toString('latin1'));
  const changes = diffArrays(a, b);
  const removed = changes.filter((c) => c.removed).flatMap((c) => c.value);
  const added = changes.filter((c) => c.added).flatMap((c) => c.value);
  expect(removed.length).toBe(replaced.length);
  const remaining = [...added];
  for (const r of replaced) {
    const old = removed.find((l) => r.from.test(l));
    expect(old, `a replaced line matching ${r.from}`).toBeDefined();
    const i = remaining.findIndex((l) => r.to.test(l));
    expect(i, `a replacement line matching ${r.to}`).toBeGreaterThanOrEqual(0);
    remaining.splice(i, 1);
  }
  for (const line of remaining) expect(INSERTABLE.some((p) => p.test(line)), `unexpected inserted line ${JSON.stringify(line)}`).toBe(true);
  // The kept lines, in order, are the original bytes.
  const kept = changes.filter((c) => !c.added && !c.removed).flatMap((c) => c.value);
  if (!replaced.length) expect(Buffer.from(kept.join(''), 'latin1').equals(before)).toBe(true);
}

function setup(name: string, bytes?: Buffer) {
  const dir = tempDir('mailroom-webconfig-');
  const file = path.join(dir, 'web.config');
  fs.writeFileSync(file, bytes ?? fixture(name));
  return { dir, file, site: new SiteSetupService({ now: () => FIXED_NOW }) };
}

async function fixAndVerify(name: string, bytes?: Buffer) {
  const { dir, file, site } = setup(name, bytes);
  const before = fs.readFileSync(file);
  const check = site.checkWebConfig({ path: file });
  expect(check.complete).toBe(false);
  const result = await site.applyWebConfig({ path: file, expectedSha256: check.sha256 });
  expect(result.changed).toBe(true);
  expect(result.after.complete).toBe(true);
  expect(result.backupPath).toBe(path.join(dir, 'web.config.mailroom-20260102-030405.bak'));
  expect(fs.readFileSync(result.backupPath!).equals(before)).toBe(true);
  const after = fs.readFileSync(file);
  // Idempotent: a second run changes nothing and writes no second backup.
  const again = await site.applyWebConfig({ path: file });
  expect(again.changed).toBe(false);
  expect(again.backupPath).toBeUndefined();
  expect(fs.readFileSync(file).equals(after)).toBe(true);
  expect(fs.readdirSync(dir).sort()).toEqual(['web.config', 'web.config.mailroom-20260102-030405.bak']);
  return { before, after, result, check };
}

describe('web.config check', () => {
  it('reports every part of a file that has the SuperOffice group but no toggle, and its table prefix', () => {
    const { file, site } = setup('superoffice-no-toggle.config');
    const check = site.checkWebConfig({ path: file });
    expect(check.complete).toBe(false);
    expect(check.parts.map((p) => [p.id, p.state])).toEqual([
      ['section-group', 'present'],
      ['feature-toggles-group', 'missing'],
      ['state-section', 'missing'],
      ['state-element', 'missing'],
      ['new-authentication', 'missing'],
    ]);
    expect(check.parts[0]!.line).toBe(13);
    expect(check.tablePrefix).toBe('crm7');
    expect(check.format).toEqual({ encoding: 'utf-8', bom: false, lineEnding: 'lf', indent: { kind: 'spaces', width: 2 } });
    expect(check.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reports a toggle that is present with another value as different', () => {
    const { file, site } = setup('toggle-false.config');
    const part = site.checkWebConfig({ path: file }).parts.find((p) => p.id === 'new-authentication')!;
    expect(part).toMatchObject({ state: 'different', line: 14 });
    expect(part.detail).toContain('"False"');
  });

  it('reports a State section with another handler type as different', () => {
    const { file, site } = setup('wrong-type.config');
    const check = site.checkWebConfig({ path: file });
    expect(check.parts.find((p) => p.id === 'state-section')!.state).toBe('different');
    expect(check.parts.filter((p) => p.state !== 'present')).toHaveLength(1);
  });

  it('accepts the section declared over two lines as in the SuperOffice documentation', () => {
    const { file, site } = setup('toggle-on.config');
    expect(site.checkWebConfig({ path: file }).complete).toBe(true);
  });

  it('checks pasted text the same way as a file', () => {
    const site = new SiteSetupService();
    const text = fixture('superoffice-no-toggle.config').toString('utf8');
    const check = site.checkWebConfig({ text });
    expect(check.source).toBe('text');
    expect(check.path).toBeUndefined();
    expect(check.parts.map((p) => p.state)).toEqual(['present', 'missing', 'missing', 'missing', 'missing']);
  });

  it('treats a later <remove> of the key as no entry', () => {
    const site = new SiteSetupService();
    const text = fixture('toggle-on.config').toString('utf8').replace('<add key="NewAuthentication" value="True" />', '<add key="NewAuthentication" value="True" />\n        <remove key="NewAuthentication" />');
    const check = site.checkWebConfig({ text });
    expect(check.parts.find((p) => p.id === 'new-authentication')!.state).toBe('missing');
    const plan = site.previewWebConfig({ text });
    expect(plan.updatedText).toMatch(/<remove key="NewAuthentication" \/>\n {8}<add key="NewAuthentication" value="True" \/>/);
  });

  it('notes a <configSections> that is not the first element, which ASP.NET refuses', () => {
    const site = new SiteSetupService();
    const check = site.checkWebConfig({ text: '<configuration>\n  <appSettings />\n  <configSections />\n</configuration>\n' });
    expect(check.notes.join(' ')).toMatch(/not the first element/);
  });
});

describe('web.config fix', () => {
  it('adds the toggle to a file with comments, other section groups and an existing SuperOffice group, touching nothing else', async () => {
    const { before, after, result } = await fixAndVerify('superoffice-no-toggle.config');
    expectOnlyToggleLines(before, after);
    expect(linesOf(after.toString('utf8')).length - linesOf(before.toString('utf8')).length).toBe(8);
    // The new declarations sit inside the existing SuperOffice group, the settings inside <SuperOffice>.
    const text = after.toString('utf8');
    expect(text).toContain(
      '    <sectionGroup name="SuperOffice">\n      <sectionGroup name="FeatureToggles">\n        <section name="State" type="' + FEATURE_TOGGLE_SECTION_TYPE + '" />\n      </sectionGroup>\n      <sectionGroup name="Security">',
    );
    expect(text).toContain('  <SuperOffice>\n    <FeatureToggles>\n      <State>\n        <add key="NewAuthentication" value="True" />\n      </State>\n    </FeatureToggles>\n    <Data>');
    // The diff never shows the database password that sits near the edit.
    expect(result.diff).not.toContain('Pr0duct10n-Secret!');
  });

  it('keeps a UTF-8 byte order mark and CRLF line endings', async () => {
    const lf = fixture('superoffice-no-toggle.config');
    const bytes = Buffer.concat([BOM, Buffer.from(lf.toString('utf8').replace(/\n/g, '\r\n'), 'utf8')]);
    const { before, after, check } = await fixAndVerify('bom-crlf', bytes);
    expect(check.format).toMatchObject({ bom: true, lineEnding: 'crlf' });
    expect(after.subarray(0, 3).equals(BOM)).toBe(true);
    expect(after.toString('utf8').match(/(?<!\r)\n/g)).toBeNull();
    expectOnlyToggleLines(before, after);
  });

  it('changes an existing different value in place, keeping attribute order and quotes', async () => {
    const { before, after, result } = await fixAndVerify('toggle-false.config');
    expectOnlyToggleLines(before, after, [{ from: /<add value="False" key="NewAuthentication" \/>/, to: /^ {16}<add value="True" key="NewAuthentication" \/>\n$/ }]);
    expect(after.length - before.length).toBe('True'.length - 'False'.length);
    expect(result.hunks.flatMap((h) => h.lines).filter((l) => l.kind !== 'context')).toHaveLength(2);
  });

  it('replaces a wrong section handler type in place', async () => {
    const { before, after } = await fixAndVerify('wrong-type.config');
    expectOnlyToggleLines(before, after, [{ from: /DictionarySectionHandler/, to: /NameValueSectionHandler, System, Version=1\.0\.5000\.0/ }]);
  });

  it('changes nothing and writes no backup when NewAuthentication is already True', async () => {
    const { dir, file, site } = setup('toggle-on.config');
    const before = fs.readFileSync(file);
    const mtime = fs.statSync(file).mtimeMs;
    const plan = site.previewWebConfig({ path: file });
    expect(plan).toMatchObject({ changed: false, diff: '', hunks: [], changes: [] });
    const result = await site.applyWebConfig({ path: file });
    expect(result).toMatchObject({ changed: false });
    expect(result.backupPath).toBeUndefined();
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.statSync(file).mtimeMs).toBe(mtime);
    expect(fs.readdirSync(dir)).toEqual(['web.config']);
  });

  it('indents with tabs in a tab-indented file and keeps its "/>" style', async () => {
    const { before, after, check } = await fixAndVerify('tabs.config');
    expect(check.format.indent).toEqual({ kind: 'tabs', width: 1 });
    expectOnlyToggleLines(before, after);
    const inserted = diffArrays(linesOf(before.toString('utf8')), linesOf(after.toString('utf8'))).filter((c) => c.added).flatMap((c) => c.value);
    for (const line of inserted) expect(line).toMatch(/^\t+<\S/);
    expect(after.toString('utf8')).toContain('\t\t\t\t<add key="NewAuthentication" value="True"/>\n');
  });

  it('uses four spaces where the file does', async () => {
    const site = new SiteSetupService();
    const text = fixture('toggle-false.config').toString('utf8').replace(/\s*<FeatureToggles>[\s\S]*<\/FeatureToggles>/, '');
    const plan = site.previewWebConfig({ text });
    expect(plan.check.format.indent).toEqual({ kind: 'spaces', width: 4 });
    expect(plan.updatedText).toContain('    <SuperOffice>\n        <FeatureToggles>\n            <State>\n                <add key="NewAuthentication" value="True" />\n');
  });

  it('opens a self-closing <SuperOffice /> and section group, keeping their attributes', async () => {
    const { after } = await fixAndVerify('self-closing-superoffice.config');
    const text = after.toString('utf8');
    expect(text).toContain('  <configSections>\n    <sectionGroup name="SuperOffice">\n      <sectionGroup name="FeatureToggles">\n');
    expect(text).toContain('  <SuperOffice>\n    <FeatureToggles>\n      <State>\n        <add key="NewAuthentication" value="True" />\n      </State>\n    </FeatureToggles>\n  </SuperOffice>\n  <system.web>');
  });

  it('adds <configSections> as the first element when the file has none', async () => {
    const { before, after } = await fixAndVerify('no-config-sections.config');
    expectOnlyToggleLines(before, after);
    const text = after.toString('utf8');
    expect(text.indexOf('<configSections>')).toBe(text.indexOf('<configuration>') + '<configuration>\n  '.length);
    expect(text).toMatch(/<\/system\.web>\n {2}<SuperOffice>[\s\S]*<\/SuperOffice>\n<\/configuration>\n$/);
  });

  it('fills an empty one-line <configuration></configuration>', () => {
    const site = new SiteSetupService();
    const plan = site.previewWebConfig({ text: '<configuration></configuration>' });
    expect(plan.updatedText!.startsWith('<configuration>\r\n  <configSections>\r\n')).toBe(true);
    expect(plan.updatedText!.endsWith('\r\n  </SuperOffice>\r\n</configuration>')).toBe(true);
    expect(site.checkWebConfig({ text: plan.updatedText! }).complete).toBe(true);
  });

  it('keeps a UTF-16 file in UTF-16 with its BOM', async () => {
    const text = fixture('no-config-sections.config').toString('utf8').replace('encoding="utf-8"', 'encoding="utf-16"').replace(/\n/g, '\r\n');
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const { after, check } = await fixAndVerify('utf16', bytes);
    expect(check.format).toMatchObject({ encoding: 'utf-16le', bom: true, lineEnding: 'crlf' });
    expect(after[0]).toBe(0xff);
    expect(after[1]).toBe(0xfe);
    expect(after.subarray(2).toString('utf16le')).toContain('<add key="NewAuthentication" value="True" />\r\n');
  });

  it('keeps non-ASCII text and an XML comment inside <SuperOffice> byte for byte', async () => {
    const lf = fixture('superoffice-no-toggle.config').toString('utf8').replace('  <SuperOffice>\n', '  <SuperOffice><!-- Ærlig talt: æøå — 😀 -->\n');
    const { before, after } = await fixAndVerify('unicode', Buffer.from(lf, 'utf8'));
    expectOnlyToggleLines(before, after);
    expect(after.toString('utf8')).toContain('<SuperOffice><!-- Ærlig talt: æøå — 😀 -->\n    <FeatureToggles>');
  });
});

describe('web.config refusals', () => {
  const refuse = async (name: string, code: string, bytes?: Buffer) => {
    const { dir, file, site } = setup(name, bytes);
    const before = fs.readFileSync(file);
    expect(() => site.checkWebConfig({ path: file })).toThrowError(expect.objectContaining({ code }));
    await expect(site.applyWebConfig({ path: file })).rejects.toMatchObject({ code });
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['web.config']);
  };

  it('refuses malformed XML, naming line and column, and writes nothing', async () => {
    await refuse('malformed.config', 'WEBCONFIG_MALFORMED');
    const { file, site } = setup('malformed.config');
    expect(() => site.checkWebConfig({ path: file })).toThrowError(/unexpected close tag at line 5, column 19/);
  });

  it('refuses elements nested deeper than a web.config ever is (50,000 levels), with its own code, instead of overflowing the stack', async () => {
    const depth = 50_000;
    const deep = Buffer.from(`<?xml version="1.0"?>\n<configuration>${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</configuration>\n`);
    await refuse('deep', 'WEBCONFIG_TOO_DEEP', deep);
    const { file, site } = setup('deep', deep);
    expect(() => site.checkWebConfig({ path: file })).toThrowError(/nested more than 200 levels deep \(at line 2\)/);
  });

  it('accepts nesting up to the limit', () => {
    const depth = MAX_XML_DEPTH - 1;
    const { file, site } = setup('nested', Buffer.from(`<configuration>${'<a>'.repeat(depth - 1)}${'</a>'.repeat(depth - 1)}</configuration>\n`));
    expect(site.checkWebConfig({ path: file }).complete).toBe(false);
  });

  it('refuses an XML file whose root is not <configuration>', async () => {
    await refuse('not-webconfig.xml', 'WEBCONFIG_NOT_CONFIGURATION');
  });

  it('refuses duplicate <SuperOffice> elements instead of guessing', async () => {
    await refuse('duplicate-superoffice.config', 'WEBCONFIG_AMBIGUOUS');
  });

  it('refuses bytes that are not UTF-8 when no other encoding is declared', async () => {
    await refuse('latin1', 'WEBCONFIG_ENCODING', Buffer.from('<configuration>\n  <!-- caf\xe9 -->\n</configuration>\n', 'latin1'));
  });

  it('refuses a State section kept in another file', async () => {
    const text = fixture('toggle-false.config').toString('utf8').replace(/<State>[\s\S]*?<\/State>/, '<State configSource="toggles.config" />');
    await refuse('external', 'WEBCONFIG_EXTERNAL_SECTION', Buffer.from(text));
  });

  it('says which file is missing and points to web.config inside a folder', () => {
    const site = new SiteSetupService();
    const dir = tempDir();
    expect(() => site.checkWebConfig({ path: path.join(dir, 'nope', 'web.config') })).toThrowError(expect.objectContaining({ code: 'WEBCONFIG_NOT_FOUND' }));
    fs.writeFileSync(path.join(dir, 'web.config'), fixture('toggle-on.config'));
    try {
      site.checkWebConfig({ path: dir });
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: 'WEBCONFIG_NOT_A_FILE', hint: `Did you mean ${path.join(dir, 'web.config')}?` });
    }
  });

  it('refuses to write when the file changed after the preview', async () => {
    const { dir, file, site } = setup('superoffice-no-toggle.config');
    const preview = site.previewWebConfig({ path: file });
    fs.appendFileSync(file, '<!-- edited by someone else -->\n');
    const edited = fs.readFileSync(file);
    await expect(site.applyWebConfig({ path: file, expectedSha256: preview.check.sha256 })).rejects.toMatchObject({ code: 'WEBCONFIG_CHANGED' });
    expect(fs.readFileSync(file).equals(edited)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['web.config']);
  });

  it('retries a locked file, then gives up with WEBCONFIG_LOCKED and leaves the original and the backup', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'web.config');
    fs.writeFileSync(file, fixture('superoffice-no-toggle.config'));
    let attempts = 0;
    const locked = new SiteSetupService({
      now: () => FIXED_NOW,
      retryDelaysMs: [1, 1, 1],
      fileOps: {
        rename: () => {
          attempts++;
          throw Object.assign(new Error('resource busy or locked'), { code: 'EBUSY' });
        },
      },
    });
    await expect(locked.applyWebConfig({ path: file })).rejects.toMatchObject({ code: 'WEBCONFIG_LOCKED', message: expect.stringContaining('EBUSY') });
    expect(attempts).toBe(4);
    expect(fs.readFileSync(file).equals(fixture('superoffice-no-toggle.config'))).toBe(true);
    // No temporary file is left behind; the backup stays for the admin.
    expect(fs.readdirSync(dir).sort()).toEqual(['web.config', 'web.config.mailroom-20260102-030405.bak']);
  });

  it('succeeds when a lock goes away during the retries', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'web.config');
    fs.writeFileSync(file, fixture('tabs.config'));
    let attempts = 0;
    const flaky = new SiteSetupService({
      retryDelaysMs: [1, 1, 1],
      fileOps: {
        rename: (from, to) => {
          if (++attempts < 3) throw Object.assign(new Error('operation not permitted'), { code: 'EPERM' });
          fs.renameSync(from, to);
        },
      },
    });
    const result = await flaky.applyWebConfig({ path: file });
    expect(result.after.complete).toBe(true);
    expect(attempts).toBe(3);
  });

  it.skipIf(process.platform === 'win32')('edits the file a symbolic link points to and keeps the link', async () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'shared'));
    const target = path.join(dir, 'shared', 'web.config');
    fs.writeFileSync(target, fixture('tabs.config'));
    const link = path.join(dir, 'web.config');
    fs.symlinkSync(target, link);
    const result = await new SiteSetupService().applyWebConfig({ path: link });
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(target, 'utf8')).toContain('NewAuthentication');
    expect(path.dirname(result.backupPath!)).toBe(path.join(dir, 'shared'));
  });

  it('never overwrites an earlier backup made in the same second', async () => {
    const { dir, file, site } = setup('superoffice-no-toggle.config');
    fs.writeFileSync(path.join(dir, 'web.config.mailroom-20260102-030405.bak'), 'older backup');
    const result = await site.applyWebConfig({ path: file });
    expect(result.backupPath).toBe(path.join(dir, 'web.config.mailroom-20260102-030405-2.bak'));
    expect(fs.readFileSync(path.join(dir, 'web.config.mailroom-20260102-030405.bak'), 'utf8')).toBe('older backup');
  });
});

describe('secrets in the diff', () => {
  it.each([
    ['<add key="DBPassword" value="s3cret" />', '<add key="DBPassword" value="********" />'],
    ['<add value="s3cret" key="SoPassword"/>', '<add value="********" key="SoPassword"/>'],
    ['<add key="ConnectionString" value="Server=x;User ID=sa;Password=s3cret;" />', '<add key="ConnectionString" value="Server=x;User ID=sa;Password=********;" />'],
    ['<add name="db" connectionString="Data Source=.;Pwd=s3cret" />', '<add name="db" connectionString="Data Source=.;Pwd=********" />'],
    ['<machineKey validationKey="ABCDEF0123" decryptionKey="99AA" />', '<machineKey validationKey="********" decryptionKey="********" />'],
    ['<add key="Password" value="" />', '<add key="Password" value="********" />'],
  ])('masks %s', (line, masked) => {
    expect(maskSecrets(line)).toBe(masked);
  });

  it('leaves ordinary lines alone', () => {
    for (const line of ['<add key="NewAuthentication" value="True" />', '<add key="TablePrefix" value="crm7" />', '<add key="DBUser" value="crm7" />']) expect(maskSecrets(line)).toBe(line);
  });

  it('masks secrets in the context lines of a preview', () => {
    const site = new SiteSetupService();
    const text = '<configuration>\n  <SuperOffice>\n    <Explicit>\n      <add key="DBPassword" value="TopSecret-42" />\n    </Explicit>\n  </SuperOffice>\n</configuration>\n';
    const plan = site.previewWebConfig({ text });
    expect(plan.diff).toContain('value="********"');
    expect(JSON.stringify(plan.hunks)).not.toContain('TopSecret-42');
    // The corrected text handed back to the admin keeps the real value.
    expect(plan.updatedText).toContain('TopSecret-42');
  });
});
