/**
 * An attachment's size counted without decoding it (the parser worker's
 * shortcut) against the decoder itself: wherever the count answers, it is the
 * decoded length, over well-formed bodies and seeded random ones; where it
 * cannot be sure, it says so (null) and the decoder decides.
 */
import { describe, expect, it } from 'vitest';
import { base64DecodedSize, decodeBase64 } from '../../src-main/engine/inbox/transfer-encoding';
import { seededRandom } from '../fixtures/malformed/generate';

/** A body as mail composers write it: base64 in lines of 76, CRLF after each. */
function wrapped(bytes: Buffer, lineEnd = '\r\n', width = 76): Buffer {
  const b64 = bytes.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += width) lines.push(b64.slice(i, i + width));
  return Buffer.from(lines.join(lineEnd) + (lines.length ? lineEnd : ''), 'latin1');
}

/** Splits a body into chunks at random places, as the splitter may hand it over. */
function chunked(body: Buffer, random: () => number): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  while (at < body.length) {
    const next = Math.min(body.length, at + 1 + Math.floor(random() * 200));
    chunks.push(body.subarray(at, next));
    at = next;
  }
  return chunks;
}

describe('base64DecodedSize', () => {
  it('counts every well-formed body exactly: each length from 0 to 600 bytes, CRLF or LF lines, in one chunk or many', () => {
    const random = seededRandom(17);
    for (let length = 0; length <= 600; length++) {
      const bytes = Buffer.from(Array.from({ length }, () => Math.floor(random() * 256)));
      for (const body of [wrapped(bytes), wrapped(bytes, '\n', 64), wrapped(bytes, '\r\n', 4)]) {
        expect(base64DecodedSize([body])).toBe(length);
        expect(base64DecodedSize(chunked(body, random))).toBe(length);
        expect(decodeBase64(body).length).toBe(length);
      }
    }
  });

  it('counts unpadded bodies as the decoder reads them (a last lone character decodes to nothing)', () => {
    for (const [text, size] of [
      ['QUJD', 3],
      ['QUJDRA', 4],
      ['QUJDREU', 5],
      ['QUJDREVG\r\nR', 6],
      ['', 0],
      ['\r\n', 0],
    ] as const) {
      const body = Buffer.from(text, 'latin1');
      expect(base64DecodedSize([body])).toBe(size);
      expect(decodeBase64(body).length).toBe(size);
    }
  });

  it('answers null, and leaves it to the decoder, for bodies of any other shape', () => {
    for (const text of ['QQ==QUJD', 'QUJD\r\n-- \r\n', 'QU JD', 'QUJD\tRA==', 'Q===', 'QUJ==', 'QUJD\u00e9']) {
      expect(base64DecodedSize([Buffer.from(text, 'latin1')])).toBeNull();
    }
  });

  it('never disagrees with the decoder on 5,000 seeded random bodies (base64 characters, padding, line ends, spaces, other bytes)', () => {
    const random = seededRandom(4711);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    let answered = 0;
    for (let n = 0; n < 5_000; n++) {
      const length = Math.floor(random() * 120);
      const bytes: number[] = [];
      for (let i = 0; i < length; i++) {
        const r = random();
        if (r < 0.85) bytes.push(alphabet.charCodeAt(Math.floor(random() * 64)));
        else if (r < 0.9) bytes.push(0x0d, 0x0a);
        else if (r < 0.93) bytes.push(0x0a);
        else if (r < 0.96) bytes.push(0x3d);
        else if (r < 0.98) bytes.push(0x20);
        else bytes.push(Math.floor(random() * 256));
      }
      // Half of them end in proper padding, the way real bodies do.
      if (random() < 0.5) {
        const quartet = bytes.filter((b) => alphabet.includes(String.fromCharCode(b))).length % 4;
        if (quartet === 2) bytes.push(0x3d, 0x3d);
        if (quartet === 3) bytes.push(0x3d);
      }
      const body = Buffer.from(bytes);
      const size = base64DecodedSize(chunked(body, random));
      if (size === null) continue;
      answered++;
      expect(size, JSON.stringify(body.toString('latin1'))).toBe(decodeBase64(body).length);
    }
    // The count must answer for a good share of them, or the test proves nothing.
    expect(answered).toBeGreaterThan(500);
  });
});
