/**
 * The last line of defence before data leaves the computer: every stored
 * secret, in every encoding a bug might have produced, is replaced wherever
 * it appears in the collected text.
 */

const MIN_SECRET_LENGTH = 6;

/** Keys of a token cache whose values are secrets, whatever they look like. */
const SECRET_KEY = /^(secret|access_?token|refresh_?token|id_?token|password|client_?secret|assertion)$/i;

/**
 * Facts a token cache also holds that are no secret and that the bundle shows
 * on purpose: an account's address, a host or URL, a tenant or account id
 * (GUIDs, redacted as identifiers instead). Scrubbing them turned a
 * mailbox's address into "[REDACTED]".
 */
function isPlainFact(value: string): boolean {
  return (
    /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value) ||
    /^[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?$/.test(value) ||
    // A URL without a query (an authority, a scope such as https://outlook.office.com/IMAP.AccessAsUser.All).
    /^https?:\/\/[a-z0-9.-]+(:\d+)?(\/[\w.~\/-]*)?$/i.test(value) ||
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$/i.test(value) ||
    /^\d+$/.test(value)
  );
}

/**
 * Strings inside a secret worth scrubbing too: the values of a JSON token
 * cache (access, refresh and id tokens); not the address, hosts and ids it
 * also holds.
 */
export function secretFragments(secret: string): string[] {
  const out = new Set<string>([secret]);
  try {
    const walk = (v: unknown, key: string): void => {
      if (typeof v === 'string') {
        if (SECRET_KEY.test(key) ? v.length >= MIN_SECRET_LENGTH : v.length >= 16 && !isPlainFact(v)) out.add(v);
      } else if (Array.isArray(v)) v.forEach((x) => walk(x, key));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
    };
    walk(JSON.parse(secret), '');
  } catch {
    // Not JSON: the secret itself is the fragment.
  }
  return [...out].filter((s) => s.length >= MIN_SECRET_LENGTH);
}

/** The encodings a secret could leak in: as is, JSON-escaped, base64, base64url, hex, URL-encoded. */
export function encodings(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  return [
    secret,
    JSON.stringify(secret).slice(1, -1),
    bytes.toString('base64'),
    bytes.toString('base64').replace(/=+$/, ''),
    bytes.toString('base64url'),
    bytes.toString('hex'),
    encodeURIComponent(secret),
  ].filter((e, i, all) => e.length >= MIN_SECRET_LENGTH && all.indexOf(e) === i);
}

/** Replaces every encoding of every secret in `text`; returns the text and how many replacements were made. */
export function scrubText(text: string, secrets: string[]): { text: string; count: number } {
  let count = 0;
  let out = text;
  const needles = secrets.flatMap(secretFragments).flatMap(encodings).sort((a, b) => b.length - a.length);
  for (const needle of needles) {
    if (!out.includes(needle)) continue;
    const parts = out.split(needle);
    count += parts.length - 1;
    out = parts.join('[REDACTED]');
  }
  return { text: out, count };
}

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const IS_GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * An identifier that is not a secret but names the organisation's tenant or
 * app registration (a GUID): its first and last four characters, enough to
 * compare with the Entra admin center, not enough to reuse.
 */
export function redactIdentifier(value: string): string {
  return value.replace(GUID, (g) => `${g.slice(0, 4)}...${g.slice(-4)}`);
}

/** Replaces each identifier (tenant id, client id) wherever it appears in `text` with its redacted form. */
export function redactIdentifiers(text: string, identifiers: string[]): string {
  let out = text;
  for (const id of identifiers.filter((i) => IS_GUID.test(i))) {
    for (const form of new Set([id, id.toLowerCase(), id.toUpperCase()])) if (out.includes(form)) out = out.split(form).join(redactIdentifier(id.toLowerCase()));
  }
  return out;
}
