/**
 * Versions of the help-desk system (SuperOffice) and the ranges in which its
 * mail behaves differently: when cURL mail became the default, when OAuth
 * for Microsoft 365 arrived (feature toggle) and became generally available,
 * and when the address-recognition caveat ended.
 */
import { AppError } from '../../shared/errors.js';
import {
  type ParsedSiteVersion,
  type SiteVersionChoice,
  type SiteVersionRange,
} from '../../shared/site-setup.js';
import { SITE_VERSIONS as V, OAUTH_TOGGLE_VERSIONS } from '../../shared/site-versions.js';

/** [major, minor, release]: the service release (SR) or release (R) number, or the third part of x.y.z. */
export type VersionNumbers = [number, number, number];

/** The picker's choices, oldest first, Online last; every version in them comes from the one version table. */
export const SITE_VERSION_CHOICES: readonly SiteVersionChoice[] = [
  { range: 'before-8.0-sr2', label: `Before ${V.curlAvailable.display}`, description: 'No cURL mail and no OAuth 2.0.' },
  { range: '8.0-sr2', label: `${V.curlAvailable.display} and later 8.0 releases`, description: 'cURL mail is available but off until the registry switch is set.' },
  { range: '8.1', label: `${V.curlDefault.display} to ${V.oauthPilot.lastBefore}`, description: 'cURL mail is on by default; no OAuth 2.0 for Microsoft 365.' },
  { range: '9.2-r10', label: OAUTH_TOGGLE_VERSIONS, description: 'OAuth 2.0 for Microsoft 365 needs the NewAuthentication feature toggle in web.config.' },
  { range: '10.0.3', label: `${V.oauthGeneral.display} to ${V.addressCaveatFixed.lastBefore}`, description: 'OAuth 2.0 is generally available; the address-recognition caveat applies.' },
  { range: '10.1.5', label: `${V.addressCaveatFixed.display} and newer`, description: 'OAuth 2.0 is generally available.' },
  { range: 'online', label: 'SuperOffice Online (CRM Online)', description: 'Hosted by SuperOffice: mail features are on; nothing to change on a server.' },
];

/** The picker label of a range. */
export function rangeLabel(range: SiteVersionRange): string {
  return SITE_VERSION_CHOICES.find((c) => c.range === range)!.label;
}

/** Where each range starts, newest first. */
const RANGE_STARTS: [SiteVersionRange, VersionNumbers][] = [
  ['10.1.5', [...V.addressCaveatFixed.numbers]],
  ['10.0.3', [...V.oauthGeneral.numbers]],
  ['9.2-r10', [...V.oauthPilot.numbers]],
  ['8.1', [...V.curlDefault.numbers]],
  ['8.0-sr2', [...V.curlAvailable.numbers]],
];

/** Compares two versions: negative when a is older. */
export function compareVersions(a: VersionNumbers, b: VersionNumbers): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** The range a version falls into. */
export function rangeOf(numbers: VersionNumbers): Exclude<SiteVersionRange, 'online'> {
  for (const [range, start] of RANGE_STARTS) if (compareVersions(numbers, start) >= 0) return range as Exclude<SiteVersionRange, 'online'>;
  return 'before-8.0-sr2';
}

const EXAMPLES = 'Type it as the About box shows it, e.g. 10.1.4, 10.0.3, G9 9.2 R10, 8.1, 8.0 SR2 or Online.';

function unrecognized(input: string, why: string): AppError {
  return new AppError('SITE_VERSION_UNRECOGNIZED', `"${input.slice(0, 60)}" is not a version Mailroom recognises: ${why}`, {
    hint: EXAMPLES,
  });
}

function ambiguous(input: string, why: string, ask: string): AppError {
  return new AppError('SITE_VERSION_AMBIGUOUS', `"${input.slice(0, 60)}" is not precise enough: ${why}`, {
    hint: ask,
  });
}

/**
 * Understands a version as an admin types it: `10.1.4`, `v10.0.3`,
 * `SuperOffice 10.1.5`, `G9 9.2 R10`, `9.2R10`, `9.2 R 10`, `8.0 SR2`,
 * `8.1 SR3`, `Online`, `CRM Online 8.0 R26`; or a range id of the picker
 * (`9.2-r10`). Throws SITE_VERSION_UNRECOGNIZED or SITE_VERSION_AMBIGUOUS
 * (with what to type instead) when the range cannot be told.
 */
export function parseSiteVersion(text: string): ParsedSiteVersion {
  const input = text.trim();
  if (!input) throw unrecognized(input, 'nothing was typed.');
  // The picker's range ids; all but one also read as versions below.
  if (input.toLowerCase() === 'before-8.0-sr2') return { input, range: 'before-8.0-sr2', display: rangeLabel('before-8.0-sr2') };
  // Words that carry no version information.
  let rest = input
    .toLowerCase()
    .replace(/\b(superoffice|super office|crm|service|onsite|on-site|on site|version|ver\.?)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (/\bonline\b/.test(rest) || /^cs$/.test(rest)) return { input, range: 'online', display: 'Online' };

  // A leading generation name ("G9") or "v".
  let generation: number | undefined;
  const gen = /^g\s*(\d{1,2})\b\s*/.exec(rest);
  if (gen) {
    generation = Number(gen[1]);
    rest = rest.slice(gen[0].length);
  }
  rest = rest.replace(/^v\s*/, '');
  // Build details in brackets or after the version do not change the range.
  rest = rest.replace(/\(.*\)$/, '').replace(/\s+build\b.*$/, '').trim();

  const match = /^(\d{1,2})(?:\.(\d{1,2}))?(?:\.(\d{1,4}))?(?:\.(\d{1,6}))?(?:\s*[.\- ]?\s*(sr|r)\s*(\d{1,3}))?$/.exec(rest);
  if (!match) {
    if (generation !== undefined && rest === '') throw ambiguous(input, `G${generation} alone does not say which release.`, 'Add the version and release, e.g. G9 9.2 R10.');
    throw unrecognized(input, 'expected numbers such as 10.1.4, or 9.2 R10, or 8.0 SR2.');
  }
  const major = Number(match[1]);
  const minor = match[2] === undefined ? undefined : Number(match[2]);
  const patch = match[3] === undefined ? undefined : Number(match[3]);
  const releaseKind = match[5] as 'sr' | 'r' | undefined;
  const release = match[6] === undefined ? undefined : Number(match[6]);

  if (generation !== undefined && generation !== major) {
    throw unrecognized(input, `G${generation} does not match version ${major}; G9 goes with 9.x (for example G9 9.2 R10).`);
  }
  if (major < 7 || major > 30) throw unrecognized(input, `${major} is not a SuperOffice main version (7 to 30 are understood).`);
  if (release !== undefined && patch !== undefined) throw unrecognized(input, 'give either x.y.z or x.y R/SR n, not both.');

  // Release: the R/SR number, else the third number.
  const third = release ?? patch;
  const display = releaseKind
    ? `${major === 9 ? 'G9 ' : ''}${major}.${minor ?? 0} ${releaseKind.toUpperCase()}${release}`
    : [major, minor, patch].filter((n) => n !== undefined).join('.');

  if (minor === undefined) {
    if (major >= 11) return { input, range: '10.1.5', display, numbers: [major, 0, 0] };
    throw ambiguous(input, `${major} alone covers releases that behave differently.`, major === 10 ? 'Give all three numbers, e.g. 10.0.3 or 10.1.4.' : major === 9 ? 'Give the release, e.g. 9.1 or G9 9.2 R10.' : 'Give the minor version and service release, e.g. 8.0 SR2 or 8.1.');
  }
  if (third === undefined) {
    if (major === 8 && minor === 0) throw ambiguous(input, `8.0 before SR2 has no cURL mail, from ${V.curlAvailable.display} on it has.`, `Give the service release, e.g. ${V.curlAvailable.display} (see Help > About).`);
    if (major === 9 && minor === 2) throw ambiguous(input, `9.2 before R10 has no OAuth 2.0, from ${V.oauthPilot.display} on it has.`, `Give the release, e.g. ${V.oauthPilot.display} (see Help > About).`);
    if (major === 10 && minor === 0)
      throw ambiguous(input, `up to ${V.oauthGeneral.lastBefore} OAuth needs the feature toggle, from ${V.oauthGeneral.display} on it does not.`, `Give all three numbers, e.g. ${V.oauthGeneral.lastBefore} or ${V.oauthGeneral.display}.`);
    if (major === 10 && minor === 1)
      throw ambiguous(input, `up to ${V.addressCaveatFixed.lastBefore} the address-recognition caveat applies, from ${V.addressCaveatFixed.display} on it does not.`, `Give all three numbers, e.g. ${V.addressCaveatFixed.lastBefore} or ${V.addressCaveatFixed.display}.`);
  }
  const numbers: VersionNumbers = [major, minor, third ?? 0];
  return { input, range: rangeOf(numbers), display, numbers };
}
