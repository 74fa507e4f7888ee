/**
 * The mark a round-trip probe carries: `X-Mailroom-Probe: mrp1.<nonce>.<mac>`,
 * where the mac is an HMAC-SHA256 of the nonce under a random key kept in
 * this data folder's store. The importer recognises a probe by the header
 * alone (it may see the probe before the probe's sender recorded it: another
 * process, a crash in between), and only a mark made with this folder's key
 * counts: a customer's message that happens to carry the header is imported
 * like any other (identity is not a header).
 */
import crypto from 'node:crypto';
import type { Db } from '../../store/db.js';
import { PROBE_HEADER } from '../../shared/health.js';

const KEY_SETTING = 'probes.key';
const TOKEN_PATTERN = /^mrp1\.([0-9a-f]{32})\.([0-9a-f]{32})$/;
/** The header section is read up to this many bytes: a probe's headers are short. */
const HEADER_SCAN_BYTES = 64 * 1024;

export class ProbeMarker {
  private key: Buffer | undefined;

  constructor(private readonly db: Db) {}

  /** The folder's probe key, made once (the first process to need it wins; the others read it). */
  private keyOf(): Buffer {
    if (this.key) return this.key;
    this.db.prepare('INSERT INTO app_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING').run(KEY_SETTING, JSON.stringify(crypto.randomBytes(32).toString('hex')));
    const stored = JSON.parse(this.db.prepare('SELECT value FROM app_settings WHERE key = ?').pluck().get(KEY_SETTING) as string) as string;
    this.key = Buffer.from(stored, 'hex');
    return this.key;
  }

  private mac(nonce: string): string {
    return crypto.createHmac('sha256', this.keyOf()).update(`probe:${nonce}`).digest('hex').slice(0, 32);
  }

  /** A new probe token. */
  newToken(): string {
    const nonce = crypto.randomBytes(16).toString('hex');
    return `mrp1.${nonce}.${this.mac(nonce)}`;
  }

  /** True when the token was made with this folder's key. */
  recognises(token: string): boolean {
    const m = TOKEN_PATTERN.exec(token.trim());
    if (!m) return false;
    const expected = Buffer.from(this.mac(m[1]!), 'utf8');
    const given = Buffer.from(m[2]!, 'utf8');
    return expected.length === given.length && crypto.timingSafeEqual(expected, given);
  }

  /** The probe token of a raw message made by this folder, or null when it is not one of its probes. */
  probeTokenOf(raw: Buffer): string | null {
    const token = probeHeaderValue(raw);
    return token !== null && this.recognises(token) ? token : null;
  }
}

/** The value of the X-Mailroom-Probe header in a raw message's header section, or null. */
export function probeHeaderValue(raw: Buffer): string | null {
  const head = raw.subarray(0, HEADER_SCAN_BYTES).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const section = end >= 0 ? head.slice(0, end) : head;
  const name = PROBE_HEADER.toLowerCase();
  // Unfold continuation lines, then look for the field at the start of a line.
  for (const line of section.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name) return line.slice(colon + 1).trim();
  }
  return null;
}
