/**
 * `mailroom site ...` through the real built CLI: exit codes (0 ok, 1
 * something missing or failed, 2 bad input or bad file), JSON output, and
 * files on disk before and after.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';
import { ROOT } from '../helpers/paths';
import { tempDir } from '../helpers/temp';

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'webconfig');

function copyFixture(name: string): { dir: string; file: string } {
  const dir = tempDir('mailroom-site-cli-');
  const file = path.join(dir, 'web.config');
  fs.copyFileSync(path.join(FIXTURES, name), file);
  return { dir, file };
}

describe('mailroom site check-webconfig', () => {
  it('exits 1 and lists the missing parts as JSON when the toggle is incomplete', async () => {
    const { file } = copyFixture('superoffice-no-toggle.config');
    const r = await runCli(['site', 'check-webconfig', file, '--json']);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ source: 'file', path: file, complete: false, tablePrefix: 'crm7' });
    expect(r.json.parts.map((p: { id: string; state: string }) => `${p.id}:${p.state}`)).toEqual([
      'section-group:present',
      'feature-toggles-group:missing',
      'state-section:missing',
      'state-element:missing',
      'new-authentication:missing',
    ]);
  });

  it('exits 0 when NewAuthentication is True, with a plain-text report', async () => {
    const { file } = copyFixture('toggle-on.config');
    const r = await runCli(['site', 'check-webconfig', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('the NewAuthentication feature toggle is on');
  });

  it('exits 2 with WEBCONFIG_MALFORMED and the line for a file that is not well-formed', async () => {
    const { file } = copyFixture('malformed.config');
    const r = await runCli(['site', 'check-webconfig', file, '--json']);
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'WEBCONFIG_MALFORMED', message: expect.stringContaining('line 5, column 19'), hint: expect.any(String) } });
  });

  it('exits 2 for a file that is not a web.config and for a missing file', async () => {
    const other = await runCli(['site', 'check-webconfig', path.join(FIXTURES, 'not-webconfig.xml'), '--json']);
    expect(other.code).toBe(2);
    expect(other.json.error.code).toBe('WEBCONFIG_NOT_CONFIGURATION');
    const missing = await runCli(['site', 'check-webconfig', path.join(tempDir(), 'web.config')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/error \[WEBCONFIG_NOT_FOUND\]: There is no file at/);
    expect(missing.stderr).toMatch(/hint: /);
  });
});

describe('mailroom site enable-oauth-toggle', () => {
  it('--dry-run prints the diff and writes nothing', async () => {
    const { dir, file } = copyFixture('superoffice-no-toggle.config');
    const before = fs.readFileSync(file);
    const r = await runCli(['site', 'enable-oauth-toggle', file, '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('+      <sectionGroup name="FeatureToggles">');
    expect(r.stdout).toContain('+        <add key="NewAuthentication" value="True" />');
    expect(r.stdout).toContain('Dry run: nothing was written');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['web.config']);
  });

  it('saves with a backup, reports it as JSON, and a second run changes nothing', async () => {
    const { dir, file } = copyFixture('toggle-false.config');
    const before = fs.readFileSync(file);
    const r = await runCli(['site', 'enable-oauth-toggle', file, '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ dryRun: false, changed: true, path: file, after: { complete: true } });
    expect(path.dirname(r.json.backupPath)).toBe(dir);
    expect(path.basename(r.json.backupPath)).toMatch(/^web\.config\.mailroom-\d{8}-\d{6}\.bak$/);
    expect(fs.readFileSync(r.json.backupPath).equals(before)).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toContain('<add value="True" key="NewAuthentication" />');

    const again = await runCli(['site', 'enable-oauth-toggle', file]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('nothing to change');
    expect(fs.readdirSync(dir)).toHaveLength(2);
    const check = await runCli(['site', 'check-webconfig', file, '--json']);
    expect(check.code).toBe(0);
  });

  it('exits 2 and writes nothing for malformed XML', async () => {
    const { dir, file } = copyFixture('malformed.config');
    const before = fs.readFileSync(file);
    const r = await runCli(['site', 'enable-oauth-toggle', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('WEBCONFIG_MALFORMED');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(['web.config']);
  });
});

describe('mailroom site registry-sql and checklist', () => {
  it("prints a script that sets '0' by default and '2' with --no-curl", async () => {
    const on = await runCli(['site', 'registry-sql']);
    expect(on.code).toBe(0);
    expect(on.stdout).toContain("SET [value] = '0'");
    expect(on.stdout).toContain('FROM crm7.registry');
    const off = await runCli(['site', 'registry-sql', '--no-curl', '--table', 'dbo.registry', '--json']);
    expect(off.code).toBe(0);
    expect(off.json).toMatchObject({ regId: 320, value: '2', table: 'dbo.registry', useCurl: false });
  });

  it('exits 2 for a table name that is not one, and for both --use-curl and --no-curl', async () => {
    const bad = await runCli(['site', 'registry-sql', '--table', 'registry; DROP TABLE x', '--json']);
    expect(bad.code).toBe(2);
    expect(bad.json.error.code).toBe('VALIDATION_FAILED');
    const both = await runCli(['site', 'registry-sql', '--use-curl', '--no-curl']);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('either --use-curl or --no-curl');
  });

  it('prints the checklist for a version typed in several words, and exits 2 for an ambiguous one', async () => {
    const r = await runCli(['site', 'checklist', 'G9', '9.2', 'R10', '--json']);
    expect(r.code).toBe(0);
    expect(r.json.version).toMatchObject({ range: '9.2-r10', display: 'G9 9.2 R10' });
    expect(r.json.items.find((i: { id: string }) => i.id === 'oauth-microsoft-365')).toMatchObject({ status: 'action', action: 'web-config' });
    const vague = await runCli(['site', 'checklist', '10.1']);
    expect(vague.code).toBe(2);
    expect(vague.stderr).toContain('SITE_VERSION_AMBIGUOUS');
  });
});
