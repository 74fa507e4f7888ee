/**
 * The version-aware site checklist: for the installed help-desk version,
 * what applies to mail (cURL, OAuth 2.0 for Microsoft 365, the serial
 * number per site, the MX record, the address-recognition caveat, sign-in
 * name versus address), each with a status and plain words. Data-driven:
 * one function per item, each deciding from the version range alone.
 */
import type { ChecklistItem, SiteChecklist, SiteVersionRange } from '../../shared/site-setup.js';
import { ADDRESS_CAVEAT_LAST, ONLINE_CURL_DEFAULT, OAUTH_TOGGLE_VERSIONS, SITE_VERSIONS as V } from '../../shared/site-versions.js';
import { parseSiteVersion, rangeLabel } from './versions.js';

type Rule = (range: SiteVersionRange) => ChecklistItem;

/** Ranges in which onsite OAuth 2.0 for Microsoft 365 exists (by toggle or generally). */
const OAUTH_RANGES: ReadonlySet<SiteVersionRange> = new Set(['9.2-r10', '10.0.3', '10.1.5']);

const curlMail: Rule = (range) => {
  const base = { id: 'curl-mail', title: 'cURL mail (sending and receiving through libcurl)' };
  switch (range) {
    case 'before-8.0-sr2':
      return {
        ...base,
        status: 'action',
        summary: 'Not available',
        explanation: `cURL mail arrived with SuperOffice ${V.curlAvailable.display}. Older versions use the previous mail library, with fewer protocols and certificate options.`,
        hint: `Upgrade to ${V.curlDefault.display} or newer (cURL mail on by default), or at least to ${V.curlAvailable.display} and set the registry switch.`,
      };
    case '8.0-sr2':
      return {
        ...base,
        status: 'action',
        summary: 'Set the registry switch',
        explanation:
          `From ${V.curlAvailable.display} until ${V.curlDefault.display}, cURL mail is available but is chosen by the value of reg_id 320 in the registry table: '0' uses cURL, 2 does not. The row exists only after the Mail setup dialog in Service has been saved once.`,
        hint: "Open Mail setup in Service and save it once, then run the registry SQL (Site setup, or mailroom site registry-sql) to read the value and set it to '0'.",
        action: 'registry-sql',
      };
    case 'online':
      return {
        ...base,
        status: 'not-needed',
        summary: 'On by default',
        explanation: `cURL mail is on by default for every SuperOffice Online site (from ${ONLINE_CURL_DEFAULT}).`,
      };
    default:
      return {
        ...base,
        status: 'not-needed',
        summary: 'On by default',
        explanation: `cURL mail is on by default from ${V.curlDefault.display}. The registry switch (reg_id 320) is only needed from ${V.curlAvailable.display} until ${V.curlDefault.display}.`,
        hint: 'If mail behaves as with the old library, read reg_id 320 with the registry SQL to confirm it is not set to 2.',
        action: 'registry-sql',
      };
  }
};

const oauth: Rule = (range) => {
  const base = { id: 'oauth-microsoft-365', title: 'OAuth 2.0 sign-in for Microsoft 365 mailboxes' };
  switch (range) {
    case 'before-8.0-sr2':
    case '8.0-sr2':
    case '8.1':
      return {
        ...base,
        status: 'action',
        summary: 'Not available',
        explanation:
          `Onsite OAuth 2.0 for Microsoft 365 (Exchange Online) starts with ${V.oauthPilot.display}. Before that, Microsoft 365 mailboxes can only sign in with a password or app password, which works only where the tenant still allows basic authentication.`,
        hint: `Upgrade to ${V.oauthGeneral.display} or newer, where OAuth 2.0 is generally available, or to ${V.oauthPilot.display} and add the feature toggle.`,
      };
    case '9.2-r10':
      return {
        ...base,
        status: 'action',
        summary: 'Needs the feature toggle',
        explanation:
          `From ${OAUTH_TOGGLE_VERSIONS}, OAuth 2.0 for Microsoft 365 is a pilot feature: it is on only when web.config declares the FeatureToggles section and sets NewAuthentication to True. From ${V.oauthGeneral.display} it is generally available and needs no toggle.`,
        hint: 'Check the web.config of the SuperOffice web application with Mailroom and let it add what is missing (it writes a backup first). Ask your installation partner if you do not manage that server.',
        action: 'web-config',
      };
    case '10.0.3':
    case '10.1.5':
      return {
        ...base,
        status: 'applies',
        summary: 'Generally available',
        explanation: `OAuth 2.0 for Microsoft 365 is generally available from ${V.oauthGeneral.display}: no feature toggle is needed. New mailboxes on Microsoft 365 are sent to Microsoft to sign in; existing ones switch with "Change OAuth" in Mailbox properties, without being deleted.`,
      };
    case 'online':
      return {
        ...base,
        status: 'not-needed',
        summary: 'Nothing to set up',
        explanation: 'SuperOffice Online manages sign-in for you; the onsite feature toggle and serial-number rules do not apply.',
      };
  }
};

const serialNumber: Rule = (range) => {
  const base = { id: 'serial-number', title: 'A unique serial number for each site and database' };
  if (!OAUTH_RANGES.has(range)) {
    return { ...base, status: 'not-needed', summary: 'Not needed', explanation: range === 'online' ? 'Online sites are registered by SuperOffice.' : `Only onsite OAuth 2.0 (${V.oauthPilot.display} and newer) registers the serial number.` };
  }
  return {
    ...base,
    status: 'applies',
    summary: 'Required for OAuth',
    explanation:
      'OAuth 2.0 (through the AccessGateway) registers the site with its serial number. Only the first site or database that registers a given serial number succeeds; others sharing that number (for example a test copy of production) cannot use OAuth.',
    hint: 'Give each site and database its own serial number. Where that is not possible, use app passwords instead of OAuth 2.0 in the second and further sites.',
  };
};

const microsoft365: Rule = (range) => {
  const base = { id: 'exchange-online', title: 'Mailboxes hosted in Microsoft 365 (Exchange Online)' };
  if (!OAUTH_RANGES.has(range)) return { ...base, status: 'not-needed', summary: 'Not needed', explanation: `Only relevant where onsite OAuth 2.0 is available (${V.oauthPilot.display} and newer).` };
  return {
    ...base,
    status: 'applies',
    summary: 'Required for OAuth',
    explanation: 'The OAuth 2.0 sign-in of the help-desk system is for Microsoft 365 (Exchange Online) mailboxes. Mailboxes on other servers keep using passwords.',
  };
};

const mxRecord: Rule = (range) => {
  const base = { id: 'mx-record', title: 'MX record of the mail domain points to Exchange Online' };
  if (!OAUTH_RANGES.has(range)) return { ...base, status: 'not-needed', summary: 'Not needed', explanation: `Only relevant where onsite OAuth 2.0 is available (${V.oauthPilot.display} and newer).` };
  return {
    ...base,
    status: 'applies',
    summary: 'Required for OAuth',
    explanation:
      "The help-desk system recognises an address as a Microsoft 365 account by its domain's MX record. When the MX record points elsewhere (a filtering service, an on-premises Exchange), the mailbox is not sent to Microsoft to sign in.",
    hint: 'On Windows: nslookup -type=mx your-domain.com. The answer should end in mail.protection.outlook.com.',
  };
};

const addressRecognition: Rule = (range) => {
  const base = { id: 'address-recognition', title: `Address-recognition caveat (up to ${ADDRESS_CAVEAT_LAST})` };
  if (range === '9.2-r10' || range === '10.0.3') {
    return {
      ...base,
      status: 'applies',
      summary: 'Caveat applies',
      explanation:
        `Up to ${ADDRESS_CAVEAT_LAST}, when the help-desk system does not recognise the address as a Microsoft 365 account, or has lost the id of an existing mailbox, it returns to Mailbox properties instead of sending you to Microsoft, and the mailbox does not behave correctly.`,
      hint: `Make sure the MX record points to Exchange Online before adding the mailbox. From ${V.addressCaveatFixed.display} on this caveat no longer applies.`,
    };
  }
  return {
    ...base,
    status: 'not-needed',
    summary: 'Does not apply',
    explanation:
      range === '10.1.5' ? `Fixed from ${V.addressCaveatFixed.display}.` : range === 'online' ? 'Does not apply to Online.' : `Only relevant where onsite OAuth 2.0 is available (${V.oauthPilot.display} to ${ADDRESS_CAVEAT_LAST}).`,
  };
};

const signInName: Rule = (range) => {
  const base = { id: 'sign-in-name', title: 'The sign-in name (UPN) can differ from the email address' };
  if (!OAUTH_RANGES.has(range) && range !== 'online') {
    return {
      ...base,
      status: 'applies',
      summary: 'Check user names',
      explanation: 'A user principal name (UPN) looks like an email address but need not be the mailbox address. Password sign-in to Microsoft 365 uses the UPN as user name.',
      hint: 'In Microsoft 365 admin center > Users > Active users, the Username column is the UPN.',
    };
  }
  return {
    ...base,
    status: 'applies',
    summary: 'Check before signing in',
    explanation:
      'In Windows Active Directory and Microsoft 365, a user principal name (UPN) is the sign-in name in email format, e.g. john.doe@domain.com. It often equals the email address, but not always. Microsoft asks for the UPN of the account that owns the mailbox.',
    hint: 'In Microsoft 365 admin center > Users > Active users, the Username column is the UPN. In Mailroom, put the UPN in the IMAP and SMTP user name when it differs from the address.',
  };
};

const RULES: Rule[] = [curlMail, oauth, serialNumber, microsoft365, mxRecord, addressRecognition, signInName];

/** The checklist for a range: every item, in a fixed order. */
export function checklistForRange(range: SiteVersionRange): ChecklistItem[] {
  return RULES.map((rule) => rule(range));
}

/**
 * The checklist for a typed version or a range id. Throws
 * SITE_VERSION_UNRECOGNIZED / SITE_VERSION_AMBIGUOUS with what to type.
 */
export function siteChecklist(versionText: string): SiteChecklist {
  const version = parseSiteVersion(versionText);
  return { version, rangeLabel: rangeLabel(version.range), items: checklistForRange(version.range) };
}
