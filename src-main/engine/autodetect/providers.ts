/**
 * The built-in provider table: well-known mail providers recognised by the
 * address's domain or by where its MX records point, with the servers to use.
 * It is the last step of a detection and the only one that works offline.
 */
import { PRESETS, type PresetId, type SecurityMode } from '../../shared/mailbox.js';

/** One provider's servers. */
export interface ProviderServers {
  host: string;
  port: number;
  security: SecurityMode;
  auth: 'password' | 'oauth2';
}

/** One row of the table. */
export interface ProviderEntry {
  id: string;
  label: string;
  preset: PresetId;
  /** Address domains that belong to the provider (exact, or a suffix when starting with '.'). */
  domains: readonly string[];
  /** MX host suffixes that show a domain is hosted there. */
  mxSuffixes: readonly string[];
  imap: ProviderServers;
  smtp: ProviderServers;
  /** The provider's POP3 server, when it offers POP3. */
  pop3?: ProviderServers;
  /** What the admin must know about signing in. */
  note?: string;
}

const m365 = PRESETS.microsoft365;
const gmail = PRESETS.gmail;

/** Microsoft 365's MX host suffixes: Exchange Online Protection, and the newer mx.microsoft. */
export const MICROSOFT_MX_SUFFIXES = ['.mail.protection.outlook.com', '.mx.microsoft'] as const;

/** The table, checked in order. */
export const PROVIDERS: readonly ProviderEntry[] = [
  {
    id: 'microsoft365',
    label: 'Microsoft 365 (Exchange Online)',
    preset: 'microsoft365',
    domains: ['.onmicrosoft.com', 'outlook.com', 'hotmail.com', 'live.com', 'msn.com'],
    mxSuffixes: MICROSOFT_MX_SUFFIXES,
    imap: m365.imap! as ProviderServers,
    smtp: m365.smtp! as ProviderServers,
    pop3: m365.pop3! as ProviderServers,
    note: 'Signs in with OAuth 2.0; basic authentication (passwords) is turned off for IMAP in Exchange Online.',
  },
  {
    id: 'google',
    label: 'Google Workspace / Gmail',
    preset: 'gmail',
    domains: ['gmail.com', 'googlemail.com'],
    mxSuffixes: ['.google.com', '.googlemail.com'],
    imap: gmail.imap! as ProviderServers,
    smtp: gmail.smtp! as ProviderServers,
    pop3: gmail.pop3! as ProviderServers,
    note: 'Uses an app password (needs 2-Step Verification on the Google account).',
  },
  {
    id: 'yahoo',
    label: 'Yahoo Mail',
    preset: 'generic',
    domains: ['yahoo.com', 'ymail.com', 'rocketmail.com'],
    mxSuffixes: ['.yahoodns.net'],
    imap: { host: 'imap.mail.yahoo.com', port: 993, security: 'tls', auth: 'password' },
    smtp: { host: 'smtp.mail.yahoo.com', port: 465, security: 'tls', auth: 'password' },
    pop3: { host: 'pop.mail.yahoo.com', port: 995, security: 'tls', auth: 'password' },
    note: 'Uses an app password generated in the Yahoo account security settings.',
  },
  {
    id: 'icloud',
    label: 'iCloud Mail',
    preset: 'generic',
    domains: ['icloud.com', 'me.com', 'mac.com'],
    mxSuffixes: ['.mail.icloud.com'],
    imap: { host: 'imap.mail.me.com', port: 993, security: 'tls', auth: 'password' },
    smtp: { host: 'smtp.mail.me.com', port: 587, security: 'starttls', auth: 'password' },
    note: 'Uses an app-specific password from the Apple Account settings.',
  },
  {
    id: 'fastmail',
    label: 'Fastmail',
    preset: 'generic',
    domains: ['fastmail.com', 'fastmail.fm'],
    mxSuffixes: ['.messagingengine.com'],
    imap: { host: 'imap.fastmail.com', port: 993, security: 'tls', auth: 'password' },
    smtp: { host: 'smtp.fastmail.com', port: 465, security: 'tls', auth: 'password' },
    pop3: { host: 'pop.fastmail.com', port: 995, security: 'tls', auth: 'password' },
    note: 'Uses an app password from Fastmail\'s Privacy & Security settings.',
  },
  {
    id: 'zoho',
    label: 'Zoho Mail',
    preset: 'generic',
    domains: ['zoho.com', 'zohomail.com'],
    mxSuffixes: ['.zoho.com'],
    imap: { host: 'imap.zoho.com', port: 993, security: 'tls', auth: 'password' },
    smtp: { host: 'smtp.zoho.com', port: 465, security: 'tls', auth: 'password' },
    pop3: { host: 'pop.zoho.com', port: 995, security: 'tls', auth: 'password' },
  },
];

const norm = (host: string) => host.trim().toLowerCase().replace(/\.$/, '');

/** True when an MX host is Microsoft 365's. */
export function isMicrosoftMx(host: string): boolean {
  const h = norm(host);
  return MICROSOFT_MX_SUFFIXES.some((s) => h.endsWith(s));
}

/** The provider whose domains include this address domain. */
export function providerByDomain(domain: string): ProviderEntry | undefined {
  const d = norm(domain);
  return PROVIDERS.find((p) => p.domains.some((x) => (x.startsWith('.') ? d.endsWith(x) : d === x)));
}

/** The provider whose MX suffixes match one of these MX hosts. */
export function providerByMx(hosts: readonly string[]): ProviderEntry | undefined {
  const all = hosts.map(norm);
  return PROVIDERS.find((p) => all.some((h) => p.mxSuffixes.some((s) => h.endsWith(s) || h === s.slice(1))));
}
