/**
 * Whether a mailbox can use its Microsoft sign-in right now, read from the
 * store alone (no msal, no network): the app registration and the mailbox's
 * sign-in record. Every process reads the same SQLite file, so a sign-in
 * made by `mailroom oauth login` in a terminal is seen by the app, the
 * console and `mailroom engine run` within one look.
 *
 * The outbox holds a mailbox's mail while a sign-in is needed (it spends no
 * tries), and releases it as soon as the sign-in generation changes.
 */
import type { Mailbox } from '../../shared/mailbox.js';
import { incomingAuth, isOAuthMode } from '../../shared/mailbox.js';
import { OAuthRepo } from '../../store/oauth-repo.js';
import { OAuthAppRepo, type OAuthAppRow } from '../../store/oauth-app-repo.js';
import type { Db } from '../../store/db.js';
import { authorityOf } from './msal-client.js';

/** The one name of the action, in every hint, screen and the README. */
export const SIGN_IN_AGAIN_ACTION = 'Sign in again';

/** Why a mailbox cannot get a token until someone signs in. */
export interface SignInRequirement {
  /** OAUTH_NOT_CONFIGURED, OAUTH_NOT_SIGNED_IN, OAUTH_SIGN_IN_REQUIRED, or the code of the failure that asked for a new sign-in (OAUTH_CONSENT_REQUIRED, ...). */
  code: string;
  /** Plain words. */
  message: string;
  /** What to do: who signs in, where, and what happens to waiting mail. */
  hint: string;
  /** Since when (ms UTC), when known. */
  since: number | null;
}

/** The sign-in state of a mailbox as the sender keys its configuration by. */
export interface SignInState {
  /** Null when the mailbox can get tokens (or does not use OAuth at all). */
  requirement: SignInRequirement | null;
  /**
   * Changes with every sign-in and every change of requirement: a sender
   * whose connections were opened under another generation treats their
   * failures as stale.
   */
  generation: string;
}

/** The hint that names the one action, the mailbox and the command. */
export function signInHint(mailboxName: string, lead = SIGN_IN_AGAIN_ACTION): string {
  return `${lead}: "${SIGN_IN_AGAIN_ACTION}" on the mailbox in Mailroom (Mailboxes > ${mailboxName}), or mailroom oauth login "${mailboxName}". Mail waiting for it is sent at once after the sign-in.`;
}

/**
 * True when the mailbox signs in to IMAP or SMTP with OAuth 2.0 (as a
 * person, or app-only). `imap` means incoming mail: a POP3 mailbox's POP3
 * sign-in.
 */
export function usesOAuth(mailbox: Pick<Mailbox, 'imap' | 'smtp'> & Partial<Pick<Mailbox, 'receiveVia' | 'pop3'>>, protocol: 'smtp' | 'imap' | 'any' = 'any'): boolean {
  if (protocol === 'smtp') return isOAuthMode(mailbox.smtp.auth);
  if (protocol === 'imap') return isOAuthMode(incomingAuth(mailbox));
  return isOAuthMode(mailbox.smtp.auth) || isOAuthMode(incomingAuth(mailbox));
}

/** True when the mailbox signs in app-only on `protocol` (any: on incoming or SMTP; `imap` means incoming, POP3 included). */
export function usesAppOnlyOn(mailbox: Pick<Mailbox, 'imap' | 'smtp'> & Partial<Pick<Mailbox, 'receiveVia' | 'pop3'>>, protocol: 'smtp' | 'imap' | 'any' = 'any'): boolean {
  if (protocol === 'smtp') return mailbox.smtp.auth === 'oauth2-app';
  if (protocol === 'imap') return incomingAuth(mailbox) === 'oauth2-app';
  return mailbox.smtp.auth === 'oauth2-app' || incomingAuth(mailbox) === 'oauth2-app';
}

/** The hint that names where the app-only credential is entered. */
export function appOnlyHint(mailboxName: string, lead = 'Enter the app-only registration'): string {
  return `${lead}: Mailboxes > ${mailboxName} > App-only set-up, or mailroom oauth app --tenant <tenant-id> --client-id <client-id> (--secret-env NAME | --certificate FILE). Mail waiting for it is sent at once after.`;
}

/** The requirement of an app-only mailbox, from the organisation's app-only registration (pure). */
export function appRequirementOf(mailboxName: string, row: Pick<OAuthAppRow, 'credentialRequired' | 'lastError' | 'updatedAt'> | undefined): SignInRequirement | null {
  if (!row) {
    return {
      code: 'OAUTH_NOT_CONFIGURED',
      message: `Mailbox "${mailboxName}" signs in app-only, but the organisation's app-only registration is not set up in Mailroom.`,
      hint: appOnlyHint(mailboxName),
      since: null,
    };
  }
  if (row.credentialRequired) {
    const own = row.lastError?.hint;
    return {
      code: row.lastError?.code ?? 'OAUTH_CLIENT_SECRET_INVALID',
      message: row.lastError?.message ?? 'Microsoft refused the app-only credential.',
      hint: own ? `${own} Then: ${appOnlyHint(mailboxName, 'save it in Mailroom')}` : appOnlyHint(mailboxName, 'Enter a new client secret or certificate'),
      since: row.lastError?.at ?? row.updatedAt,
    };
  }
  return null;
}

/** Reads the sign-in state of mailboxes from the store. */
export class SignInStates {
  private readonly repo: OAuthRepo;
  private readonly appRepo: OAuthAppRepo;

  constructor(db: Db) {
    this.repo = new OAuthRepo(db);
    this.appRepo = new OAuthAppRepo(db);
  }

  /** The state of one mailbox's Microsoft sign-in (null requirement for a mailbox without OAuth on `protocol`). */
  of(mailbox: Pick<Mailbox, 'id' | 'name' | 'imap' | 'smtp'>, protocol: 'smtp' | 'imap' | 'any' = 'any'): SignInState {
    if (!usesOAuth(mailbox, protocol)) return { requirement: null, generation: 'no-oauth' };
    if (usesAppOnlyOn(mailbox, protocol)) {
      const row = this.appRepo.get();
      const requirement = appRequirementOf(mailbox.name, row);
      return { requirement, generation: `app:${row?.generation ?? 0}:${requirement?.code ?? 'ok'}` };
    }
    const settings = this.repo.getSettings();
    const account = this.repo.getAccount(mailbox.id);
    const requirement = requirementOf(mailbox.name, settings ? { clientId: settings.clientId, authority: authorityOf(settings) } : undefined, account);
    return { requirement, generation: `${account?.signedInAt ?? 0}:${requirement?.code ?? 'ok'}` };
  }
}

/** The requirement from the registration and the sign-in record (pure). */
export function requirementOf(
  mailboxName: string,
  registration: { clientId: string; authority: string } | undefined,
  account: { state: 'signed-in' | 'sign-in-required'; clientId: string; authority: string; lastError: { code: string; message: string; hint?: string; at: number } | null; updatedAt: number } | undefined,
): SignInRequirement | null {
  if (!registration) {
    return {
      code: 'OAUTH_NOT_CONFIGURED',
      message: `Mailbox "${mailboxName}" signs in with Microsoft, but Microsoft 365 sign-in is not set up in Mailroom.`,
      hint: `Enter the app registration (Mailboxes > ${mailboxName} > App registration, or mailroom oauth settings --tenant <tenant-id> --client-id <client-id>), then sign in: mailroom oauth login "${mailboxName}". Mail waiting for it is sent at once after the sign-in.`,
      since: null,
    };
  }
  if (!account) {
    return {
      code: 'OAUTH_NOT_SIGNED_IN',
      message: `Mailbox "${mailboxName}" has not signed in with Microsoft yet.`,
      hint: signInHint(mailboxName, 'Sign in'),
      since: null,
    };
  }
  if (account.clientId !== registration.clientId || account.authority !== registration.authority) {
    return {
      code: 'OAUTH_SIGN_IN_REQUIRED',
      message: `The OAuth settings (client id or tenant) changed since "${mailboxName}" signed in.`,
      hint: signInHint(mailboxName, 'Sign in again with the new app registration'),
      since: account.updatedAt,
    };
  }
  if (account.state === 'sign-in-required') {
    // The failure that put it there may need an admin's step first (consent, a blocked account): keep its code and hint.
    const code = account.lastError?.code ?? 'OAUTH_SIGN_IN_REQUIRED';
    const own = code !== 'OAUTH_SIGN_IN_REQUIRED' && account.lastError?.hint;
    return {
      code,
      message: account.lastError?.message ?? `Mailbox "${mailboxName}" must sign in with Microsoft again.`,
      hint: own ? `${own} Then: ${signInHint(mailboxName, SIGN_IN_AGAIN_ACTION.toLowerCase())}` : signInHint(mailboxName),
      since: account.lastError?.at ?? account.updatedAt,
    };
  }
  return null;
}
