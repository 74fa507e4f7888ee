/**
 * App-only access on a mailbox (a shared mailbox signs in as the
 * organisation's app registration): its state and the client secret's
 * expiry warning, and the "App-only set-up" dialog: the registration
 * (tenant, client id, a client secret or a certificate, write-only), then
 * the guided steps (application permissions, admin consent) and Microsoft's
 * Exchange Online PowerShell commands filled in with the tenant's own
 * values, each with a Copy button.
 */
import {
  Button,
  Caption1,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Field,
  Input,
  MessageBar,
  MessageBarBody,
  MessageBarTitle,
  Radio,
  RadioGroup,
  Subtitle2,
  makeStyles,
  tokens,
} from '@fluentui/react-components';
import { KeyRegular } from '@fluentui/react-icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { Mailbox } from '../../../src-main/shared/mailbox.js';
import { appOnlySetupSteps, type AppCredentialKind, type OAuthAppSettings, type OAuthAppSettingsInput } from '../../../src-main/shared/oauth-app.js';
import { api } from '../../api/client';
import { CopyButton } from '../../components/CopyButton';
import { ErrorBar } from '../../components/ErrorBar';
import { ChangeButton } from '../../components/read-only';
import { StatusBadge } from '../../components/StatusBadge';

const useStyles = makeStyles({
  panel: { display: 'flex', flexDirection: 'column', gap: '8px', borderTop: `1px solid ${tokens.colorNeutralStroke2}`, paddingTop: '12px' },
  row: { display: 'flex', gap: '8px', alignItems: 'center', flexWrap: 'wrap' },
  dl: { display: 'grid', gridTemplateColumns: '110px 1fr', gap: '4px 8px', margin: 0 },
  dt: { color: tokens.colorNeutralForeground3 },
  dd: { margin: 0, overflowWrap: 'anywhere' },
  surface: { maxWidth: '1040px', width: '100%' },
  content: { display: 'grid', gridTemplateColumns: 'minmax(0, 5fr) minmax(0, 7fr)', gap: '24px', maxHeight: '72vh', overflowY: 'auto' },
  form: { display: 'flex', flexDirection: 'column', gap: '10px' },
  steps: { display: 'flex', flexDirection: 'column', gap: '10px', margin: 0, padding: 0, listStyle: 'none' },
  step: { display: 'flex', flexDirection: 'column', gap: '4px' },
  command: { display: 'grid', gridTemplateColumns: 'minmax(0, 1fr) auto', gap: '4px', alignItems: 'start' },
  code: {
    fontFamily: tokens.fontFamilyMonospace,
    fontSize: tokens.fontSizeBase200,
    backgroundColor: tokens.colorNeutralBackground3,
    padding: '6px 8px',
    borderRadius: tokens.borderRadiusMedium,
    margin: 0,
    whiteSpace: 'pre-wrap',
    overflowWrap: 'anywhere',
  },
  muted: { color: tokens.colorNeutralForeground3 },
});

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The state of app-only access in words and a badge. */
function lookOf(app: OAuthAppSettings | undefined) {
  if (!app?.configured) return { kind: 'warning' as const, label: 'Not set up' };
  if (app.credentialRequired) return { kind: 'error' as const, label: 'Credential refused' };
  const what = app.secretExpiry?.credential === 'certificate' ? 'Certificate' : 'Secret';
  if (app.secretExpiry?.state === 'expired') return { kind: 'error' as const, label: `${what} expired` };
  if (app.secretExpiry?.state === 'soon') return { kind: 'warning' as const, label: `${what} expires soon` };
  return { kind: 'success' as const, label: 'Ready' };
}

/** The app-only part of a mailbox's detail panel. */
export function AppOnlyPanel({ mailbox }: { mailbox: Mailbox }) {
  const s = useStyles();
  const app = useQuery({ queryKey: ['oauth.appSettings'], queryFn: () => api.oauth.appSettingsGet({}) });
  const [open, setOpen] = useState(false);
  const look = lookOf(app.data);
  const expiry = app.data?.secretExpiry;
  return (
    <section className={s.panel} aria-label="Microsoft 365 app-only access">
      <div className={s.row}>
        <Subtitle2>Microsoft 365 app-only</Subtitle2>
        <StatusBadge kind={look.kind} label={look.label} />
      </div>
      {expiry && expiry.state !== 'ok' && (
        <MessageBar intent={expiry.state === 'expired' ? 'error' : 'warning'}>
          <MessageBarBody>
            <MessageBarTitle>{`${expiry.credential === 'certificate' ? 'Certificate' : 'Client secret'} ${expiry.state === 'expired' ? 'expired' : `expires in ${expiry.daysLeft} day${expiry.daysLeft === 1 ? '' : 's'}`}`}</MessageBarTitle>
            {expiry.message}
          </MessageBarBody>
        </MessageBar>
      )}
      {app.data?.lastError && (
        <MessageBar intent={app.data.credentialRequired ? 'error' : 'warning'}>
          <MessageBarBody>
            <MessageBarTitle>{app.data.lastError.code}</MessageBarTitle>
            {app.data.lastError.message} {app.data.lastError.hint}
          </MessageBarBody>
        </MessageBar>
      )}
      {app.data?.configured ? (
        <dl className={s.dl}>
          <dt className={s.dt}>Signs in as</dt>
          <dd className={s.dd}>app {app.data.clientId}</dd>
          <dt className={s.dt}>XOAUTH2 user</dt>
          <dd className={s.dd}>{mailbox.address}</dd>
          <dt className={s.dt}>Credential</dt>
          <dd className={s.dd}>
            {app.data.credential === 'secret'
              ? `Client secret${expiry ? `, expires ${day(expiry.expiresAt)}` : ' (expiry unknown)'}`
              : `Certificate ${app.data.certificate?.thumbprintSha1 ?? ''}${app.data.certificate ? `, valid until ${day(app.data.certificate.notAfter)}` : ''}`}
          </dd>
        </dl>
      ) : (
        <Caption1 className={s.muted}>This mailbox signs in as your organisation's app registration. Enter it once, then grant the app this mailbox in Exchange Online.</Caption1>
      )}
      <div className={s.row}>
        <ChangeButton channel="oauth.appSettingsSave" icon={<KeyRegular />} onClick={() => setOpen(true)}>
          App-only set-up
        </ChangeButton>
      </div>
      {open && <AppOnlySetupDialog mailbox={mailbox} current={app.data} onClose={() => setOpen(false)} />}
    </section>
  );
}

/** The set-up dialog: the registration on the left, the guided steps with the filled-in commands on the right. */
export function AppOnlySetupDialog({ mailbox, current, onClose }: { mailbox: Mailbox; current: OAuthAppSettings | undefined; onClose: () => void }) {
  const s = useStyles();
  const queryClient = useQueryClient();
  const [tenant, setTenant] = useState(current?.tenant ?? '');
  const [clientId, setClientId] = useState(current?.clientId ?? '');
  const [objectId, setObjectId] = useState('');
  const [authorityHost, setAuthorityHost] = useState(current?.configured ? current.authorityHost : '');
  const [credential, setCredential] = useState<AppCredentialKind>(current?.credential ?? 'secret');
  const [secret, setSecret] = useState('');
  const [expires, setExpires] = useState(current?.secretExpiry ? day(current.secretExpiry.expiresAt) : '');
  const [file, setFile] = useState<{ name: string; pem?: string; pfxBase64?: string }>();
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const steps = appOnlySetupSteps({ tenant, clientId, enterpriseObjectId: objectId, mailbox: mailbox.address, displayName: `Mailroom ${mailbox.name}` });

  async function readFile(f: File | undefined) {
    if (!f) return setFile(undefined);
    const bytes = new Uint8Array(await f.arrayBuffer());
    const text = new TextDecoder().decode(bytes);
    if (text.includes('-----BEGIN')) setFile({ name: f.name, pem: text });
    else {
      let binary = '';
      for (const b of bytes) binary += String.fromCharCode(b);
      setFile({ name: f.name, pfxBase64: btoa(binary) });
    }
  }

  async function save(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const input: OAuthAppSettingsInput = {
        tenant,
        clientId,
        ...(authorityHost.trim() ? { authorityHost: authorityHost.trim() } : {}),
        credential,
        ...(credential === 'secret' && secret ? { clientSecret: secret } : {}),
        ...(credential === 'secret' ? { secretExpiresOn: expires || null } : {}),
        ...(credential === 'certificate' && file?.pem ? { certificatePem: file.pem } : {}),
        ...(credential === 'certificate' && file?.pfxBase64 ? { pfxBase64: file.pfxBase64, certificatePassword: password } : {}),
      };
      await api.oauth.appSettingsSave(input);
      // Write-only: the secret and the password leave the form once saved.
      setSecret('');
      setPassword('');
      setSaved(true);
      await queryClient.invalidateQueries({ queryKey: ['oauth.appSettings'] });
      await queryClient.invalidateQueries({ queryKey: ['oauth.states'] });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  const kept = current?.configured && current.credential === credential;
  return (
    <Dialog open modalType="modal" onOpenChange={(_e, d) => !d.open && onClose()}>
      <DialogSurface className={s.surface} aria-describedby={undefined}>
        <form onSubmit={save} noValidate>
          <DialogBody>
            <DialogTitle>App-only set-up: {mailbox.name}</DialogTitle>
            <DialogContent className={s.content}>
              <section className={s.form} aria-label="App-only registration">
                <Subtitle2>Your organisation's app registration</Subtitle2>
                <Field label="Directory (tenant) ID" required>
                  <Input name="tenant" value={tenant} onChange={(_e, d) => setTenant(d.value)} placeholder="contoso.onmicrosoft.com or its GUID" />
                </Field>
                <Field label="Application (client) ID" required>
                  <Input name="clientId" value={clientId} onChange={(_e, d) => setClientId(d.value)} placeholder="0b7c1a2d-…" />
                </Field>
                <Field label="Enterprise application Object ID" hint="Only for the commands on the right; Entra admin center > Enterprise applications > your app > Overview. Not the App registration's Object ID.">
                  <Input name="objectId" value={objectId} onChange={(_e, d) => setObjectId(d.value)} placeholder="from Enterprise applications" />
                </Field>
                <Field label="Sign-in host" hint="Only for a national cloud, e.g. https://login.microsoftonline.us.">
                  <Input name="authorityHost" value={authorityHost} onChange={(_e, d) => setAuthorityHost(d.value)} placeholder="https://login.microsoftonline.com" />
                </Field>
                <Field label="Signs in with">
                  <RadioGroup layout="horizontal" value={credential} onChange={(_e, d) => setCredential(d.value as AppCredentialKind)}>
                    <Radio value="secret" label="Client secret" />
                    <Radio value="certificate" label="Certificate" />
                  </RadioGroup>
                </Field>
                {credential === 'secret' ? (
                  <>
                    <Field label="Client secret (Value)" hint={kept ? 'A secret is stored (encrypted). Leave empty to keep it.' : 'The Value, not the Secret ID. Stored encrypted; never shown again.'}>
                      <Input name="clientSecret" type="password" autoComplete="off" value={secret} onChange={(_e, d) => setSecret(d.value)} />
                    </Field>
                    <Field label="Secret expires on" hint="From the secret's Expires column: Mailroom warns 30 days ahead.">
                      <Input name="secretExpires" type="date" value={expires} onChange={(_e, d) => setExpires(d.value)} />
                    </Field>
                  </>
                ) : (
                  <>
                    <Field label="Certificate with its private key (.pfx, .p12 or .pem)" hint={kept && current?.certificate ? `Stored: ${current.certificate.subject}. Choose a file only to replace it.` : 'Upload its public part (.cer) to the app registration too.'}>
                      <input name="certificateFile" type="file" accept=".pfx,.p12,.pem" aria-label="Certificate file" onChange={(e) => void readFile(e.target.files?.[0])} />
                    </Field>
                    {file?.pfxBase64 !== undefined && (
                      <Field label="PFX password" hint="Used once to read the file; never stored.">
                        <Input name="certificatePassword" type="password" autoComplete="off" value={password} onChange={(_e, d) => setPassword(d.value)} />
                      </Field>
                    )}
                  </>
                )}
                {saved && (
                  <MessageBar intent="success">
                    <MessageBarBody>Saved. App-only mailboxes sign in with it now; mail that waited for it is sent.</MessageBarBody>
                  </MessageBar>
                )}
                <ErrorBar error={error} />
              </section>
              <section aria-label="Guided steps">
                <Subtitle2>Then, in Entra and Exchange Online</Subtitle2>
                <ol className={s.steps}>
                  {steps.map((step) => (
                    <li key={step.id} className={s.step}>
                      <b>{step.title}</b>
                      <Caption1>{step.text}</Caption1>
                      {step.command && (
                        <div className={s.command}>
                          <pre className={s.code} data-step={step.id}>
                            {step.command}
                          </pre>
                          <CopyButton text={step.command} label={`Copy: ${step.title.replace(/^\d+\.\s*/, '')}`} />
                        </div>
                      )}
                    </li>
                  ))}
                </ol>
              </section>
            </DialogContent>
            <DialogActions>
              <Button appearance="secondary" onClick={onClose} disabled={busy}>
                Close
              </Button>
              <Button appearance="primary" type="submit" disabled={busy}>
                {busy ? 'Saving…' : 'Save registration'}
              </Button>
            </DialogActions>
          </DialogBody>
        </form>
      </DialogSurface>
    </Dialog>
  );
}
