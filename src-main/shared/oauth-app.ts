/**
 * Microsoft 365 app-only access (OAuth 2.0 client credentials) shared by the
 * engine, the IPC contract, the CLI and the renderer: the organisation's
 * app-only registration as shown (never its secret or key), its input, the
 * client secret's expiry warning, and the guided set-up's steps and
 * Exchange Online PowerShell commands. Imports nothing from node or electron.
 */
import { z } from 'zod';
import { AuthorityHost, ClientId, StoredError, Tenant } from './oauth.js';

/**
 * The one scope of app-only access to IMAP, POP and SMTP: Exchange Online's
 * `.default`. Client credentials take no named scopes; the application
 * permissions come from the app registration and its admin consent.
 */
export const OAUTH_APP_SCOPE = 'https://outlook.office365.com/.default';

/** The application permissions (Office 365 Exchange Online) app-only access needs, by protocol. */
export const APP_ONLY_PERMISSIONS = ['IMAP.AccessAsApp', 'POP.AccessAsApp', 'SMTP.SendAsApp'] as const;

/** How many days before the client secret expires Mailroom starts warning. */
export const SECRET_EXPIRY_WARNING_DAYS = 30;

/** How the app proves who it is: a client secret, or a certificate whose private key Mailroom holds. */
export const APP_CREDENTIAL_KINDS = ['secret', 'certificate'] as const;
export type AppCredentialKind = (typeof APP_CREDENTIAL_KINDS)[number];

/** Where the secret's expiry date came from (stored with the secret). */
export const SECRET_EXPIRY_SOURCES = ['entered', 'learned'] as const;

/** Where a credential's expiry came from: a secret's, entered or learned; a certificate's, read from the certificate itself. */
export const CREDENTIAL_EXPIRY_SOURCES = [...SECRET_EXPIRY_SOURCES, 'certificate'] as const;
export type CredentialExpirySource = (typeof CREDENTIAL_EXPIRY_SOURCES)[number];

/**
 * The expiry of the app-only credential (the client secret, or the
 * certificate's "not after") as the screens, the log and the CLI show it.
 */
export const SecretExpiry = z.object({
  /** Which credential expires: the client secret or the certificate. */
  credential: z.enum(APP_CREDENTIAL_KINDS),
  /** `ok` (more than 30 days left), `soon` (30 days or less), `expired`. */
  state: z.enum(['ok', 'soon', 'expired']),
  /** When it expires (ms UTC). */
  expiresAt: z.number().int(),
  /** Whole days left (0 on the last day, negative once expired). */
  daysLeft: z.number().int(),
  /** `entered` by the admin, `learned` from Microsoft's AADSTS7000222, or read from the `certificate`. */
  source: z.enum(CREDENTIAL_EXPIRY_SOURCES),
  /** One sentence: when, and what to do. */
  message: z.string(),
});
export type SecretExpiry = z.infer<typeof SecretExpiry>;

const DAY_MS = 86_400_000;

/**
 * The expiry warning of the app-only credential at `now`: `soon` from 30
 * days ahead, `expired` from its expiry on. A `certificate` source words it
 * for the certificate (its "not after"), any other for the client secret.
 * Pure, so the screens, the log and the CLI say the same thing.
 */
export function secretExpiryStatus(expiresAt: number, now: number, source: CredentialExpirySource = 'entered'): SecretExpiry {
  const credential: AppCredentialKind = source === 'certificate' ? 'certificate' : 'secret';
  const daysLeft = Math.floor((expiresAt - now) / DAY_MS);
  const date = new Date(expiresAt).toISOString().slice(0, 10);
  const what = credential === 'certificate' ? 'certificate' : 'client secret';
  const renew =
    credential === 'certificate'
      ? 'Make a new certificate, upload its public part to the app registration (Certificates & secrets > Certificates) and enter it in Mailroom (mailroom oauth app ... --certificate FILE), or use a client secret.'
      : 'Create a new client secret (app registration > Certificates & secrets), enter its Value in Mailroom (mailroom oauth app ... --secret-env NAME) with its expiry date, or use a certificate.';
  const base = { credential, expiresAt, daysLeft, source };
  if (expiresAt <= now) {
    return { ...base, state: 'expired', message: `The ${what} of the app-only registration expired on ${date}: app-only mailboxes cannot sign in. ${renew}` };
  }
  if (expiresAt - now <= SECRET_EXPIRY_WARNING_DAYS * DAY_MS) {
    const when = daysLeft === 0 ? 'today' : daysLeft === 1 ? 'tomorrow' : `in ${daysLeft} days`;
    return { ...base, state: 'soon', message: `The ${what} of the app-only registration expires ${when} (${date}). ${renew}` };
  }
  return { ...base, state: 'ok', message: `The ${what} expires on ${date}.` };
}

/** What the app-only credential is called in a sentence: "client secret" or "certificate". */
export function credentialWord(expiry: Pick<SecretExpiry, 'credential'>): string {
  return expiry.credential === 'certificate' ? 'certificate' : 'client secret';
}

/**
 * A date as typed (YYYY-MM-DD), read as the end of that day in UTC. A time
 * in ms is accepted as well: what the renderer's client parsed is parsed
 * again by the router.
 */
export const ExpiryDate = z.union([
  z.number().int().positive(),
  z
  .string({ error: 'must be a date such as 2027-06-30' })
  .trim()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date written YYYY-MM-DD, such as 2027-06-30 (the "Expires" column of the secret)' })
  .refine((v) => {
    const d = new Date(`${v}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v;
  }, { error: 'must be a real calendar date written YYYY-MM-DD, such as 2027-06-30' })
  .transform((v) => Date.parse(`${v}T23:59:59.999Z`)),
], { error: 'must be a date written YYYY-MM-DD, such as 2027-06-30 (the "Expires" column of the secret)' });

/** The certificate app-only access signs in with: its public facts only. */
export const AppCertificateInfo = z.object({
  /** Hex SHA-256 thumbprint, as the app registration's Certificates tab shows it (upper case). */
  thumbprintSha256: z.string(),
  /** Hex SHA-1 thumbprint: the Entra admin center lists this one ("Thumbprint"). */
  thumbprintSha1: z.string(),
  subject: z.string(),
  notBefore: z.number().int(),
  notAfter: z.number().int(),
});
export type AppCertificateInfo = z.infer<typeof AppCertificateInfo>;

/** The organisation's app-only registration as saved: never the secret, the key or the password. */
export const OAuthAppSettings = z.object({
  configured: z.boolean(),
  tenant: z.string(),
  clientId: z.string(),
  authorityHost: z.string(),
  credential: z.enum(APP_CREDENTIAL_KINDS).nullable(),
  /** True when a client secret is stored (write-only: its value never leaves the engine). */
  secretSet: z.boolean(),
  certificate: AppCertificateInfo.nullable(),
  /** The client secret's expiry, when known (entered, or learned from AADSTS7000222). */
  secretExpiry: SecretExpiry.nullable(),
  /** The last failure to get a token, until a token is got or the credential changes. */
  lastError: StoredError.nullable(),
  /** True when the last failure means the credential must change before app-only mailboxes can sign in (mail waits). */
  credentialRequired: z.boolean(),
  lastTokenAt: z.number().int().nullable(),
  updatedAt: z.number().int().nullable(),
});
export type OAuthAppSettings = z.infer<typeof OAuthAppSettings>;

const WriteOnly = z
  .string({ error: 'must be text' })
  .max(16_384, { error: 'is too long' });

/**
 * Input to save the app-only registration. The secret, the private key and
 * the PFX's password are write-only: absent keeps what is stored (for the
 * same credential kind). A PFX comes as base64 with its password and is
 * converted to PEM at once; the password is never stored.
 */
export const OAuthAppSettingsInput = z
  .object({
    tenant: Tenant,
    clientId: ClientId,
    authorityHost: AuthorityHost.optional(),
    credential: z.enum(APP_CREDENTIAL_KINDS, { error: 'must be secret or certificate' }),
    clientSecret: WriteOnly.min(1, { error: 'is empty: paste the secret\'s Value' })
      .refine((v) => !/[\r\n\0]/.test(v), { error: 'must be one line (the secret\'s Value)' })
      .optional(),
    /** PEM text holding the certificate and its private key (in either order). */
    certificatePem: z.string().max(262_144, { error: 'is too long for a certificate file' }).optional(),
    /** A .pfx/.p12 file, base64. */
    pfxBase64: z.string().max(349_526, { error: 'is too long for a certificate file' }).optional(),
    /** The PFX's password: used once to read it, never stored. */
    certificatePassword: WriteOnly.optional(),
    /** The secret's expiry (YYYY-MM-DD); null forgets it; absent keeps it. */
    secretExpiresOn: ExpiryDate.nullable().optional(),
  })
  .strict();
export type OAuthAppSettingsInput = z.input<typeof OAuthAppSettingsInput>;

/** One step of the guided app-only set-up; `command` is filled in with the tenant's own values, ready to copy. */
export interface AppOnlySetupStep {
  id: string;
  title: string;
  text: string;
  /** Exchange Online PowerShell, when the step is a command. */
  command?: string;
}

/** What the set-up's commands are filled in with. Blank values become named placeholders. */
export interface AppOnlySetupValues {
  tenant?: string;
  clientId?: string;
  /** The Object ID of the Enterprise application (service principal), not of the App registration. */
  enterpriseObjectId?: string;
  /** The mailbox's address (its identity in Exchange Online). */
  mailbox?: string;
  /** A name for the service principal in Exchange Online. */
  displayName?: string;
}

const psQuote = (v: string) => `"${v.replace(/[`"$]/g, (c) => `\`${c}`)}"`;

/**
 * The guided set-up for app-only access to a shared mailbox, in order: the
 * application permissions and admin consent, then the Exchange Online
 * PowerShell commands of Microsoft's "Authenticate an IMAP, POP or SMTP
 * connection using OAuth" (register the service principal, grant it the
 * mailbox), filled in with the tenant's own values.
 */
export function appOnlySetupSteps(values: AppOnlySetupValues): AppOnlySetupStep[] {
  const clientId = values.clientId?.trim() || '<APPLICATION_CLIENT_ID>';
  const objectId = values.enterpriseObjectId?.trim() || '<ENTERPRISE_APPLICATION_OBJECT_ID>';
  const mailbox = values.mailbox?.trim() || '<MAILBOX_ADDRESS>';
  const displayName = values.displayName?.trim() || 'Mailroom';
  const tenant = values.tenant?.trim();
  // The service principal's id in Exchange is the Enterprise application's Object ID it was registered with.
  const sp = psQuote(objectId);
  return [
    {
      id: 'permissions',
      title: '1. Application permissions',
      text:
        'Entra admin center > App registrations > your app > API permissions > Add a permission > APIs my organization uses > Office 365 Exchange Online > Application permissions: IMAP.AccessAsApp, POP.AccessAsApp and SMTP.SendAsApp. (Not Microsoft Graph: its permissions of the same kind do not open IMAP or SMTP.)',
    },
    {
      id: 'consent',
      title: '2. Admin consent',
      text: 'On the same page select "Grant admin consent for <your organisation>". Application permissions work only after an administrator consents.',
    },
    {
      id: 'credential',
      title: '3. A secret or a certificate',
      text:
        'Certificates & secrets: create a client secret (copy its Value, not its Secret ID, and note its expiry) or upload a certificate (.cer/.pem, public part only). Enter it in Mailroom: the secret is stored encrypted and never shown again.',
    },
    {
      id: 'connect',
      title: '4. Connect to Exchange Online PowerShell',
      text: 'As an Exchange administrator, in PowerShell with the ExchangeOnlineManagement module (Install-Module ExchangeOnlineManagement):',
      command: tenant ? `Connect-ExchangeOnline -Organization ${psQuote(tenant)}` : 'Connect-ExchangeOnline',
    },
    {
      id: 'service-principal',
      title: '5. Register the service principal in Exchange',
      text:
        'Use the Object ID from the Overview page of the Enterprise application (Entra admin center > Enterprise applications > your app), NOT the Object ID of the App registration: with the wrong one the command succeeds but IMAP answers only "NO AUTHENTICATE failed".',
      command: `New-ServicePrincipal -AppId ${psQuote(clientId)} -ObjectId ${psQuote(objectId)} -DisplayName ${psQuote(displayName)}`,
    },
    {
      id: 'full-access',
      title: '6. Let it open the mailbox (IMAP, POP)',
      text: 'Grants the service principal (named by the same Object ID) Full Access to this mailbox only; repeat for each mailbox that signs in app-only.',
      command: `Add-MailboxPermission -Identity ${psQuote(mailbox)} -User ${sp} -AccessRights FullAccess`,
    },
    {
      id: 'send-as',
      title: '7. Let it send as the mailbox (SMTP)',
      text: 'Grants Send As on this mailbox. SMTP AUTH must also be on for the mailbox (Microsoft 365 admin center > the mailbox > Mail > Manage email apps > Authenticated SMTP).',
      command: `Add-RecipientPermission -Identity ${psQuote(mailbox)} -Trustee ${sp} -AccessRights SendAs -Confirm:$false`,
    },
    {
      id: 'check',
      title: '8. Check',
      text: 'Lists the service principal and the mailbox\'s permissions; then run a connection test in Mailroom.',
      command: `Get-ServicePrincipal | Format-List DisplayName,AppId,ObjectId; Get-MailboxPermission -Identity ${psQuote(mailbox)}`,
    },
  ];
}
