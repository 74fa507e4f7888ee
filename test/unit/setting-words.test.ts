/**
 * Setting words (issue 13, item 16): texts name a setting by the label the
 * admin sees on screen ("SSL/TLS"), and the CLI prints them with the values
 * it takes ("tls"). The turn from one to the other is exact and touches only
 * the texts made from setting tokens, never data.
 */
import { describe, expect, it } from 'vitest';
import { renderWords, toCliWords, withCliWords } from '../../src-main/shared/setting-words';

describe('setting words', () => {
  it('renders tokens with the screen labels, and the CLI gets its values back', () => {
    const screen = renderWords('Set security to {sec:tls} for port 993, or {sec:starttls} with 587; never {sec:none}. Sign-in {auth:password} or {auth:xoauth2}; {m365OAuth}; allow {moreTime}.');
    expect(screen).toBe(
      'Set security to "SSL/TLS" for port 993, or "STARTTLS" with 587; never "None (plain text)". Sign-in "Password" or "OAuth 2.0"; Provider "Microsoft 365", sign-in "Microsoft 365 OAuth 2.0"; allow a longer timeout (Outbox > Retry settings > Timeout).',
    );
    expect(toCliWords(screen)).toBe('Set security to "tls" for port 993, or "starttls" with 587; never "none". Sign-in "password" or "xoauth2"; --preset microsoft365 --auth oauth2; allow a larger --timeout-ms.');
    expect(renderWords('{sec:tls} {unknown} {host}', 'cli')).toBe('"tls" {unknown} {host}');
  });

  it('turns only hints, summaries and details in JSON output, never data such as a subject', () => {
    const value = { diagnosis: { hint: 'Use security "SSL/TLS".', summary: 'Port 587 (security "STARTTLS").' }, steps: [{ detail: 'not used: security "None (plain text)"' }], subject: 'Re: "Password" reset', list: ['"STARTTLS"'] };
    expect(withCliWords(value)).toEqual({
      diagnosis: { hint: 'Use security "tls".', summary: 'Port 587 (security "starttls").' },
      steps: [{ detail: 'not used: security "none"' }],
      subject: 'Re: "Password" reset',
      list: ['"STARTTLS"'],
    });
  });
});
