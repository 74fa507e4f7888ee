/**
 * The pure parts of autodetect: the Thunderbird autoconfig parser and the
 * built-in provider table. No network.
 */
import { describe, expect, it } from 'vitest';
import { AutoconfigParseError, parseAutoconfig } from '../../src-main/engine/autodetect/autoconfig';
import { isMicrosoftMx, providerByDomain, providerByMx } from '../../src-main/engine/autodetect/providers';

const CONFIG = `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.test">
    <domain>example.test</domain>
    <displayName>Example &amp; Co Mail</displayName>
    <incomingServer type="pop3">
      <hostname>pop.example.test</hostname><port>995</port><socketType>SSL</socketType>
      <authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username>
    </incomingServer>
    <incomingServer type="imap">
      <hostname>imap.%EMAILDOMAIN%</hostname><port>993</port><socketType>SSL</socketType>
      <authentication>password-cleartext</authentication><username>%EMAILLOCALPART%</username>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>smtp.example.test</hostname><port>587</port><socketType>STARTTLS</socketType>
      <authentication>OAuth2</authentication><authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </outgoingServer>
  </emailProvider>
</clientConfig>`;

describe('autoconfig parser', () => {
  it('reads servers, security, sign-in and fills the placeholders', () => {
    const config = parseAutoconfig(CONFIG, 'help@example.test');
    expect(config.displayName).toBe('Example & Co Mail');
    expect(config.incoming).toEqual([
      { protocol: 'pop3', host: 'pop.example.test', port: 995, security: 'tls', auth: 'password', username: 'help@example.test' },
      { protocol: 'imap', host: 'imap.example.test', port: 993, security: 'tls', auth: 'password', username: 'help' },
    ]);
    expect(config.outgoing).toEqual([{ protocol: 'smtp', host: 'smtp.example.test', port: 587, security: 'starttls', auth: 'oauth2', username: 'help@example.test' }]);
  });

  it('refuses malformed XML with the line', () => {
    expect(() => parseAutoconfig('<clientConfig><emailProvider>', 'a@b.test')).toThrow(AutoconfigParseError);
    expect(() => parseAutoconfig('<clientConfig><emailProvider>', 'a@b.test')).toThrow(/line 1/);
  });

  it('refuses XML that is not a clientConfig', () => {
    expect(() => parseAutoconfig('<html><body>Not found</body></html>', 'a@b.test')).toThrow(/no <clientConfig>/);
  });

  it('refuses a file without a usable server', () => {
    const xml = '<clientConfig version="1.1"><emailProvider id="x"><incomingServer type="imap"><hostname>imap.x.test</hostname><port>99999</port><socketType>SSL</socketType></incomingServer></emailProvider></clientConfig>';
    expect(() => parseAutoconfig(xml, 'a@x.test')).toThrow(/no usable/);
  });

  it('does not expand entities declared in a DOCTYPE', () => {
    const xml = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>
<clientConfig version="1.1"><emailProvider id="x"><displayName>&lol2;</displayName><incomingServer type="imap"><hostname>imap.x.test</hostname><port>993</port><socketType>SSL</socketType></incomingServer></emailProvider></clientConfig>`;
    const config = parseAutoconfig(xml, 'a@x.test');
    expect(config.displayName).toBe('&lol2;');
  });
});

describe('provider table', () => {
  it('knows Microsoft 365 MX hosts, old and new', () => {
    expect(isMicrosoftMx('contoso-com.mail.protection.outlook.com.')).toBe(true);
    expect(isMicrosoftMx('contoso-com.o-v1.mx.microsoft')).toBe(true);
    expect(isMicrosoftMx('mx1.contoso.com')).toBe(false);
    expect(isMicrosoftMx('outlook.com.evil.test')).toBe(false);
  });

  it('finds providers by domain and by MX', () => {
    expect(providerByDomain('contoso.onmicrosoft.com')?.preset).toBe('microsoft365');
    expect(providerByDomain('gmail.com')?.preset).toBe('gmail');
    expect(providerByDomain('example.test')).toBeUndefined();
    expect(providerByMx(['aspmx.l.google.com'])?.id).toBe('google');
    expect(providerByMx(['in1-smtp.messagingengine.com'])?.id).toBe('fastmail');
  });
});
