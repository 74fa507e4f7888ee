/**
 * The app-registration guide and settings form: walks the admin through
 * registering a public client in Entra, then checks the tenant and client id
 * (format, and online: does the tenant exist) before saving them.
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
  Link,
  Select,
  Subtitle2,
  makeStyles,
  tokens,
} from '@fluentui/react-components';
import { CopyRegular } from '@fluentui/react-icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState, type FormEvent } from 'react';
import { DEFAULT_AUTHORITY_HOST, OAuthSettingsInput, type OAuthSettingsValidation, type RedirectHost } from '../../../src-main/shared/oauth.js';
import { toFieldIssues } from '../../../src-main/shared/validation.js';
import { api } from '../../api/client';
import { ErrorBar } from '../../components/ErrorBar';
import { StatusBadge } from '../../components/StatusBadge';

const useStyles = makeStyles({
  surface: { maxWidth: '820px', width: '100%' },
  content: { display: 'grid', gridTemplateColumns: 'minmax(0, 1fr) minmax(0, 1fr)', gap: '20px', maxHeight: '70vh', overflowY: 'auto' },
  guide: { display: 'flex', flexDirection: 'column', gap: '6px', fontSize: tokens.fontSizeBase300 },
  steps: { margin: 0, paddingLeft: '20px', display: 'flex', flexDirection: 'column', gap: '6px' },
  form: { display: 'flex', flexDirection: 'column', gap: '12px' },
  code: { fontFamily: tokens.fontFamilyMonospace, backgroundColor: tokens.colorNeutralBackground3, padding: '0 4px', borderRadius: tokens.borderRadiusSmall },
  checks: { display: 'flex', flexDirection: 'column', gap: '6px' },
  // Each check's badge in a column of its own, so badges line up and never run into the text.
  check: { display: 'grid', gridTemplateColumns: 'minmax(0, 120px) minmax(0, 1fr)', gap: '8px', alignItems: 'start' },
  muted: { color: tokens.colorNeutralForeground3 },
});

const FIELD_LABEL: Record<string, string> = { tenant: 'Tenant', clientId: 'Client id', authorityHost: 'Authority', redirectHost: 'Redirect host' };

/** The app-registration guide, on its own (also shown in the README). */
export function AppRegistrationGuide({ redirectHost }: { redirectHost: RedirectHost }) {
  const s = useStyles();
  const copy = (text: string) => void navigator.clipboard?.writeText(text);
  return (
    <section className={s.guide} aria-label="App registration guide">
      <Subtitle2>Register Mailroom in your tenant (once)</Subtitle2>
      <ol className={s.steps}>
        <li>
          In the Microsoft Entra admin center open <b>App registrations &gt; New registration</b>. Name it (for example “Mailroom”), choose <b>Accounts in this organizational directory only</b>.
        </li>
        <li>
          Under <b>Redirect URI</b> pick <b>Public client/native (mobile &amp; desktop)</b> and enter <span className={s.code}>http://{redirectHost}</span>{' '}
          <Button size="small" appearance="transparent" icon={<CopyRegular />} aria-label="Copy the redirect URI" onClick={() => copy(`http://${redirectHost}`)} />. Entra ignores the port of loopback redirects, so Mailroom can use a free port each time.
        </li>
        <li>
          Under <b>Authentication</b>, set <b>Allow public client flows</b> to <b>Yes</b>. Mailroom is a desktop app and keeps no client secret.
        </li>
        <li>
          Under <b>API permissions &gt; Add a permission &gt; APIs my organization uses</b>, choose <b>Office 365 Exchange Online</b> &gt; Delegated: <b>IMAP.AccessAsUser.All</b> and <b>SMTP.Send</b>. Keep <b>offline_access</b>, openid and profile (Microsoft Graph).
        </li>
        <li>
          Select <b>Grant admin consent</b> for your organisation, so mailbox users are not asked one by one.
        </li>
        <li>
          From the <b>Overview</b> page copy the <b>Directory (tenant) ID</b> and the <b>Application (client) ID</b> into this form.
        </li>
        <li>
          In the Microsoft 365 admin center make sure <b>Authenticated SMTP</b> and <b>IMAP</b> are on for the help-desk mailbox (Users &gt; Mail &gt; Manage email apps).
        </li>
      </ol>
      <Caption1 className={s.muted}>Mailroom ships no client id of its own: the registration is yours, and you can revoke it at any time.</Caption1>
    </section>
  );
}

export interface OAuthSettingsDialogProps {
  open: boolean;
  onClose(saved: boolean): void;
}

/** The settings dialog: guide on the left, form and checks on the right. */
export function OAuthSettingsDialog({ open, onClose }: OAuthSettingsDialogProps) {
  const s = useStyles();
  const queryClient = useQueryClient();
  const current = useQuery({ queryKey: ['oauth.settings'], queryFn: () => api.oauth.settingsGet({}), enabled: open });
  const [values, setValues] = useState<{ tenant?: string; clientId?: string; authorityHost?: string; redirectHost?: RedirectHost }>({});
  const [validation, setValidation] = useState<OAuthSettingsValidation>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState<'check' | 'save'>();
  const [submitted, setSubmitted] = useState(false);

  const form = {
    tenant: values.tenant ?? current.data?.tenant ?? '',
    clientId: values.clientId ?? current.data?.clientId ?? '',
    authorityHost: values.authorityHost ?? current.data?.authorityHost ?? DEFAULT_AUTHORITY_HOST,
    redirectHost: values.redirectHost ?? current.data?.redirectHost ?? 'localhost',
  };
  const fieldErrors = useMemo(() => {
    const parsed = OAuthSettingsInput.safeParse(form);
    const out: Record<string, string> = {};
    if (!parsed.success) for (const i of toFieldIssues(parsed.error)) out[i.path] ??= i.message.charAt(0).toUpperCase() + i.message.slice(1) + '.';
    return out;
  }, [form.tenant, form.clientId, form.authorityHost, form.redirectHost]);
  const set = (key: keyof typeof values, value: string) => {
    setValues((v) => ({ ...v, [key]: value }));
    setValidation(undefined);
  };

  const check = async () => {
    setSubmitted(true);
    setError(undefined);
    if (Object.keys(fieldErrors).length) return undefined;
    setBusy('check');
    try {
      const result = await api.oauth.settingsValidate(form);
      setValidation(result);
      return result;
    } catch (e) {
      setError(e);
      return undefined;
    } finally {
      setBusy(undefined);
    }
  };

  const save = async (event: FormEvent) => {
    event.preventDefault();
    const result = validation ?? (await check());
    if (!result?.valid) return;
    setBusy('save');
    try {
      await api.oauth.settingsSave(form);
      await queryClient.invalidateQueries({ queryKey: ['oauth.settings'] });
      await queryClient.invalidateQueries({ queryKey: ['oauth.health'] });
      onClose(true);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(undefined);
    }
  };

  const err = (key: string) => (submitted || (values as Record<string, unknown>)[key] !== undefined ? fieldErrors[key] : undefined);

  return (
    <Dialog open={open} modalType="modal" onOpenChange={(_e, d) => !d.open && onClose(false)}>
      <DialogSurface className={s.surface} aria-describedby={undefined}>
        <form onSubmit={save} noValidate>
          <DialogBody>
            <DialogTitle>Microsoft 365 sign-in: app registration</DialogTitle>
            <DialogContent className={s.content}>
              <AppRegistrationGuide redirectHost={form.redirectHost} />
              <section className={s.form} aria-label="App registration settings">
                <Field label="Directory (tenant) ID" required validationMessage={err('tenant')} hint="A GUID, or a domain such as contoso.onmicrosoft.com">
                  <Input name="tenant" value={form.tenant} placeholder="00000000-0000-0000-0000-000000000000" onChange={(_e, d) => set('tenant', d.value)} />
                </Field>
                <Field label="Application (client) ID" required validationMessage={err('clientId')}>
                  <Input name="clientId" value={form.clientId} placeholder="00000000-0000-0000-0000-000000000000" onChange={(_e, d) => set('clientId', d.value)} />
                </Field>
                <Field label="Authority (cloud)" validationMessage={err('authorityHost')} hint="Change only for a national cloud, e.g. https://login.microsoftonline.us">
                  <Input name="authorityHost" value={form.authorityHost} onChange={(_e, d) => set('authorityHost', d.value)} />
                </Field>
                <Field label="Redirect URI host" hint="Must match the redirect URI you registered: http://localhost (usual) or http://127.0.0.1">
                  <Select name="redirectHost" value={form.redirectHost} onChange={(_e, d) => set('redirectHost', d.value)}>
                    <option value="localhost">localhost</option>
                    <option value="127.0.0.1">127.0.0.1</option>
                  </Select>
                </Field>
                {validation && (
                  <div className={s.checks} role="status" aria-label="Checks">
                    {validation.checks.map((c, i) => (
                      <div key={i} className={s.check}>
                        <StatusBadge kind={c.status} label={FIELD_LABEL[c.field] ?? c.field} />
                        <span>{c.message}</span>
                      </div>
                    ))}
                  </div>
                )}
                <ErrorBar error={error} />
                <Caption1 className={s.muted}>
                  Changing the client id or tenant asks every signed-in mailbox to sign in again. <Link href="https://entra.microsoft.com" target="_blank" rel="noreferrer">Open the Entra admin center</Link>
                </Caption1>
              </section>
            </DialogContent>
            <DialogActions>
              <Button onClick={() => onClose(false)} disabled={Boolean(busy)}>
                Cancel
              </Button>
              <Button onClick={() => void check()} disabled={Boolean(busy)}>
                {busy === 'check' ? 'Checking…' : 'Check values'}
              </Button>
              <Button appearance="primary" type="submit" disabled={Boolean(busy) || (validation !== undefined && !validation.valid)}>
                {busy === 'save' ? 'Saving…' : 'Save'}
              </Button>
            </DialogActions>
          </DialogBody>
        </form>
      </DialogSurface>
    </Dialog>
  );
}
