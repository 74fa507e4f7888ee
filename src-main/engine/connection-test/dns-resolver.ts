/**
 * The DNS step's resolver, behind an interface so tests (and sites with a
 * DNS server of their own) can inject one. By default the operating system
 * resolves names, as every mail client on the machine does (hosts file,
 * VPN and corporate DNS included). `MAILROOM_DNS_SERVERS` (a list, the same
 * variable autodetect reads; `MAILROOM_DNS_SERVER` is accepted too) sends
 * the queries to those DNS servers instead, e.g. `127.0.0.1:5353`.
 */
import dns from 'node:dns';
import net from 'node:net';
import { AppError } from '../../shared/errors.js';

/** One address a host name resolves to. */
export interface ResolvedAddress {
  address: string;
  /** 4 or 6. */
  family: number;
}

/** One MX record. */
export interface MxRecord {
  exchange: string;
  priority: number;
}

/** Resolves host names and MX records for the DNS step. */
export interface DnsResolver {
  /** Says where names are resolved, for the step detail (e.g. "the system resolver"). */
  readonly description: string;
  /** Every address of a host name, in the order to try them. Rejects with an error carrying a `code` (ENOTFOUND, ENODATA, ETIMEOUT...). */
  lookup(host: string): Promise<ResolvedAddress[]>;
  /** The MX records of a domain, best (lowest priority) first. */
  resolveMx(domain: string): Promise<MxRecord[]>;
}

const byPriority = (records: MxRecord[]) => records.slice().sort((a, b) => a.priority - b.priority || a.exchange.localeCompare(b.exchange));

/** The operating system's resolver (getaddrinfo for addresses, the configured DNS servers for MX). */
export function systemResolver(): DnsResolver {
  return {
    description: 'the system resolver',
    async lookup(host) {
      const found = await dns.promises.lookup(host, { all: true, verbatim: true });
      return found.map((a) => ({ address: a.address, family: a.family }));
    },
    async resolveMx(domain) {
      return byPriority(await dns.promises.resolveMx(domain));
    },
  };
}

/**
 * A resolver that asks the given DNS servers directly, e.g. `127.0.0.1:5353`
 * or `[::1]:53`. The hosts file is not consulted.
 */
export function serverResolver(servers: string[], timeoutMs = 5000): DnsResolver {
  const resolver = new dns.promises.Resolver({ timeout: timeoutMs, tries: 1 });
  resolver.setServers(servers);
  const collect = async (host: string): Promise<ResolvedAddress[]> => {
    const settled = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
    const addresses: ResolvedAddress[] = [];
    settled.forEach((r, i) => {
      if (r.status === 'fulfilled') for (const address of r.value) addresses.push({ address, family: i === 0 ? 4 : 6 });
    });
    if (addresses.length) return addresses;
    // Report the more telling of the two failures: "does not exist" beats "no AAAA record".
    const errors = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as NodeJS.ErrnoException] : []));
    throw errors.find((e) => e.code === 'ENOTFOUND') ?? errors[0] ?? Object.assign(new Error(`${host} has no addresses`), { code: 'ENODATA' });
  };
  return {
    description: `DNS server ${servers.join(', ')}`,
    lookup: collect,
    async resolveMx(domain) {
      return byPriority(await resolver.resolveMx(domain));
    },
  };
}

/** Checks one DNS server of MAILROOM_DNS_SERVERS: an IP address with an optional port. */
export function parseDnsServer(value: string): string {
  const text = value.trim();
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::(\d{1,5}))?$/.exec(text);
  const plain = /^([0-9.]+)(?::(\d{1,5}))?$/.exec(text);
  const bareV6 = net.isIPv6(text) ? [text, text, undefined] : null;
  const match = bracketed ?? plain ?? bareV6;
  const ip = match?.[1];
  const port = match?.[2] ? Number(match[2]) : undefined;
  if (!ip || !net.isIP(ip) || (port !== undefined && (port < 1 || port > 65535))) {
    throw new AppError('VALIDATION_FAILED', `MAILROOM_DNS_SERVERS must list IP addresses with optional ports, such as 10.0.0.53 or 127.0.0.1:5353 or [::1]:53; "${text}" is not one.`, {
      hint: 'Fix or unset the MAILROOM_DNS_SERVERS environment variable.',
    });
  }
  if (port === undefined) return ip;
  return net.isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The resolver the environment asks for: MAILROOM_DNS_SERVERS (or MAILROOM_DNS_SERVER) when set, else the system's. */
export function resolverFromEnvironment(env: NodeJS.ProcessEnv = process.env): DnsResolver {
  const list = (env.MAILROOM_DNS_SERVERS || env.MAILROOM_DNS_SERVER || '').split(/[\s,]+/).filter(Boolean);
  return list.length ? serverResolver(list.map(parseDnsServer)) : systemResolver();
}
