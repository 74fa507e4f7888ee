/**
 * The version parser and the version-aware checklist: every range gets the
 * statuses the SuperOffice mail documentation implies.
 */
import { describe, expect, it } from 'vitest';
import { checklistForRange, parseSiteVersion, siteChecklist, SITE_VERSION_CHOICES } from '../../src-main/engine/site-setup/index';
import { SITE_VERSION_RANGES, type SiteVersionRange } from '../../src-main/shared/site-setup';
import { OAUTH_TOGGLE_VERSIONS, SITE_VERSIONS } from '../../src-main/shared/site-versions';

describe('parseSiteVersion', () => {
  it.each<[string, SiteVersionRange, string]>([
    ['10.1.4', '10.0.3', '10.1.4'],
    ['10.1.5', '10.1.5', '10.1.5'],
    ['10.0.3', '10.0.3', '10.0.3'],
    ['10.0.2', '9.2-r10', '10.0.2'],
    ['v10.3.2', '10.1.5', '10.3.2'],
    ['SuperOffice 10.2', '10.1.5', '10.2'],
    ['11', '10.1.5', '11'],
    ['G9 9.2 R10', '9.2-r10', 'G9 9.2 R10'],
    ['9.2R10', '9.2-r10', 'G9 9.2 R10'],
    ['9.2 R 12', '9.2-r10', 'G9 9.2 R12'],
    ['g9 9.2.r09', '8.1', 'G9 9.2 R9'],
    ['9.1', '8.1', '9.1'],
    ['8.1', '8.1', '8.1'],
    ['8.5 R05', '8.1', '8.5 R5'],
    ['8.0 SR2', '8.0-sr2', '8.0 SR2'],
    ['8.0SR3', '8.0-sr2', '8.0 SR3'],
    ['8.0 SR1', 'before-8.0-sr2', '8.0 SR1'],
    ['7.5', 'before-8.0-sr2', '7.5'],
    ['Online', 'online', 'Online'],
    ['CRM Online 8.0 R26', 'online', 'Online'],
    ['9.2-r10', '9.2-r10', 'G9 9.2 R10'],
    ['before-8.0-sr2', 'before-8.0-sr2', 'Before 8.0 SR2'],
    ['10.1.4.2178 (build)', '10.0.3', '10.1.4'],
  ])('understands %s', (input, range, display) => {
    const parsed = parseSiteVersion(input);
    expect(parsed.range).toBe(range);
    expect(parsed.display).toBe(display);
  });

  it.each([
    ['10.1', /10\.1\.4 or 10\.1\.5/],
    ['10.0', /10\.0\.2 or 10\.0\.3/],
    ['9.2', /G9 9\.2 R10/],
    ['8.0', /8\.0 SR2/],
    ['10', /all three numbers/],
    ['G9', /G9 9\.2 R10/],
  ])('asks for more detail on the ambiguous %s', (input, hint) => {
    expect(() => parseSiteVersion(input)).toThrowError(expect.objectContaining({ code: 'SITE_VERSION_AMBIGUOUS', hint: expect.stringMatching(hint) }));
  });

  it.each(['banana', '5.1', '10.1.4 R3', 'G8 9.2 R10', '99.1.1'])('refuses %s with examples of what to type', (input) => {
    expect(() => parseSiteVersion(input)).toThrowError(expect.objectContaining({ code: 'SITE_VERSION_UNRECOGNIZED', hint: expect.stringContaining('G9 9.2 R10') }));
  });
});

const statusOf = (range: SiteVersionRange) => Object.fromEntries(checklistForRange(range).map((i) => [i.id, i.status]));

describe('site checklist', () => {
  it('offers every range in the picker, oldest first and Online last', () => {
    expect(SITE_VERSION_CHOICES.map((c) => c.range)).toEqual([...SITE_VERSION_RANGES]);
  });

  it('before 8.0 SR2: no cURL mail and no OAuth', () => {
    expect(statusOf('before-8.0-sr2')).toMatchObject({ 'curl-mail': 'action', 'oauth-microsoft-365': 'action', 'serial-number': 'not-needed', 'mx-record': 'not-needed' });
  });

  it('8.0 SR2 to 8.1: the registry switch is the action, with the note about the Mail setup dialog', () => {
    const curl = checklistForRange('8.0-sr2').find((i) => i.id === 'curl-mail')!;
    expect(curl).toMatchObject({ status: 'action', action: 'registry-sql' });
    expect(curl.explanation).toMatch(/reg_id 320/);
    expect(curl.explanation).toMatch(/Mail setup dialog/);
  });

  it('8.1 to 9.2 R9: cURL on by default, OAuth not available', () => {
    const items = checklistForRange('8.1');
    expect(items.find((i) => i.id === 'curl-mail')).toMatchObject({ status: 'not-needed', summary: 'On by default' });
    expect(items.find((i) => i.id === 'oauth-microsoft-365')).toMatchObject({ status: 'action', summary: 'Not available' });
  });

  it('G9 9.2 R10 to 10.0.2: OAuth needs the NewAuthentication toggle in web.config; serial number, MX and the caveat apply', () => {
    const items = checklistForRange('9.2-r10');
    expect(items.find((i) => i.id === 'oauth-microsoft-365')).toMatchObject({ status: 'action', action: 'web-config', summary: 'Needs the feature toggle' });
    expect(statusOf('9.2-r10')).toMatchObject({ 'serial-number': 'applies', 'mx-record': 'applies', 'address-recognition': 'applies', 'sign-in-name': 'applies' });
    expect(items.find((i) => i.id === 'serial-number')!.hint).toMatch(/app passwords/);
  });

  it('10.0.3 to 10.1.4: OAuth generally available, the address-recognition caveat still applies', () => {
    expect(statusOf('10.0.3')).toMatchObject({ 'oauth-microsoft-365': 'applies', 'address-recognition': 'applies', 'mx-record': 'applies' });
    expect(checklistForRange('10.0.3').find((i) => i.id === 'oauth-microsoft-365')!.summary).toBe('Generally available');
  });

  it('10.1.5 and newer: no toggle and no caveat', () => {
    expect(statusOf('10.1.5')).toMatchObject({ 'oauth-microsoft-365': 'applies', 'address-recognition': 'not-needed', 'curl-mail': 'not-needed' });
  });

  it('Online: nothing to set up on a server', () => {
    expect(statusOf('online')).toMatchObject({ 'curl-mail': 'not-needed', 'oauth-microsoft-365': 'not-needed', 'serial-number': 'not-needed', 'address-recognition': 'not-needed' });
  });

  it('explains that the sign-in name (UPN) can differ from the address for every onsite OAuth version', () => {
    for (const range of ['9.2-r10', '10.0.3', '10.1.5'] as const) {
      const upn = checklistForRange(range).find((i) => i.id === 'sign-in-name')!;
      expect(upn.explanation).toMatch(/UPN/);
      expect(upn.hint).toMatch(/Username column/);
    }
  });

  it('builds the checklist for a typed version', () => {
    const checklist = siteChecklist('10.1.4');
    expect(checklist.version).toMatchObject({ input: '10.1.4', range: '10.0.3', numbers: [10, 1, 4] });
    expect(checklist.rangeLabel).toBe('10.0.3 to 10.1.4');
    expect(checklist.items).toHaveLength(7);
  });
});

describe('one version table for every screen (issue 13, item 9)', () => {
  // Every version a text names, in the vendor's spellings: 10.0.3, G9 9.2 R10, 8.0 SR2, 8.1.
  const VERSION = /\b(?:G9 )?\d{1,2}\.\d(?:\.\d{1,2}| SR\d| R\d{1,2})?\b/g;
  const known = new Set<string>([...Object.values(SITE_VERSIONS).flatMap((v) => [v.display, v.lastBefore]), '8.0', '8.0 R26', '2.0', '9.2']);

  it('matches the source document: the toggle from G9 9.2 R10 to 10.0.2, generally available from 10.0.3', () => {
    expect(OAUTH_TOGGLE_VERSIONS).toBe('G9 9.2 R10 to 10.0.2');
    expect(SITE_VERSIONS.oauthGeneral.display).toBe('10.0.3');
    expect(parseSiteVersion('10.0.2').range).toBe('9.2-r10');
    expect(parseSiteVersion('10.0.3').range).toBe('10.0.3');
    expect(SITE_VERSION_CHOICES.find((c) => c.range === '9.2-r10')!.label).toBe(OAUTH_TOGGLE_VERSIONS);
  });

  it('says the same versions in the checklist as in the picker: no "up to 10.0.3 ... pilot"', () => {
    const oauth = checklistForRange('9.2-r10').find((i) => i.id === 'oauth-microsoft-365')!;
    expect(oauth.explanation).toContain(`From ${OAUTH_TOGGLE_VERSIONS}, OAuth 2.0 for Microsoft 365 is a pilot feature`);
    expect(oauth.explanation).not.toMatch(/up to 10\.0\.3/);
  });

  it('names only versions of the table in every text of every range', () => {
    for (const range of SITE_VERSION_RANGES) {
      for (const item of checklistForRange(range)) {
        for (const text of [item.title, item.summary, item.explanation, item.hint ?? '']) {
          for (const version of text.match(VERSION) ?? []) expect(known, `${range} ${item.id}: "${version}" in "${text}"`).toContain(version);
        }
      }
    }
    for (const choice of SITE_VERSION_CHOICES) for (const version of choice.label.match(VERSION) ?? []) expect(known).toContain(version);
  });
});
