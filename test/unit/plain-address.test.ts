/**
 * The parser worker's shortcut for plain address headers against mailparser's
 * own parseAddressHeader: wherever the shortcut answers, it gives the same
 * addresses, over the plain shapes and thousands of seeded near-plain ones
 * (quotes, comments, several addresses, groups, encoded words, 8-bit text,
 * punycode, odd spacing); where it cannot be sure, it answers null.
 */
import { parseAddressHeader } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { plainAddressHeader } from '../../src-main/engine/inbox/plain-address';
import { seededRandom } from '../fixtures/malformed/generate';

const reference = (text: string) => parseAddressHeader(text).value;

describe('plainAddressHeader', () => {
  it('answers for the plain shapes, as mailparser does', () => {
    for (const text of [
      'Customer 12 <customer12@example.test>',
      'Support <support@example.test>',
      "Ann O'Neil <ann.oneil@mail.example.co.uk>",
      'J.R. Smith-Jones <jr_smith+tickets@sub.example.org>',
      'support@example.test',
      '<support@example.test>',
      'ALL CAPS <UPPER.Case@Example.COM>',
      'x <a@b-c.de>',
    ]) {
      const fast = plainAddressHeader(text);
      expect(fast, text).not.toBeNull();
      expect(fast!.value, text).toEqual(reference(text));
    }
  });

  it('leaves everything else to mailparser', () => {
    for (const text of [
      '"Smith, Ann" <ann@example.test>',
      'Ann (work) <ann@example.test>',
      'ann@example.test, bob@example.test',
      'Team: ann@example.test, bob@example.test;',
      '=?UTF-8?Q?Ren=C3=A9e?= <renee@example.test>',
      'Renée <renee@example.test>',
      'Ann <ann@xn--mnchen-3ya.de>',
      'Ann  Two  Spaces <ann@example.test>',
      ' Ann <ann@example.test>',
      'Ann <ann@example>',
      'Ann <ann@[192.0.2.1]>',
      'Ann <ann@example.test',
      'Ann ann@example.test',
      '',
      'undisclosed-recipients:;',
    ]) {
      expect(plainAddressHeader(text), text).toBeNull();
    }
  });

  it('never disagrees with mailparser on 20,000 seeded headers of near-plain shapes', () => {
    const random = seededRandom(20261203);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const nameParts = ['Ann', 'O\'Neil', 'J.R.', 'Smith-Jones', 'x_y', '12', 'Ä', '"Q"', '(c)', 'a,b', '=?utf-8?q?x?=', ' ', '', '.', '-', 'Team:', ';', '\\', 'é'];
    const locals = ['ann', 'a.b', 'a..b', '.a', 'a.', 'a+b', 'a_b', 'a%b', 'a-b', 'A', '"a b"', 'a@b', '', 'é', '=?utf-8?b?YQ==?='];
    const domains = ['example.test', 'mail.example.co.uk', 'example', 'xn--mnchen-3ya.de', 'a.xn--p1ai', '-a.test', 'a-.test', 'a.b-c.d', '[192.0.2.1]', 'EXAMPLE.COM', 'ex_ample.test', 'a..b', 'a.b.'];
    let answered = 0;
    for (let n = 0; n < 20_000; n++) {
      const words = Array.from({ length: Math.floor(random() * 3) }, () => pick(nameParts));
      const name = words.join(pick([' ', ' ', ' ', '  ', '']));
      const address = `${pick(locals)}@${pick(domains)}`;
      const form = random();
      let text =
        form < 0.5 ? `${name} <${address}>` : form < 0.65 ? `<${address}>` : form < 0.8 ? address : form < 0.9 ? `${name} <${address}>, ${address}` : `${name} ${address}`;
      if (random() < 0.05) text = ` ${text}`;
      if (random() < 0.05) text = `${text} `;
      const fast = plainAddressHeader(text);
      if (fast === null) continue;
      answered++;
      expect(fast.value, JSON.stringify(text)).toEqual(reference(text));
    }
    // The shortcut must take a good share of them, or the test proves little.
    expect(answered).toBeGreaterThan(800);
  });
});
