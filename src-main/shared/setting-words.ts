/**
 * The words for settings in the texts Mailroom shows (diagnosis summaries
 * and hints): on screen, the labels the admin sees in the forms ("SSL/TLS");
 * on the command line, the values the admin types (`tls`). Texts are written
 * once, with tokens such as `{sec:tls}`, and the engine renders them for the
 * screen: that is what is stored, logged and bundled. The CLI turns the
 * screen's phrases back into its own values when it prints (`toCliWords`);
 * every screen phrase is quoted or otherwise unmistakable, so that turn is
 * exact. Imports nothing from node or electron.
 */
import type { SecurityMode } from './mailbox.js';

/** Where a text is read. */
export type Surface = 'screen' | 'cli';

/** Short labels of the security modes, as lists and cards show them. */
export const SECURITY_LABELS: Record<SecurityMode, string> = { tls: 'SSL/TLS', starttls: 'STARTTLS', none: 'None (plain text)' };

/** The texts of the security choices in the forms. */
export const SECURITY_OPTIONS: Record<SecurityMode, string> = { tls: 'SSL/TLS (implicit)', starttls: 'STARTTLS', none: 'None (plain text)' };

/** Each token and its phrase per surface. */
const PHRASES = {
  'sec:tls': { screen: `"${SECURITY_LABELS.tls}"`, cli: '"tls"' },
  'sec:starttls': { screen: `"${SECURITY_LABELS.starttls}"`, cli: '"starttls"' },
  'sec:none': { screen: `"${SECURITY_LABELS.none}"`, cli: '"none"' },
  'auth:password': { screen: '"Password"', cli: '"password"' },
  'auth:xoauth2': { screen: '"OAuth 2.0"', cli: '"xoauth2"' },
  m365OAuth: { screen: 'Provider "Microsoft 365", sign-in "Microsoft 365 OAuth 2.0"', cli: '--preset microsoft365 --auth oauth2' },
  moreTime: { screen: 'a longer timeout (Outbox > Retry settings > Timeout)', cli: 'a larger --timeout-ms' },
  threeConnections: { screen: 'Outbox > Retry settings > Connections: 3', cli: 'mailroom outbox settings <mailbox> --connections 3' },
} as const satisfies Record<string, Record<Surface, string>>;

/** A token of a setting text. */
export type WordToken = keyof typeof PHRASES;

/** The token of a security mode (`{sec:tls}` and so on). */
export function securityToken(mode: SecurityMode): WordToken {
  return `sec:${mode}`;
}

/** The phrase of a token on a surface. */
export function phrase(token: WordToken, surface: Surface): string {
  return PHRASES[token][surface];
}

/** Replaces the `{token}`s of a text with their phrases for a surface; other braces are left alone. */
export function renderWords(text: string, surface: Surface = 'screen'): string {
  return text.replace(/\{([a-zA-Z0-9]+(?::[a-z0-9]+)?)\}/g, (whole, key: string) => (Object.hasOwn(PHRASES, key) ? PHRASES[key as WordToken][surface] : whole));
}

/** Turns a text rendered for the screen into the CLI's words (exact: only whole screen phrases are replaced). */
export function toCliWords(text: string): string {
  let out = text;
  // Longest first, so a phrase that contains another is replaced whole.
  for (const entry of Object.values(PHRASES).sort((a, b) => b.screen.length - a.screen.length)) out = out.split(entry.screen).join(entry.cli);
  return out;
}

/** The fields that carry texts rendered from setting tokens (diagnoses, errors). */
const WORDED_FIELDS = new Set(['hint', 'summary', 'detail']);

/**
 * Applies `toCliWords` to the hints and summaries anywhere in a JSON-like
 * value (for `--json` output). Other strings (subjects, names, replies) are
 * data and stay exactly as they are.
 */
export function withCliWords<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => withCliWords(v)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, WORDED_FIELDS.has(k) && typeof v === 'string' ? toCliWords(v) : withCliWords(v)])) as T;
  }
  return value;
}
