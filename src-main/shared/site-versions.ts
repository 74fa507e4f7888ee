/**
 * The one table of SuperOffice versions at which its mail behaves
 * differently. The version picker, the checklist, the version parser's
 * questions and the web.config panel all read their versions from here, so
 * no two screens can name different versions for the same fact.
 *
 * The facts are those of SuperOffice's article "Email in Service and
 * Marketing using cURL mail":
 * - cURL mail is available from 8.0 SR2 (chosen by reg_id 320 in the
 *   registry table) and on by default from 8.1 (CRM Online from 8.0 R26);
 * - OAuth 2.0 for Microsoft 365 needs G9 9.2 R10 or newer; "for versions
 *   between G9 9.2 R10 and 10.0.3" it is a pilot feature added through the
 *   NewAuthentication feature toggle in web.config, and it is generally
 *   available ("not in Pilot") with 10.0.3;
 * - "up to version 10.1.4" an address that is not recognised as Microsoft
 *   365 returns to Mailbox properties instead of signing in.
 *
 * Imports nothing from node or electron.
 */

/** A version as comparable numbers: [major, minor, release] (the SR or R number, or the third part of x.y.z). */
export type SiteVersionNumbers = readonly [number, number, number];

/** One version where something about mail changes. */
export interface SiteVersionMark {
  numbers: SiteVersionNumbers;
  /** The vendor's spelling, as Help > About shows it. */
  display: string;
  /** The last version before this one, in the vendor's spelling, for "X to Y" ranges. */
  lastBefore: string;
}

/** The versions at which mail changes, oldest first. */
export const SITE_VERSIONS = {
  /** cURL mail becomes available, chosen by the registry switch (reg_id 320). */
  curlAvailable: { numbers: [8, 0, 2], display: '8.0 SR2', lastBefore: '8.0 SR1' },
  /** cURL mail is on by default onsite. */
  curlDefault: { numbers: [8, 1, 0], display: '8.1', lastBefore: 'the last 8.0 release' },
  /** OAuth 2.0 for Microsoft 365 arrives, as a pilot behind the NewAuthentication feature toggle. */
  oauthPilot: { numbers: [9, 2, 10], display: 'G9 9.2 R10', lastBefore: 'G9 9.2 R9' },
  /** OAuth 2.0 is generally available: the feature toggle is no longer needed. */
  oauthGeneral: { numbers: [10, 0, 3], display: '10.0.3', lastBefore: '10.0.2' },
  /** The address-recognition caveat no longer applies. */
  addressCaveatFixed: { numbers: [10, 1, 5], display: '10.1.5', lastBefore: '10.1.4' },
} as const satisfies Record<string, SiteVersionMark>;

/** CRM Online's first version with cURL mail on by default. */
export const ONLINE_CURL_DEFAULT = 'CRM Online 8.0 R26';

/** "G9 9.2 R10 to 10.0.2": the versions that need the NewAuthentication feature toggle for OAuth 2.0. */
export const OAUTH_TOGGLE_VERSIONS = `${SITE_VERSIONS.oauthPilot.display} to ${SITE_VERSIONS.oauthGeneral.lastBefore}`;

/** "up to 10.1.4": the versions with the address-recognition caveat (onsite OAuth ones). */
export const ADDRESS_CAVEAT_LAST = SITE_VERSIONS.addressCaveatFixed.lastBefore;
