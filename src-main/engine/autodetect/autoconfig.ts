/**
 * Thunderbird-style autoconfig (clientConfig version 1.1): the URLs a domain
 * publishes it at, and a parser over a real XML parser. Placeholders such as
 * %EMAILADDRESS% are filled in for the address being detected.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { SecurityMode } from '../../shared/mailbox.js';

/**
 * Where a domain publishes its autoconfig, as Thunderbird looks:
 * the autoconfig host, then the domain's .well-known path.
 * `{domain}` and `{address}` are replaced (URL-encoded).
 */
export const DEFAULT_AUTOCONFIG_URLS = [
  'https://autoconfig.{domain}/mail/config-v1.1.xml?emailaddress={address}',
  'https://{domain}/.well-known/autoconfig/mail/config-v1.1.xml',
] as const;

/** Fills a URL template for an address. */
export function autoconfigUrl(template: string, address: string, domain: string): string {
  return template.replaceAll('{domain}', encodeURIComponent(domain)).replaceAll('{address}', encodeURIComponent(address));
}

/** One server from an autoconfig file. */
export interface AutoconfigServer {
  protocol: 'imap' | 'pop3' | 'smtp';
  host: string;
  port: number;
  security: SecurityMode;
  auth: 'password' | 'oauth2' | 'none';
  username: string;
}

/** What an autoconfig file says. */
export interface AutoconfigResult {
  providerId: string | null;
  displayName: string | null;
  incoming: AutoconfigServer[];
  outgoing: AutoconfigServer[];
}

/** An autoconfig file that could not be used, with why. */
export class AutoconfigParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AutoconfigParseError';
  }
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
// Entities stay unexpanded in the parser (no DOCTYPE tricks); the five predefined ones are decoded here.
const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const decode = (s: string) => s.replace(/&(amp|lt|gt|quot|apos);/g, (_m, name: string) => PREDEFINED[name]!);
const text = (v: unknown): string => (typeof v === 'string' ? decode(v.trim()) : typeof v === 'number' ? String(v) : '');

function security(socketType: string): SecurityMode | undefined {
  const s = socketType.toUpperCase();
  if (s === 'SSL' || s === 'TLS') return 'tls';
  if (s === 'STARTTLS') return 'starttls';
  if (s === 'PLAIN') return 'none';
  return undefined;
}

function auth(methods: string[]): AutoconfigServer['auth'] {
  const lower = methods.map((m) => m.toLowerCase());
  if (lower.includes('oauth2')) return 'oauth2';
  if (lower.length && lower.every((m) => m === 'none')) return 'none';
  return 'password';
}

function fill(value: string, address: string): string {
  const [local = '', domain = ''] = address.split('@');
  return value.replaceAll('%EMAILADDRESS%', address).replaceAll('%EMAILLOCALPART%', local).replaceAll('%EMAILDOMAIN%', domain);
}

/** Parses a config-v1.1.xml document for an address. */
export function parseAutoconfig(xml: string, address: string): AutoconfigResult {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new AutoconfigParseError(`The file is not well-formed XML (line ${valid.err.line}: ${valid.err.msg}).`);
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@', processEntities: false, parseTagValue: false, trimValues: true });
  const doc = parser.parse(xml) as Record<string, unknown>;
  const config = doc.clientConfig as Record<string, unknown> | undefined;
  if (!config || typeof config !== 'object') throw new AutoconfigParseError('The file has no <clientConfig> element: it is not a Thunderbird autoconfig file.');
  const provider = asArray(config.emailProvider as Record<string, unknown> | Record<string, unknown>[])[0];
  if (!provider) throw new AutoconfigParseError('The file has no <emailProvider> element.');

  const server = (node: Record<string, unknown>, fallback: 'imap' | 'pop3' | 'smtp'): AutoconfigServer | undefined => {
    const type = text(node['@type']).toLowerCase() || fallback;
    if (type !== 'imap' && type !== 'pop3' && type !== 'smtp') return undefined;
    const host = fill(text(node.hostname), address);
    const port = Number(text(node.port));
    const sec = security(text(node.socketType));
    if (!host || !Number.isInteger(port) || port < 1 || port > 65535 || !sec) return undefined;
    return {
      protocol: type,
      host,
      port,
      security: sec,
      auth: auth(asArray(node.authentication as unknown).map(text)),
      username: fill(text(node.username), address) || address,
    };
  };

  const incoming = asArray(provider.incomingServer as Record<string, unknown> | Record<string, unknown>[])
    .map((n) => server(n, 'imap'))
    .filter((s): s is AutoconfigServer => Boolean(s));
  const outgoing = asArray(provider.outgoingServer as Record<string, unknown> | Record<string, unknown>[])
    .map((n) => server(n, 'smtp'))
    .filter((s): s is AutoconfigServer => Boolean(s));
  if (!incoming.length && !outgoing.length) throw new AutoconfigParseError('The file lists no usable incoming or outgoing server.');
  return {
    providerId: text(provider['@id']) || null,
    displayName: text(provider.displayName) || null,
    incoming,
    outgoing,
  };
}
