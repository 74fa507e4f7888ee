/**
 * Autodetect: from an address, find out what the mailbox is and how to
 * connect, and show the evidence step by step:
 *   1. MX records (Microsoft 365 when they end in mail.protection.outlook.com or mx.microsoft),
 *   2. Microsoft's user-realm lookup (managed or federated Entra tenant),
 *   3. Thunderbird-style autoconfig on the autoconfig host and the .well-known path,
 *   4. the built-in provider table (works offline).
 * The network steps run side by side, each with a short timeout; when the
 * network is down the result says so plainly and still proposes settings.
 * The DNS resolver, the HTTP fetch and the URLs are injectable.
 */
import dns from 'node:dns';
import { AppError } from '../../shared/errors.js';
import { EmailAddress, PRESETS } from '../../shared/mailbox.js';
import type { DetectEvidence, DetectProposal, DetectResult, DetectStepName, UserRealm } from '../../shared/oauth.js';
import { SECURITY_LABELS } from '../../shared/setting-words.js';
import { describeNetworkFailure, globalHttpFetch, readLimited, timeoutSignal, type HttpFetch } from '../auth/http.js';
import { AutoconfigParseError, DEFAULT_AUTOCONFIG_URLS, autoconfigUrl, parseAutoconfig, type AutoconfigResult } from './autoconfig.js';
import { isMicrosoftMx, providerByDomain, providerByMx, type ProviderEntry } from './providers.js';

/** An MX record. */
export interface MxRecord {
  exchange: string;
  priority: number;
}

/** The DNS seam: node's dns.promises.Resolver satisfies it. */
export interface MxResolver {
  resolveMx(hostname: string): Promise<MxRecord[]>;
}

/** Microsoft's public user-realm endpoint. */
export const DEFAULT_USER_REALM_URL = 'https://login.microsoftonline.com/getuserrealm.srf';

/** The detector's seams: resolver, fetch, URLs and the per-step timeout. */
export interface DetectorOptions {
  /** Default: node's resolver with the system's DNS servers (or `dnsServers`). */
  resolver?: MxResolver;
  /** DNS servers for the default resolver, e.g. ["127.0.0.1:5353"]. */
  dnsServers?: string[];
  fetch?: HttpFetch;
  userRealmUrl?: string;
  /** Autoconfig URL templates with {domain} and {address}; default: the autoconfig host, then .well-known. */
  autoconfigUrls?: readonly string[];
  /** Timeout of each network step. Default 5 s. */
  stepTimeoutMs?: number;
}

/** The detector's settings read from the environment (for the CLI and diagnostics). */
export function detectorOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): DetectorOptions {
  const options: DetectorOptions = {};
  if (env.MAILROOM_DNS_SERVERS) options.dnsServers = env.MAILROOM_DNS_SERVERS.split(/[\s,]+/).filter(Boolean);
  if (env.MAILROOM_USER_REALM_URL) options.userRealmUrl = env.MAILROOM_USER_REALM_URL;
  if (env.MAILROOM_AUTOCONFIG_URLS) options.autoconfigUrls = env.MAILROOM_AUTOCONFIG_URLS.split(/\s+/).filter(Boolean);
  if (env.MAILROOM_DETECT_TIMEOUT_MS && /^\d+$/.test(env.MAILROOM_DETECT_TIMEOUT_MS)) options.stepTimeoutMs = Number(env.MAILROOM_DETECT_TIMEOUT_MS);
  return options;
}

interface StepOutcome<T> {
  evidence: DetectEvidence;
  value?: T;
  /** The step could not run because the network is unreachable. */
  offline?: boolean;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms} ms`), { name: 'TimeoutError' })), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

const OFFLINE_DNS_CODES = new Set(['ECONNREFUSED', 'ETIMEOUT', 'ETIMEDOUT', 'ESERVFAIL', 'ECONNRESET', 'EREFUSED', 'ENETUNREACH', 'EAI_AGAIN']);

/** Detects a mailbox's provider from its address, with the evidence. */
export class Detector {
  private readonly resolver: MxResolver;
  private readonly fetch: HttpFetch;
  private readonly userRealmUrl: string;
  private readonly autoconfigUrls: readonly string[];
  private readonly timeoutMs: number;

  constructor(options: DetectorOptions = {}) {
    this.timeoutMs = options.stepTimeoutMs ?? 5000;
    if (options.resolver) this.resolver = options.resolver;
    else {
      const resolver = new dns.promises.Resolver({ timeout: Math.max(500, Math.floor(this.timeoutMs / 2)), tries: 2 });
      if (options.dnsServers?.length) resolver.setServers(options.dnsServers);
      this.resolver = resolver;
    }
    this.fetch = options.fetch ?? globalHttpFetch;
    this.userRealmUrl = options.userRealmUrl ?? DEFAULT_USER_REALM_URL;
    this.autoconfigUrls = options.autoconfigUrls ?? DEFAULT_AUTOCONFIG_URLS;
  }

  /** Detects the provider of an address and proposes settings, with the evidence. */
  async detect(addressInput: string): Promise<DetectResult> {
    const parsed = EmailAddress.safeParse(addressInput);
    if (!parsed.success) {
      throw new AppError('DETECT_INVALID_ADDRESS', `"${String(addressInput).slice(0, 100)}" is not an email address.`, {
        hint: 'Enter the mailbox\'s full address, such as support@contoso.com.',
        issues: [{ path: 'address', message: 'must be an email address such as support@example.com' }],
      });
    }
    const address = parsed.data;
    const domain = address.split('@').pop()!.toLowerCase();

    const [mx, realm, ...autoconfigs] = await Promise.all([
      this.mxStep(domain),
      this.realmStep(address),
      ...this.autoconfigUrls.slice(0, 2).map((template, i) => this.autoconfigStep(template, address, domain, i === 0 ? 'autoconfig' : 'autoconfig-well-known')),
    ]);
    const autoconfig = autoconfigs.find((a) => a.value);
    const mxHosts = mx.value ?? [];
    const byDomain = providerByDomain(domain);
    const byMx = providerByMx(mxHosts);
    const table = this.tableStep(domain, byDomain, byMx);

    // Microsoft 365: count the independent signs.
    const microsoftMx = mxHosts.some(isMicrosoftMx);
    const tenantKnown = realm.value?.namespaceType === 'Managed' || realm.value?.namespaceType === 'Federated';
    const autoconfigSaysMicrosoft = Boolean(autoconfig?.value?.incoming.some((s) => /(^|\.)(office365|outlook)\.com$/i.test(s.host)));
    const tableSaysMicrosoft = byDomain?.id === 'microsoft365';
    const signs = [microsoftMx, tenantKnown, autoconfigSaysMicrosoft, tableSaysMicrosoft].filter(Boolean).length;
    const microsoft365 = microsoftMx || autoconfigSaysMicrosoft || tableSaysMicrosoft || (tenantKnown && !mxHosts.length);

    const warnings: string[] = [];
    let proposal: DetectProposal;
    if (microsoft365 || (tenantKnown && !autoconfig?.value && !byMx)) {
      proposal = this.presetProposal('microsoft365', address, microsoftMx ? 'mx' : tenantKnown ? 'user-realm' : autoconfigSaysMicrosoft ? (autoconfig!.evidence.step as DetectStepName) : 'provider-table');
      warnings.push(
        'The Microsoft sign-in name (UPN) can differ from the email address. If it does, enter the UPN as the IMAP and SMTP user name before signing in, or Mailroom will report OAUTH_WRONG_ACCOUNT.',
      );
      if (!microsoftMx && mxHosts.length) {
        warnings.push(
          `The MX records point to ${mxHosts[0]}, not to Exchange Online. A mail filter in front of Microsoft 365 is common, but some help-desk systems only recognise Microsoft 365 when the MX points to Exchange Online (*.mail.protection.outlook.com).`,
        );
      }
      if (realm.value?.namespaceType === 'Federated') {
        warnings.push(
          `The domain is federated${realm.value.federationUrl ? ` (${new URL(realm.value.federationUrl).host})` : ''}: the sign-in page is your organisation's own, and the sign-in name is usually the UPN.`,
        );
      }
    } else if (autoconfig?.value) {
      proposal = this.autoconfigProposal(autoconfig.value, address, autoconfig.evidence.step);
    } else if (byDomain ?? byMx) {
      const entry = (byDomain ?? byMx)!;
      proposal = this.entryProposal(entry, address);
      if (entry.note) warnings.push(entry.note);
    } else {
      proposal = { preset: 'generic', providerLabel: 'Unknown provider', imap: null, smtp: null, pop3: null, source: null };
      warnings.push('No provider was recognised: enter the incoming (IMAP or POP3) and SMTP servers your provider gives.');
    }
    if (proposal.preset === 'gmail' && !warnings.some((w) => w.includes('app password'))) warnings.push(PRESETS.gmail.description);

    const networkSteps = [mx, realm, ...autoconfigs];
    const offline = networkSteps.every((s) => s.offline);
    if (offline) {
      warnings.unshift('This computer could not reach DNS or the internet, so only the built-in provider table was used. Check the network and detect again to confirm.');
    }
    const confidence: DetectResult['confidence'] = microsoft365 ? (signs >= 2 ? 'confirmed' : 'likely') : proposal.source ? (proposal.source === 'provider-table' && !byMx ? 'likely' : 'confirmed') : 'unknown';
    const summary = microsoft365
      ? `${address} is ${confidence === 'confirmed' ? '' : 'probably '}a Microsoft 365 mailbox: sign in with Microsoft (OAuth 2.0).`
      : proposal.source
        ? `${address} looks like ${proposal.providerLabel}; settings come from ${proposal.source === 'provider-table' ? 'the built-in provider table' : 'the domain\'s autoconfig file'}.`
        : `The provider of ${address} was not recognised${offline ? ' (offline)' : ''}.`;

    return {
      address,
      domain,
      summary,
      microsoft365,
      confidence,
      evidence: [mx.evidence, realm.evidence, ...autoconfigs.map((a) => a.evidence), table],
      proposal,
      realm: realm.value ?? null,
      warnings,
      offline,
    };
  }

  /**
   * The two network signs that an address's mail is in Microsoft 365, without
   * the autoconfig lookups: the MX records (Exchange Online's host names) and
   * Microsoft's user realm (a managed or federated tenant). For the readiness
   * report; each lookup has the detector's timeout, and offline is "unknown".
   */
  async microsoft365Signs(address: string): Promise<{ mx: string | null; realm: 'Managed' | 'Federated' | null; offline: boolean }> {
    const domain = address.split('@').pop()!.toLowerCase();
    const [mx, realm] = await Promise.all([this.mxStep(domain), this.realmStep(address)]);
    const namespace = realm.value?.namespaceType;
    return {
      mx: (mx.value ?? []).find(isMicrosoftMx) ?? null,
      realm: namespace === 'Managed' || namespace === 'Federated' ? namespace : null,
      offline: Boolean(mx.offline && realm.offline),
    };
  }

  private async mxStep(domain: string): Promise<StepOutcome<string[]>> {
    const started = Date.now();
    const evidence = (status: DetectEvidence['status'], summary: string, details: string[] = []): DetectEvidence => ({
      step: 'mx',
      status,
      title: 'MX records',
      summary,
      details,
      durationMs: Date.now() - started,
    });
    try {
      const records = (await withTimeout(this.resolver.resolveMx(domain), this.timeoutMs)).sort((a, b) => a.priority - b.priority);
      const hosts = records.map((r) => r.exchange.toLowerCase().replace(/\.$/, ''));
      const details = records.map((r) => `${r.priority} ${r.exchange}`);
      if (!records.length) return { evidence: evidence('info', `${domain} has no MX records.`), value: [] };
      if (hosts.some(isMicrosoftMx)) return { evidence: evidence('success', `Mail for ${domain} goes to Microsoft 365 (Exchange Online).`, details), value: hosts };
      const provider = providerByMx(hosts);
      return {
        evidence: evidence(provider ? 'success' : 'info', provider ? `Mail for ${domain} goes to ${provider.label}.` : `Mail for ${domain} goes to ${hosts[0]}.`, details),
        value: hosts,
      };
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (code === 'ENOTFOUND') return { evidence: evidence('warning', `${domain} does not exist in DNS (NXDOMAIN): check the spelling of the address.`), value: [] };
      if (code === 'ENODATA') return { evidence: evidence('info', `${domain} has no MX records.`), value: [] };
      const timedOut = (error as Error).name === 'TimeoutError' || code === 'ETIMEOUT';
      const offline = timedOut || OFFLINE_DNS_CODES.has(code);
      return {
        evidence: evidence('warning', timedOut ? `DNS did not answer within ${this.timeoutMs / 1000} s (offline?).` : `The DNS lookup failed (${code || (error as Error).message}).`),
        offline,
      };
    }
  }

  private async realmStep(address: string): Promise<StepOutcome<UserRealm>> {
    const started = Date.now();
    const url = `${this.userRealmUrl}?login=${encodeURIComponent(address)}&json=1`;
    const host = new URL(this.userRealmUrl).host;
    const evidence = (status: DetectEvidence['status'], summary: string, details: string[] = []): DetectEvidence => ({
      step: 'user-realm',
      status,
      title: 'Microsoft user realm',
      summary,
      details: [`GET ${this.userRealmUrl}?login=…&json=1`, ...details],
      durationMs: Date.now() - started,
    });
    try {
      const response = await this.fetch(url, { signal: timeoutSignal(this.timeoutMs), headers: { Accept: 'application/json' } });
      const body = await readLimited(response, 64 * 1024);
      if (response.status !== 200) return { evidence: evidence('warning', `${host} answered HTTP ${response.status}.`) };
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        return { evidence: evidence('warning', `${host} answered with something that is not JSON.`) };
      }
      const ns = String(json.NameSpaceType ?? 'Unknown');
      const namespaceType: UserRealm['namespaceType'] = ns === 'Managed' || ns === 'Federated' ? ns : 'Unknown';
      const realm: UserRealm = {
        namespaceType,
        domainName: typeof json.DomainName === 'string' ? json.DomainName : null,
        brandName: typeof json.FederationBrandName === 'string' ? json.FederationBrandName : null,
        cloudInstance: typeof json.CloudInstanceName === 'string' ? json.CloudInstanceName : null,
        federationUrl: typeof json.AuthURL === 'string' && /^https:\/\//i.test(json.AuthURL) ? json.AuthURL : null,
      };
      const details = [
        `NameSpaceType: ${ns}`,
        ...(realm.brandName ? [`Organisation: ${realm.brandName}`] : []),
        ...(realm.cloudInstance ? [`Cloud: ${realm.cloudInstance}`] : []),
        ...(realm.federationUrl ? [`Federation sign-in: ${new URL(realm.federationUrl).host}`] : []),
      ];
      if (namespaceType === 'Managed') return { evidence: evidence('success', `Microsoft knows the domain: a managed Entra ID tenant${realm.brandName ? ` (${realm.brandName})` : ''}.`, details), value: realm };
      if (namespaceType === 'Federated') return { evidence: evidence('success', `Microsoft knows the domain: a federated tenant${realm.brandName ? ` (${realm.brandName})` : ''}; sign-in goes through the organisation's own server.`, details), value: realm };
      return { evidence: evidence('info', 'Microsoft does not know this domain: it is not a Microsoft 365 tenant.', details), value: realm };
    } catch (error) {
      const failure = describeNetworkFailure(error, host, this.timeoutMs);
      return { evidence: evidence('warning', failure.message), offline: failure.kind !== 'tls' && failure.kind !== 'other' };
    }
  }

  private async autoconfigStep(template: string, address: string, domain: string, step: 'autoconfig' | 'autoconfig-well-known'): Promise<StepOutcome<AutoconfigResult>> {
    const started = Date.now();
    const url = autoconfigUrl(template, address, domain);
    const shown = url.replace(/\?.*$/, '');
    const evidence = (status: DetectEvidence['status'], summary: string, details: string[] = []): DetectEvidence => ({
      step,
      status,
      title: step === 'autoconfig' ? 'Autoconfig host' : 'Autoconfig (.well-known)',
      summary,
      details: [`GET ${shown}`, ...details],
      durationMs: Date.now() - started,
    });
    try {
      const response = await this.fetch(url, { signal: timeoutSignal(this.timeoutMs), headers: { Accept: 'application/xml, text/xml' } });
      const body = await readLimited(response, 256 * 1024);
      if (response.status === 404 || response.status === 410) return { evidence: evidence('info', 'No autoconfig file is published here.') };
      if (response.status !== 200) return { evidence: evidence('info', `The server answered HTTP ${response.status}: no usable autoconfig file.`) };
      const config = parseAutoconfig(body, address);
      const details = [...config.incoming, ...config.outgoing].map((s) => `${s.protocol} ${s.host}:${s.port} ${SECURITY_LABELS[s.security]} ${s.auth}`);
      return { evidence: evidence('success', `Autoconfig file found${config.displayName ? ` (${config.displayName})` : ''}.`, details), value: config };
    } catch (error) {
      if (error instanceof AutoconfigParseError) return { evidence: evidence('warning', `An autoconfig file was found but cannot be used: ${error.message}`) };
      const failure = describeNetworkFailure(error, new URL(url).host, this.timeoutMs);
      // A domain without an autoconfig host is normal: only timeouts and unreachable networks count as offline.
      const status: DetectEvidence['status'] = failure.kind === 'dns' || failure.kind === 'refused' ? 'info' : 'warning';
      const summary = failure.kind === 'dns' ? `${new URL(url).host} does not exist: no autoconfig published there.` : failure.message;
      return { evidence: evidence(status, summary), offline: failure.kind !== 'tls' && failure.kind !== 'other' };
    }
  }

  private tableStep(domain: string, byDomain: ProviderEntry | undefined, byMx: ProviderEntry | undefined): DetectEvidence {
    const entry = byDomain ?? byMx;
    return {
      step: 'provider-table',
      status: entry ? 'success' : 'info',
      title: 'Built-in provider table',
      summary: entry ? `${byDomain ? `${domain} belongs to` : 'The MX records belong to'} ${entry.label}.` : `${domain} is not in the built-in provider table.`,
      details: entry
        ? [
            `IMAP ${entry.imap.host}:${entry.imap.port} ${SECURITY_LABELS[entry.imap.security]}`,
            ...(entry.pop3 ? [`POP3 ${entry.pop3.host}:${entry.pop3.port} ${SECURITY_LABELS[entry.pop3.security]}`] : []),
            `SMTP ${entry.smtp.host}:${entry.smtp.port} ${SECURITY_LABELS[entry.smtp.security]}`,
          ]
        : [],
      durationMs: 0,
    };
  }

  private presetProposal(preset: 'microsoft365' | 'gmail', address: string, source: DetectStepName): DetectProposal {
    const p = PRESETS[preset];
    return {
      preset,
      providerLabel: preset === 'microsoft365' ? 'Microsoft 365 (Exchange Online)' : p.label,
      imap: { ...p.imap!, username: address },
      smtp: { ...p.smtp!, username: address },
      pop3: p.pop3 ? { ...p.pop3, username: address } : null,
      source,
    };
  }

  private entryProposal(entry: ProviderEntry, address: string): DetectProposal {
    if (entry.preset !== 'generic') return this.presetProposal(entry.preset, address, 'provider-table');
    return {
      preset: 'generic',
      providerLabel: entry.label,
      imap: { ...entry.imap, username: address },
      smtp: { ...entry.smtp, username: address },
      pop3: entry.pop3 ? { ...entry.pop3, username: address } : null,
      source: 'provider-table',
    };
  }

  private autoconfigProposal(config: AutoconfigResult, address: string, source: DetectStepName): DetectProposal {
    const imap = config.incoming.find((s) => s.protocol === 'imap' && s.security === 'tls') ?? config.incoming.find((s) => s.protocol === 'imap');
    const smtp = config.outgoing.find((s) => s.security !== 'none') ?? config.outgoing[0];
    // <incomingServer type="pop3">: the encrypted one first, as for IMAP.
    const pop3 = config.incoming.find((s) => s.protocol === 'pop3' && s.security === 'tls') ?? config.incoming.find((s) => s.protocol === 'pop3' && s.security !== 'none') ?? config.incoming.find((s) => s.protocol === 'pop3');
    const gmail = imap && /(^|\.)gmail\.com$/i.test(imap.host);
    return {
      preset: gmail ? 'gmail' : 'generic',
      providerLabel: config.displayName ?? config.providerId ?? 'the domain\'s provider',
      imap: imap ? { host: imap.host, port: imap.port, security: imap.security, auth: imap.auth === 'none' ? 'password' : imap.auth, username: imap.username || address } : null,
      smtp: smtp ? { host: smtp.host, port: smtp.port, security: smtp.security, auth: smtp.auth, username: smtp.username || address } : null,
      pop3: pop3 ? { host: pop3.host, port: pop3.port, security: pop3.security, auth: pop3.auth === 'none' ? 'password' : pop3.auth, username: pop3.username || address } : null,
      source,
    };
  }
}
