/**
 * The parser worker's shortcut for the address headers nearly all mail
 * carries: one address, `Name <local@domain>`, `<local@domain>` or
 * `local@domain`, in plain ASCII. For those, mailparser's parseAddressHeader
 * (nodemailer's addressparser, then decoding of encoded words and of
 * punycode domains) always gives the same one entry, and spends a sixth of
 * the worker's time getting there: a customer's address is new to the
 * worker's memory of headers it has seen. Anything else (a quote, a comment,
 * a comma, a group, an encoded word, 8-bit text, an internationalized
 * domain, more than one space in a row) gives null, and mailparser decides.
 * `test/unit/plain-address.test.ts` holds the shortcut to mailparser's result
 * over generated headers of every near-plain shape.
 */
import type { AddressObject } from 'mailparser';

/** The display name: words of letters, digits and . ' _ - separated by single spaces. */
const NAME = String.raw`[A-Za-z0-9][A-Za-z0-9.'_-]*(?: [A-Za-z0-9.'_-]+)*`;
/** The address: a dot-atom-ish local part and a domain of at least two labels. */
const ADDRESS = String.raw`[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+`;
const NAMED = new RegExp(`^(${NAME}) <(${ADDRESS})>$`);
const ANGLED = new RegExp(`^<(${ADDRESS})>$`);
const BARE = new RegExp(`^(${ADDRESS})$`);

/**
 * The header's one address as parseAddressHeader gives it, or null when
 * the header is not of the plain shape. Only `value` is filled: the import
 * reads nothing else of an address header (`toParsedMessage`).
 */
export function plainAddressHeader(text: string): AddressObject | null {
  if (text.length > 320) return null;
  let name = '';
  let address: string;
  const named = NAMED.exec(text);
  if (named) {
    name = named[1]!;
    address = named[2]!;
  } else {
    const bare = ANGLED.exec(text) ?? BARE.exec(text);
    if (!bare) return null;
    address = bare[1]!;
  }
  // An internationalized domain is decoded by mailparser: let it.
  if (/(^|[@.])xn--/i.test(address)) return null;
  return { value: [{ address, name }] } as unknown as AddressObject;
}
