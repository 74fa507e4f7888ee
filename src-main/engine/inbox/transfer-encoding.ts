/**
 * A MIME part's body under its Content-Transfer-Encoding, for the parser
 * worker's fast path (`parser-worker.ts`): decoded as mailparser's own
 * decoder streams decode it, or only counted where the import keeps nothing
 * but the size (an attachment's). Pure functions, tested on their own
 * (`test/unit/transfer-encoding.test.ts`).
 */
import libbase64 from 'libbase64';
import libqp from 'libqp';

/**
 * libbase64's Decoder stream, on the whole body at once (it strips what is
 * not base64, decodes up to the last padding as segments, then whole
 * quartets, then the rest).
 */
export function decodeBase64(body: Buffer): Buffer {
  const { decode } = libbase64;
  let b64 = body.toString('latin1');
  if (/[^a-zA-Z0-9+/=]/.test(b64)) b64 = b64.replace(/[^a-zA-Z0-9+/=]/g, '');
  let padded = '';
  const lastPad = b64.lastIndexOf('=');
  if (lastPad >= 0) {
    padded = b64.slice(0, lastPad + 1);
    b64 = b64.slice(lastPad + 1);
  }
  let rest = '';
  if (b64.length < 4) {
    rest = b64;
    b64 = '';
  } else if (b64.length % 4) {
    rest = b64.slice(-(b64.length % 4));
    b64 = b64.slice(0, b64.length - rest.length);
  }
  b64 = padded + b64;
  if (!rest) return b64 ? decode(b64) : Buffer.alloc(0);
  return b64 ? Buffer.concat([decode(b64), decode(rest)]) : decode(rest);
}

/** The body decoded by its transfer encoding (base64, quoted-printable; anything else as it is). */
export function decodeTransferEncoding(encoding: string | false | undefined, body: Buffer): Buffer {
  if (encoding === 'base64') return decodeBase64(body);
  if (encoding === 'quoted-printable') return libqp.decode(body.toString('latin1'));
  return body;
}

/** 1 for the 64 base64 characters, by byte. */
const BASE64_CHARACTER = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') BASE64_CHARACTER[c.charCodeAt(0)] = 1;
const EQUALS = 0x3d;
const CR = 0x0d;
const LF = 0x0a;
/** Bytes that the last 0 to 3 characters of an unpadded body decode to. */
const TAIL_BYTES = [0, 0, 1, 2];

/**
 * The length `decodeBase64` gives for this body, counted without decoding
 * it, when the body has the plain shape nearly every attachment has: lines
 * of base64 characters, with padding ("=" or "==") only at its very end.
 * Anything else (other bytes, padding inside, too much padding) gives null:
 * the caller decodes, and the decoder decides.
 */
export function base64DecodedSize(chunks: readonly Uint8Array[]): number | null {
  let characters = 0;
  let padding = 0;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (c === LF || c === CR) continue;
      if (c === EQUALS) {
        padding++;
        continue;
      }
      // A character after padding: segments the decoder reads one by one.
      if (padding || !BASE64_CHARACTER[c]) return null;
      characters++;
    }
  }
  if (padding === 0) return Math.floor(characters / 4) * 3 + TAIL_BYTES[characters % 4]!;
  if (padding > 2 || (characters + padding) % 4 !== 0) return null;
  return ((characters + padding) / 4) * 3 - padding;
}
