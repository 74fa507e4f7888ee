/**
 * Microsoft 365 over IPC: autodetect from an address (`detect`), and OAuth 2.0
 * sign-in, token health and the app-registration settings (`oauth`).
 * Tokens never cross this boundary: only their health does.
 */
import { z } from 'zod';
import { channel, eventChannel } from './channel.js';
import { EmailAddress, MailboxId } from '../mailbox.js';
import {
  BeginSignInInput,
  DetectResult,
  MailboxSignIn,
  OAuthSettings,
  OAuthSettingsInput,
  OAuthSettingsValidation,
  SignInId,
  SignInStatus,
  TokenHealth,
} from '../oauth.js';
import { OAuthAppSettings, OAuthAppSettingsInput } from '../oauth-app.js';
import { TokenDoctorInput, TokenDoctorReport } from '../token-doctor.js';

/** Autodetect channels. */
export const detect = {
  /** MX, Microsoft user realm, autoconfig and the provider table, step by step, with proposed settings. */
  address: channel(z.object({ address: EmailAddress }).strict(), DetectResult),
} as const;

/** OAuth 2.0 channels. */
export const oauth = {
  settingsGet: channel(z.object({}).strict(), OAuthSettings),
  /** Saves the app registration. Mailboxes signed in with another registration must sign in again. */
  settingsSave: channel(OAuthSettingsInput, OAuthSettings),
  /** Checks the values (format, and online: does the tenant exist) without saving them. */
  settingsValidate: channel(OAuthSettingsInput, OAuthSettingsValidation),
  /** Starts a sign-in: returns the URL to open. The desktop app opens it itself when `openBrowser` is set. */
  beginSignIn: channel(BeginSignInInput, SignInStatus),
  signInStatus: channel(z.object({ signInId: SignInId }).strict(), SignInStatus),
  cancelSignIn: channel(z.object({ signInId: SignInId }).strict(), SignInStatus),
  /** The sign-in state of every mailbox that uses OAuth 2.0: what the Mailboxes list shows as "Sign-in needed". */
  states: channel(z.object({}).strict(), z.array(MailboxSignIn)),
  /** Account, scopes, expiry, last refresh, last error of one mailbox. */
  health: channel(z.object({ mailboxId: MailboxId }).strict(), TokenHealth),
  /** Gets a token now (refreshing when needed) and reports the health: never returns the token. */
  checkToken: channel(z.object({ mailboxId: MailboxId, forceRefresh: z.boolean().optional() }).strict(), TokenHealth),
  /** Forgets the tokens of a mailbox. Its settings and queued mail are kept. */
  logout: channel(z.object({ mailboxId: MailboxId }).strict(), TokenHealth),
  /** The organisation's app-only registration (client credentials): never its secret, key or password. */
  appSettingsGet: channel(z.object({}).strict(), OAuthAppSettings),
  /** Saves it: the secret or certificate is write-only (absent keeps the stored one); waiting app-only mail is released. */
  appSettingsSave: channel(OAuthAppSettingsInput, OAuthAppSettings),
  /**
   * The token doctor: gets a token, reads its claims (never the token), tries a real
   * IMAP and SMTP sign-in with it, and names what is wrong as { code, summary, hint }.
   */
  doctor: channel(TokenDoctorInput, TokenDoctorReport),
} as const;

/** Payload of `oauth.signInFinished`. */
export const SignInFinishedEvent = eventChannel(SignInStatus);
/** Payload of `oauth.changed`: a mailbox's token health changed (sign-in, refresh, failure, logout). */
export const OAuthChangedEvent = eventChannel(z.object({ mailboxId: z.number().int() }));
