/**
 * Whole numbers with thousands separators, "1234567" -> "1,234,567", as
 * `toLocaleString('en-US')` writes them at a hundredth of its cost (ICU is
 * slow when called once per imported message).
 */
export function groupDigits(n: number): string {
  if (!Number.isSafeInteger(n)) return String(n);
  const digits = String(Math.abs(n));
  let out = '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? `-${out}` : out;
}
