/**
 * The new-mailbox form's presets (issue 13, item 6): switching the preset
 * replaces what the previous preset or detection filled in, never what the
 * admin typed, and an unrecognised provider clears Microsoft 365's servers.
 */
import { describe, expect, it } from 'vitest';
import { PRESET_FIELDS, fillAll, presetServerFields, proposalServerFields, refill, typedInto, type PresetField } from '../../src-renderer/features/mailboxes/preset-fill';

const start = () => ({ values: { name: 'Support', address: 'support@example.test', ...presetServerFields('generic') }, filled: new Set<PresetField>(PRESET_FIELDS) });

describe('preset fill of the new-mailbox form', () => {
  it('fills every server field from the preset chosen, and clears them again on a switch to Other', () => {
    const m365 = refill(start().values, start().filled, presetServerFields('microsoft365'));
    expect(m365.values).toMatchObject({ imapHost: 'outlook.office365.com', imapPort: '993', smtpHost: 'smtp.office365.com', smtpPort: '587', smtpSecurity: 'starttls', imapAuth: 'oauth2' });
    const other = refill(m365.values, m365.filled, presetServerFields('generic'));
    expect(other.values).toMatchObject({ imapHost: '', smtpHost: '', imapPort: '993', smtpPort: '465', imapAuth: 'password', smtpAuth: 'password' });
  });

  it('keeps what the admin typed through any number of preset switches', () => {
    let state = refill(start().values, start().filled, presetServerFields('microsoft365'));
    state = { values: { ...state.values, smtpHost: 'relay.example.test', imapUsername: 'upn@example.test' }, filled: typedInto(typedInto(state.filled, 'smtpHost'), 'imapUsername') };
    state = refill(state.values, state.filled, presetServerFields('gmail'));
    expect(state.values).toMatchObject({ imapHost: 'imap.gmail.com', smtpHost: 'relay.example.test', imapUsername: 'upn@example.test', smtpPort: '465' });
    state = refill(state.values, state.filled, presetServerFields('generic'));
    expect(state.values).toMatchObject({ imapHost: '', smtpHost: 'relay.example.test', imapUsername: 'upn@example.test' });
  });

  it('follows detection: an unrecognised provider takes back the servers a recognised one filled in', () => {
    const recognised = proposalServerFields({ preset: 'microsoft365', providerLabel: 'Microsoft 365', imap: null, smtp: null, source: 'provider-table' }, 'a@contoso.onmicrosoft.com');
    let state = refill(start().values, start().filled, recognised);
    expect(state.values.imapHost).toBe('outlook.office365.com');
    const unknown = proposalServerFields({ preset: 'generic', providerLabel: 'Unknown', imap: null, smtp: null, source: null }, 'a@unknown.example');
    state = refill(state.values, state.filled, unknown);
    expect(state.values).toMatchObject({ imapHost: '', smtpHost: '' });
  });

  it('takes a detected sign-in name only when it differs from the address', () => {
    const proposal = {
      preset: 'generic' as const,
      providerLabel: 'Example Mail',
      imap: { host: 'imap.example.test', port: 143, security: 'starttls' as const, auth: 'password' as const, username: 'Support@Example.test' },
      smtp: { host: 'smtp.example.test', port: 587, security: 'starttls' as const, auth: 'password' as const, username: 'desk-upn@example.test' },
      source: 'autoconfig' as const,
    };
    const fields = proposalServerFields(proposal as never, 'support@example.test');
    expect(fields).toMatchObject({ imapHost: 'imap.example.test', imapPort: '143', imapUsername: '', smtpUsername: 'desk-upn@example.test' });
  });

  it('puts every proposed value in place when the admin asks for exactly those settings', () => {
    const typed = { ...start().values, imapHost: 'typed.example.test' };
    const all = fillAll(typed, presetServerFields('gmail'));
    expect(all.values.imapHost).toBe('imap.gmail.com');
    expect([...all.filled].sort()).toEqual([...PRESET_FIELDS].sort());
  });

  it('fills the POP3 fields from a detected POP3 server, and from the preset when detection proposes none', () => {
    const detected = proposalServerFields(
      {
        preset: 'generic',
        providerLabel: 'Example Hosting',
        imap: null,
        smtp: null,
        pop3: { host: 'pop.example.test', port: 110, security: 'starttls', auth: 'password', username: 'help' },
        source: 'autoconfig',
      },
      'help@example.test',
    );
    expect(detected).toMatchObject({ pop3Host: 'pop.example.test', pop3Port: '110', pop3Security: 'starttls', pop3Auth: 'password', pop3Username: 'help' });
    expect(presetServerFields('microsoft365')).toMatchObject({ pop3Host: 'outlook.office365.com', pop3Port: '995', pop3Security: 'tls', pop3Auth: 'oauth2' });
    expect(presetServerFields('generic')).toMatchObject({ pop3Host: '', pop3Port: '995' });
  });
});
