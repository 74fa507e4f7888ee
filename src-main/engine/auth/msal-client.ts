/**
 * msal-node public clients for Mailroom: the configuration for the admin's
 * app registration (any https authority; hosts other than Microsoft's clouds
 * are declared as known authorities so msal trusts their metadata), and the
 * cache plugin that keeps each mailbox's token cache sealed in the store.
 */
import type { ConfidentialClientApplication, Configuration, ICachePlugin, PublicClientApplication } from '@azure/msal-node';
import type { SecretName, SecretRepo } from '../../store/secret-repo.js';
import { msalNetworkModule, type HttpFetch, type NetworkFailureLog } from './http.js';

/** Sign-in hosts of Microsoft's clouds: msal discovers their metadata itself. */
export const MICROSOFT_AUTHORITY_HOSTS: ReadonlySet<string> = new Set([
  'login.microsoftonline.com',
  'login.microsoft.com',
  'login.windows.net',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
  'login.partner.microsoftonline.cn',
]);

/** What a client is built from. */
export interface ClientSettings {
  clientId: string;
  tenant: string;
  authorityHost: string;
}

/** The full authority URL: host + '/' + tenant. */
export function authorityOf(s: { authorityHost: string; tenant: string }): string {
  return `${s.authorityHost.replace(/\/+$/, '')}/${s.tenant}`;
}

/** The msal configuration for an app registration. */
export function msalConfiguration(settings: ClientSettings, httpFetch: HttpFetch, requestTimeoutMs: number, cachePlugin?: ICachePlugin, failures?: NetworkFailureLog): Configuration {
  const host = new URL(settings.authorityHost).host;
  return {
    auth: {
      clientId: settings.clientId,
      authority: authorityOf(settings),
      knownAuthorities: MICROSOFT_AUTHORITY_HOSTS.has(host) ? [] : [host],
    },
    ...(cachePlugin ? { cache: { cachePlugin } } : {}),
    system: {
      networkClient: msalNetworkModule(httpFetch, requestTimeoutMs, failures),
      // msal's own log is off: it can carry account names, and Mailroom reports failures itself.
      // 0 is msal's LogLevel.Error; the enum is not imported so msal loads only when a client is made.
      loggerOptions: { logLevel: 0, piiLoggingEnabled: false, loggerCallback: () => undefined },
    },
  };
}

/** A cache plugin over one mailbox's sealed 'oauth-token-cache' secret. */
export function sealedCachePlugin(secrets: SecretRepo, mailboxId: number, name: SecretName = 'oauth-token-cache'): ICachePlugin {
  return {
    async beforeCacheAccess(context) {
      const stored = secrets.get(mailboxId, name);
      context.tokenCache.deserialize(stored ?? '{}');
    },
    async afterCacheAccess(context) {
      if (context.cacheHasChanged) secrets.set(mailboxId, name, context.tokenCache.serialize());
    },
  };
}

/**
 * msal-node, loaded on first use: it is hundreds of modules, and most CLI
 * commands and app start-ups never sign in or refresh a token.
 */
export function loadMsal(): Promise<typeof import('@azure/msal-node')> {
  return import('@azure/msal-node');
}

/** A public client whose cache lives in memory only (a sign-in before it is accepted). */
export async function ephemeralClient(settings: ClientSettings, httpFetch: HttpFetch, requestTimeoutMs: number, failures?: NetworkFailureLog): Promise<PublicClientApplication> {
  const { PublicClientApplication } = await loadMsal();
  return new PublicClientApplication(msalConfiguration(settings, httpFetch, requestTimeoutMs, undefined, failures));
}

/** A public client over a mailbox's sealed cache. */
export async function mailboxClient(settings: ClientSettings, httpFetch: HttpFetch, requestTimeoutMs: number, secrets: SecretRepo, mailboxId: number, failures?: NetworkFailureLog): Promise<PublicClientApplication> {
  const { PublicClientApplication } = await loadMsal();
  return new PublicClientApplication(msalConfiguration(settings, httpFetch, requestTimeoutMs, sealedCachePlugin(secrets, mailboxId), failures));
}

/** The credential of app-only access: a client secret, or a certificate (msal-node's `clientCertificate`). */
export type ConfidentialCredential =
  | { kind: 'secret'; clientSecret: string }
  | { kind: 'certificate'; thumbprintSha256: string; privateKeyPem: string; certificatePem: string };

/**
 * A confidential client (app-only access, client credentials) over a
 * mailbox's sealed 'oauth-app-token-cache'. With a certificate msal signs
 * its client assertion with the key (PS256 with the SHA-256 thumbprint as
 * x5t#S256) and sends the chain as x5c.
 */
export async function confidentialMailboxClient(
  settings: ClientSettings,
  credential: ConfidentialCredential,
  httpFetch: HttpFetch,
  requestTimeoutMs: number,
  secrets: SecretRepo,
  mailboxId: number,
  failures?: NetworkFailureLog,
): Promise<ConfidentialClientApplication> {
  const { ConfidentialClientApplication } = await loadMsal();
  const base = msalConfiguration(settings, httpFetch, requestTimeoutMs, sealedCachePlugin(secrets, mailboxId, 'oauth-app-token-cache'), failures);
  return new ConfidentialClientApplication({
    ...base,
    auth: {
      ...base.auth,
      ...(credential.kind === 'secret'
        ? { clientSecret: credential.clientSecret }
        : { clientCertificate: { thumbprintSha256: credential.thumbprintSha256, privateKey: credential.privateKeyPem, x5c: credential.certificatePem } }),
    },
  });
}
