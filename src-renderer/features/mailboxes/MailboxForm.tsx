/**
 * Create or edit a mailbox: presets, defaults per security mode, inline
 * validation with the engine's own schema, write-only password.
 */
import {
  Button,
  Checkbox,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Field,
  Input,
  Select,
  Switch,
  Radio,
  RadioGroup,
  Caption1,
  Subtitle2,
  makeStyles,
  tokens,
  MessageBar,
  MessageBarBody,
} from '@fluentui/react-components';
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import {
  DEFAULT_POLL_SECONDS,
  MailboxCreateInput,
  PRESETS,
  defaultPort,
  type Mailbox,
  type Pop3AfterImport,
  type PresetId,
  type ReceiveVia,
  type SecurityMode,
  type SendVia,
} from '../../../src-main/shared/mailbox.js';
import { toFieldIssues } from '../../../src-main/shared/validation.js';
import { ApiError } from '../../api/client';
import { ErrorBar } from '../../components/ErrorBar';
import { DetectPanel, useDetect } from '../oauth/DetectPanel';
import type { DetectProposal } from '../../../src-main/shared/oauth.js';
import { SECURITY_OPTIONS } from '../../../src-main/shared/setting-words.js';
import { PRESET_FIELDS, fillAll, presetServerFields, proposalServerFields, refill, typedInto, type PresetField } from './preset-fill';

const useStyles = makeStyles({
  surface: { maxWidth: '760px', width: '100%' },
  grid: { display: 'grid', gridTemplateColumns: '1fr 1fr', gap: '12px 16px' },
  grid3: { display: 'grid', gridTemplateColumns: '2fr 1fr 1fr', gap: '12px 16px' },
  section: { display: 'flex', flexDirection: 'column', gap: '10px', paddingTop: '8px' },
  sectionTitle: { borderBottom: `1px solid ${tokens.colorNeutralStroke2}`, paddingBottom: '4px' },
  content: { display: 'flex', flexDirection: 'column', gap: '12px', maxHeight: '68vh', overflowY: 'auto', paddingRight: '8px' },
  muted: { color: tokens.colorNeutralForeground3 },
});

/** The form's values: strings as typed, so a half-typed port is kept as is. */
export interface FormValues {
  name: string;
  address: string;
  preset: PresetId;
  enabled: boolean;
  imapHost: string;
  imapPort: string;
  imapSecurity: SecurityMode;
  imapUsername: string;
  imapAuth: 'password' | 'oauth2' | 'oauth2-app';
  imapFolder: string;
  afterImport: string;
  pollIntervalSeconds: string;
  smtpHost: string;
  smtpPort: string;
  smtpSecurity: SecurityMode;
  smtpUsername: string;
  smtpAuth: 'password' | 'oauth2' | 'oauth2-app' | 'none';
  /** Which server incoming mail is read from when not through Microsoft Graph: IMAP, or POP3 with the pop3* fields. */
  incoming: 'imap' | 'pop3';
  pop3Host: string;
  pop3Port: string;
  pop3Security: SecurityMode;
  pop3Username: string;
  pop3Auth: 'password' | 'oauth2' | 'oauth2-app';
  pop3AfterImport: Pop3AfterImport;
  password: string;
  clearPassword: boolean;
  /** SMTP signs in with the incoming password ("Same as incoming"). */
  smtpSamePassword: boolean;
  /** SMTP's own password as typed (write-only; empty keeps a stored one). */
  smtpPassword: string;
  /** Whether SMTP's own password is stored already (an empty field then keeps it). */
  smtpPasswordStored: boolean;
  /** Send through SMTP or Microsoft Graph. */
  sendVia: SendVia;
  /** Receive through Microsoft Graph (`graph`), else through the `incoming` server (IMAP or POP3). */
  receiveVia: ReceiveVia;
  /** Microsoft Graph keeps a copy of each sent message in Sent Items. */
  graphSaveToSentItems: boolean;
}

/** Maps the engine's field paths to the form's fields. */
const FIELD_OF_PATH: Record<string, keyof FormValues> = {
  name: 'name',
  address: 'address',
  preset: 'preset',
  password: 'password',
  smtpPassword: 'smtpPassword',
  'imap.host': 'imapHost',
  'imap.port': 'imapPort',
  'imap.security': 'imapSecurity',
  'imap.username': 'imapUsername',
  'imap.auth': 'imapAuth',
  'imap.folder': 'imapFolder',
  'imap.afterImport': 'afterImport',
  'imap.pollIntervalSeconds': 'pollIntervalSeconds',
  'smtp.host': 'smtpHost',
  'smtp.port': 'smtpPort',
  'smtp.security': 'smtpSecurity',
  'smtp.username': 'smtpUsername',
  'smtp.auth': 'smtpAuth',
  sendVia: 'sendVia',
  receiveVia: 'receiveVia',
  'graph.saveToSentItems': 'graphSaveToSentItems',
  'pop3.host': 'pop3Host',
  'pop3.port': 'pop3Port',
  'pop3.security': 'pop3Security',
  'pop3.username': 'pop3Username',
  'pop3.auth': 'pop3Auth',
  'pop3.afterImport': 'pop3AfterImport',
};

function presetValues(preset: PresetId, keep: Partial<FormValues>): FormValues {
  const p = PRESETS[preset];
  return {
    name: keep.name ?? '',
    address: keep.address ?? '',
    enabled: keep.enabled ?? true,
    preset,
    imapHost: p.imap?.host ?? keep.imapHost ?? '',
    imapSecurity: p.imap?.security ?? 'tls',
    imapPort: String(p.imap?.port ?? defaultPort('imap', 'tls')),
    imapUsername: keep.imapUsername ?? '',
    imapAuth: p.imap?.auth ?? 'password',
    imapFolder: keep.imapFolder ?? 'INBOX',
    afterImport: keep.afterImport ?? 'mark-seen',
    pollIntervalSeconds: keep.pollIntervalSeconds ?? String(DEFAULT_POLL_SECONDS),
    smtpHost: p.smtp?.host ?? keep.smtpHost ?? '',
    smtpSecurity: p.smtp?.security ?? 'tls',
    smtpPort: String(p.smtp?.port ?? defaultPort('smtp', 'tls')),
    smtpUsername: keep.smtpUsername ?? '',
    smtpAuth: p.smtp?.auth ?? 'password',
    incoming: keep.incoming ?? 'imap',
    pop3Host: p.pop3?.host ?? keep.pop3Host ?? '',
    pop3Security: p.pop3?.security ?? 'tls',
    pop3Port: String(p.pop3?.port ?? defaultPort('pop3', 'tls')),
    pop3Username: keep.pop3Username ?? '',
    pop3Auth: p.pop3?.auth ?? p.imap?.auth ?? 'password',
    pop3AfterImport: keep.pop3AfterImport ?? 'leave',
    password: '',
    clearPassword: false,
    smtpSamePassword: true,
    smtpPassword: '',
    smtpPasswordStored: false,
    sendVia: keep.sendVia ?? 'smtp',
    receiveVia: keep.receiveVia ?? 'imap',
    graphSaveToSentItems: keep.graphSaveToSentItems ?? true,
  };
}

function fromMailbox(m: Mailbox): FormValues {
  return {
    name: m.name,
    address: m.address,
    preset: m.preset,
    enabled: m.enabled,
    imapHost: m.imap.host,
    imapPort: String(m.imap.port),
    imapSecurity: m.imap.security,
    imapUsername: m.imap.username === m.address ? '' : m.imap.username,
    imapAuth: m.imap.auth,
    imapFolder: m.imap.folder,
    afterImport: m.imap.afterImport,
    pollIntervalSeconds: String(m.imap.pollIntervalSeconds),
    smtpHost: m.smtp.host,
    smtpPort: String(m.smtp.port),
    smtpSecurity: m.smtp.security,
    smtpUsername: m.smtp.username === m.address ? '' : m.smtp.username,
    smtpAuth: m.smtp.auth,
    incoming: m.receiveVia === 'pop3' ? 'pop3' : 'imap',
    pop3Host: m.pop3?.host ?? '',
    pop3Port: String(m.pop3?.port ?? defaultPort('pop3', 'tls')),
    pop3Security: m.pop3?.security ?? 'tls',
    pop3Username: m.pop3 && m.pop3.username !== m.address ? m.pop3.username : '',
    pop3Auth: m.pop3?.auth ?? m.imap.auth,
    pop3AfterImport: m.pop3?.afterImport ?? 'leave',
    password: '',
    clearPassword: false,
    smtpSamePassword: !m.smtpPasswordSet,
    smtpPassword: '',
    smtpPasswordStored: m.smtpPasswordSet,
    sendVia: m.sendVia,
    receiveVia: m.receiveVia,
    graphSaveToSentItems: m.graph.saveToSentItems,
  };
}

/** The engine input for the values: empty optional fields are left out. */
export function toInput(v: FormValues) {
  const opt = (s: string) => (s.trim() === '' ? undefined : s.trim());
  const pop3 = v.incoming === 'pop3';
  return {
    name: v.name,
    address: v.address,
    preset: v.preset,
    enabled: v.enabled,
    ...(pop3 || opt(v.pop3Host)
      ? {
          pop3: {
            host: opt(v.pop3Host),
            port: opt(v.pop3Port),
            security: v.pop3Security,
            username: opt(v.pop3Username),
            auth: v.pop3Auth,
            afterImport: v.pop3AfterImport,
          },
        }
      : {}),
    imap: {
      host: opt(v.imapHost),
      port: opt(v.imapPort),
      security: v.imapSecurity,
      username: opt(v.imapUsername),
      // One incoming sign-in: a POP3 mailbox signs in to IMAP (and to Microsoft 365) the way it does to POP3.
      auth: pop3 ? v.pop3Auth : v.imapAuth,
      folder: opt(v.imapFolder),
      afterImport: opt(v.afterImport),
      pollIntervalSeconds: opt(v.pollIntervalSeconds),
    },
    smtp: { host: opt(v.smtpHost), port: opt(v.smtpPort), security: v.smtpSecurity, username: opt(v.smtpUsername), auth: v.smtpAuth },
    sendVia: v.sendVia,
    // Graph, or the server chosen under Incoming (IMAP or POP3).
    receiveVia: (v.receiveVia === 'graph' ? 'graph' : v.incoming) as ReceiveVia,
    graph: { saveToSentItems: v.graphSaveToSentItems },
    ...(v.clearPassword ? { password: null } : v.password ? { password: v.password } : {}),
    // "Same as incoming" removes SMTP's own password; otherwise a typed one replaces it and an empty field keeps it.
    ...(v.smtpAuth !== 'password' ? {} : v.smtpSamePassword ? { smtpPassword: null } : v.smtpPassword ? { smtpPassword: v.smtpPassword } : {}),
  };
}

/** Field errors from client-side validation with the engine's schema. */
function validate(v: FormValues): Partial<Record<keyof FormValues, string>> {
  const errors: Partial<Record<keyof FormValues, string>> = {};
  const parsed = MailboxCreateInput.safeParse(JSON.parse(JSON.stringify(toInput(v))));
  if (!parsed.success) {
    for (const issue of toFieldIssues(parsed.error)) {
      const field = FIELD_OF_PATH[issue.path];
      if (field && !errors[field]) errors[field] = sentence(issue.message);
    }
  }
  if (v.incoming === 'imap' && !v.imapHost.trim()) errors.imapHost = 'Enter the IMAP server, such as imap.example.com.';
  if (v.incoming === 'pop3' && !v.pop3Host.trim()) errors.pop3Host = 'Enter the POP3 server, such as pop.example.com.';
  if (!v.smtpHost.trim()) errors.smtpHost = 'Enter the SMTP server, such as smtp.example.com.';
  // Microsoft Graph signs in with the mailbox's Microsoft 365 sign-in: a password side cannot use it (the engine says the same).
  const oauth = (auth: string) => auth === 'oauth2' || auth === 'oauth2-app';
  if (v.sendVia === 'graph' && !oauth(v.smtpAuth) && !errors.sendVia) errors.sendVia = 'Microsoft Graph needs a Microsoft 365 sign-in: choose Microsoft 365 OAuth 2.0 (or app-only) as the SMTP sign-in.';
  if (v.receiveVia === 'graph' && !oauth(v.imapAuth) && !errors.receiveVia) errors.receiveVia = 'Microsoft Graph needs a Microsoft 365 sign-in: choose Microsoft 365 OAuth 2.0 (or app-only) as the IMAP sign-in.';
  if (v.smtpAuth === 'password' && !v.smtpSamePassword && !v.smtpPassword && !v.smtpPasswordStored && !errors.smtpPassword) {
    errors.smtpPassword = 'Enter the SMTP password or app password, or tick "Same as incoming".';
  }
  return errors;
}

const sentence = (s: string) => s.charAt(0).toUpperCase() + s.slice(1) + (s.endsWith('.') ? '' : '.');

export interface MailboxFormProps {
  open: boolean;
  existing?: Mailbox;
  /** Opens the form with Microsoft 365 OAuth 2.0 chosen for the sides that sign in with a password (the readiness report's one-click way out). */
  switchToOAuth?: boolean;
  /** Opens the form with Microsoft 365 app-only access chosen on both sides (the readiness report's "Use app-only"). */
  switchToAppOnly?: boolean;
  /** Opens the form with Microsoft Graph chosen for sending or receiving (the readiness report's "Use Microsoft Graph"). */
  switchToGraph?: 'send' | 'receive';
  onCancel(): void;
  onSubmit(input: ReturnType<typeof toInput>): Promise<void>;
}

/** The fields of an existing mailbox that still hold its preset's values (a preset switch may replace them). */
function filledByPreset(m: Mailbox, values: FormValues): Set<PresetField> {
  const preset = presetServerFields(m.preset);
  return new Set(PRESET_FIELDS.filter((f) => values[f] === preset[f]));
}

/** The form's values with OAuth 2.0 chosen wherever a password was. */
function withOAuth(v: FormValues): FormValues {
  return { ...v, imapAuth: v.imapAuth === 'password' ? 'oauth2' : v.imapAuth, pop3Auth: v.pop3Auth === 'password' ? 'oauth2' : v.pop3Auth, smtpAuth: v.smtpAuth === 'password' ? 'oauth2' : v.smtpAuth };
}

/** The form's values with app-only access chosen on both sides (one mailbox never mixes a person's sign-in with app-only); a side that sends without a sign-in keeps it. */
function withAppOnly(v: FormValues): FormValues {
  return { ...v, imapAuth: 'oauth2-app', pop3Auth: 'oauth2-app', smtpAuth: v.smtpAuth === 'none' ? 'none' : 'oauth2-app' };
}

/** The form's values with Microsoft Graph chosen for one direction (its side signs in with OAuth 2.0 if it used a password). */
function withGraph(v: FormValues, direction: 'send' | 'receive'): FormValues {
  const oauth = withOAuth(v);
  return direction === 'send' ? { ...v, sendVia: 'graph', smtpAuth: oauth.smtpAuth } : { ...v, receiveVia: 'graph', imapAuth: oauth.imapAuth };
}

export function MailboxForm({ open, existing, switchToOAuth, switchToAppOnly, switchToGraph, onCancel, onSubmit }: MailboxFormProps) {
  const s = useStyles();
  // A new mailbox starts as Other, with no servers: the preset follows what detection finds for the address.
  const [values, setValues] = useState<FormValues>(() =>
    existing
      ? switchToGraph
        ? withGraph(fromMailbox(existing), switchToGraph)
        : switchToAppOnly
          ? withAppOnly(fromMailbox(existing))
          : switchToOAuth
            ? withOAuth(fromMailbox(existing))
            : fromMailbox(existing)
      : presetValues('generic', {}),
  );
  const [filled, setFilled] = useState<Set<PresetField>>(() => (existing ? filledByPreset(existing, fromMailbox(existing)) : new Set(PRESET_FIELDS)));
  const [presetChosen, setPresetChosen] = useState(Boolean(existing));
  const [touched, setTouched] = useState<Partial<Record<keyof FormValues, boolean>>>({});
  const [serverErrors, setServerErrors] = useState<Partial<Record<keyof FormValues, string>>>({});
  const [submitError, setSubmitError] = useState<unknown>();
  const [submitted, setSubmitted] = useState(false);
  const [busy, setBusy] = useState(false);
  const clientErrors = useMemo(() => validate(values), [values]);

  const set = <K extends keyof FormValues>(key: K, value: FormValues[K]) => {
    setValues((v) => ({ ...v, [key]: value }));
    setFilled((f) => typedInto(f, key));
    setServerErrors((e) => ({ ...e, [key]: undefined }));
  };
  const errorOf = (key: keyof FormValues) => serverErrors[key] ?? (touched[key] || submitted ? clientErrors[key] : undefined);
  const blur = (key: keyof FormValues) => () => setTouched((t) => ({ ...t, [key]: true }));

  /** Switches the preset: what the previous preset (or detection) filled is replaced, what the admin typed stays. */
  const switchPreset = (preset: PresetId, servers = presetServerFields(preset)) => {
    const next = refill({ ...values, preset }, filled, servers);
    setValues(next.values);
    setFilled(next.filled);
  };
  const changePreset = (preset: PresetId) => {
    setPresetChosen(true);
    switchPreset(preset);
  };
  // New mailboxes: detect the provider from the address; until the admin picks a preset, the preset follows detection.
  const detected = useDetect(values.address, !existing);
  useEffect(() => {
    if (!detected.result || presetChosen) return;
    switchPreset(detected.result.proposal.preset, proposalServerFields(detected.result.proposal, values.address));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [detected.result]);
  // "Use these settings": the admin asked for exactly what detection proposes.
  const applyProposal = (p: DetectProposal) => {
    setPresetChosen(true);
    const next = fillAll({ ...values, preset: p.preset }, proposalServerFields(p, values.address));
    setValues(next.values);
    setFilled(next.filled);
  };
  const changeSecurity = (protocol: 'imap' | 'pop3' | 'smtp', security: SecurityMode) => {
    const portKey = `${protocol}Port` as const;
    const securityKey = `${protocol}Security` as const;
    setFilled((f) => typedInto(f, securityKey));
    setValues((v) => {
      const old = v[securityKey];
      // A port left at the old default follows the security mode.
      const port = v[portKey] === '' || v[portKey] === String(defaultPort(protocol, old)) ? String(defaultPort(protocol, security)) : v[portKey];
      return { ...v, [securityKey]: security, [portKey]: port };
    });
  };

  const incomingAuth = values.incoming === 'pop3' ? values.pop3Auth : values.imapAuth;
  const usesPassword = incomingAuth === 'password' || values.smtpAuth === 'password';

  async function submit(event: FormEvent) {
    event.preventDefault();
    setSubmitted(true);
    setSubmitError(undefined);
    if (Object.keys(clientErrors).length) return;
    setBusy(true);
    try {
      await onSubmit(toInput(values));
    } catch (error) {
      if (error instanceof ApiError && error.issues?.length) {
        const mapped: Partial<Record<keyof FormValues, string>> = {};
        for (const issue of error.issues) {
          const field = FIELD_OF_PATH[issue.path];
          if (field) mapped[field] = sentence(issue.message);
        }
        setServerErrors(mapped);
      }
      setSubmitError(error);
    } finally {
      setBusy(false);
    }
  }

  const text = (key: keyof FormValues, label: string, props: { placeholder?: string; hint?: string; type?: 'text' | 'password' | 'number' | 'email'; required?: boolean } = {}) => (
    <Field label={label} required={props.required} validationMessage={errorOf(key)} hint={props.hint}>
      <Input
        name={key}
        type={props.type ?? 'text'}
        value={String(values[key])}
        placeholder={props.placeholder}
        onChange={(_e, d) => set(key, d.value as never)}
        onBlur={blur(key)}
        autoComplete="off"
      />
    </Field>
  );

  const securitySelect = (protocol: 'imap' | 'pop3' | 'smtp') => (
    <Field label="Security">
      <Select
        name={`${protocol}Security`}
        value={values[`${protocol}Security`]}
        onChange={(_e, d) => changeSecurity(protocol, d.value as SecurityMode)}
      >
        <option value="tls">{SECURITY_OPTIONS.tls}</option>
        <option value="starttls">{SECURITY_OPTIONS.starttls}</option>
        <option value="none">{SECURITY_OPTIONS.none}</option>
      </Select>
    </Field>
  );

  return (
    <Dialog open={open} modalType="modal" onOpenChange={(_e, d) => !d.open && onCancel()}>
      <DialogSurface className={s.surface} aria-describedby={undefined}>
        <form onSubmit={submit} noValidate>
          <DialogBody>
            <DialogTitle>{existing ? `Edit mailbox ${existing.name}` : 'New mailbox'}</DialogTitle>
            <DialogContent className={s.content}>
              <div className={s.grid}>
                {text('name', 'Name', { placeholder: 'Support', required: true })}
                {text('address', 'Email address', { placeholder: 'support@example.com', type: 'email', required: true })}
                <Field label="Provider" hint={PRESETS[values.preset].description}>
                  <Select name="preset" value={values.preset} onChange={(_e, d) => changePreset(d.value as PresetId)}>
                    {Object.values(PRESETS).map((p) => (
                      <option key={p.id} value={p.id}>
                        {p.label}
                      </option>
                    ))}
                  </Select>
                </Field>
                <Field label="State">
                  <Switch checked={values.enabled} label={values.enabled ? 'Enabled' : 'Disabled'} onChange={(_e, d) => set('enabled', d.checked)} />
                </Field>
              </div>
              {!existing && <DetectPanel {...detected} onUse={applyProposal} />}

              {(values.preset === 'microsoft365' || values.sendVia === 'graph' || values.receiveVia === 'graph') && (
                <section className={s.section} aria-label="Microsoft Graph" data-testid="graph-transports">
                  <Subtitle2 className={s.sectionTitle}>Microsoft 365: how mail travels</Subtitle2>
                  {switchToGraph && (
                    <MessageBar intent="info" data-testid="switch-to-graph">
                      <MessageBarBody>
                        Microsoft Graph is chosen for {switchToGraph === 'send' ? 'sending' : 'receiving'}: it works where {switchToGraph === 'send' ? 'SMTP AUTH' : 'IMAP'} is turned off for the organisation or the mailbox. The app registration needs the Microsoft Graph permission {switchToGraph === 'send' ? 'Mail.Send' : 'Mail.ReadWrite'} with admin consent; then sign in again.
                      </MessageBarBody>
                    </MessageBar>
                  )}
                  <div className={s.grid}>
                    <Field label="Send through" validationMessage={errorOf('sendVia')} hint="Microsoft Graph sends with sendMail where SMTP AUTH is off.">
                      <RadioGroup name="sendVia" layout="horizontal" value={values.sendVia} onChange={(_e, d) => set('sendVia', d.value as SendVia)} onBlur={blur('sendVia')}>
                        <Radio value="smtp" label="SMTP" />
                        <Radio value="graph" label="Microsoft Graph" />
                      </RadioGroup>
                    </Field>
                    <Field label="Receive through" validationMessage={errorOf('receiveVia')} hint="Microsoft Graph reads the folder where IMAP is off.">
                      <RadioGroup
                        name="receiveVia"
                        layout="horizontal"
                        value={values.receiveVia === 'graph' ? 'graph' : 'server'}
                        onChange={(_e, d) => set('receiveVia', d.value === 'graph' ? 'graph' : values.incoming)}
                        onBlur={blur('receiveVia')}
                      >
                        <Radio value="server" label={values.incoming === 'pop3' ? 'POP3' : 'IMAP'} />
                        <Radio value="graph" label="Microsoft Graph" />
                      </RadioGroup>
                    </Field>
                  </div>
                  {values.sendVia === 'graph' && (
                    <Checkbox
                      name="graphSaveToSentItems"
                      checked={values.graphSaveToSentItems}
                      label="Save sent mail to Sent Items"
                      onChange={(_e, d) => set('graphSaveToSentItems', Boolean(d.checked))}
                    />
                  )}
                  {(values.sendVia === 'graph' || values.receiveVia === 'graph') && (
                    <Caption1 className={s.muted}>
                      Graph signs in with the mailbox's Microsoft 365 sign-in below; the servers of the side that goes through Graph are kept but not used.
                    </Caption1>
                  )}
                </section>
              )}

              <section className={s.section} aria-label={`Incoming mail (${values.incoming === 'pop3' ? 'POP3' : 'IMAP'})`}>
                <Subtitle2 className={s.sectionTitle}>Incoming mail ({values.incoming === 'pop3' ? 'POP3' : 'IMAP'})</Subtitle2>
                {values.receiveVia === 'graph' ? (
                  <Caption1 className={s.muted}>This mailbox receives through Microsoft Graph; the IMAP settings below are kept for the connection test.</Caption1>
                ) : (
                  <Field label="Incoming">
                    <RadioGroup name="incoming" layout="horizontal" value={values.incoming} onChange={(_e, d) => set('incoming', d.value as FormValues['incoming'])}>
                      <Radio value="imap" label="IMAP" />
                      <Radio value="pop3" label="POP3" />
                    </RadioGroup>
                  </Field>
                )}
                {values.incoming === 'pop3' ? (
                  <>
                    <div className={s.grid3}>
                      {text('pop3Host', 'POP3 server', { placeholder: 'pop.example.com', required: true })}
                      {securitySelect('pop3')}
                      {text('pop3Port', 'POP3 port')}
                    </div>
                    <div className={s.grid}>
                      {text('pop3Username', 'POP3 user name', { placeholder: values.address || 'same as the address' })}
                      <Field label="POP3 sign-in">
                        <Select name="pop3Auth" value={values.pop3Auth} onChange={(_e, d) => set('pop3Auth', d.value as FormValues['pop3Auth'])}>
                          <option value="password">Password or app password</option>
                          <option value="oauth2">Microsoft 365 OAuth 2.0</option>
                          <option value="oauth2-app">{APP_ONLY_LABEL}</option>
                        </Select>
                      </Field>
                      <Field label="After import" hint="Delete only after the message is stored in Mailroom.">
                        <Select name="pop3AfterImport" value={values.pop3AfterImport} onChange={(_e, d) => set('pop3AfterImport', d.value as Pop3AfterImport)}>
                          <option value="leave">Leave on the server</option>
                          <option value="delete">Delete from the server</option>
                        </Select>
                      </Field>
                      {text('pollIntervalSeconds', 'Check every (seconds)', { hint: 'POP3 has no push: Mailroom polls.' })}
                    </div>
                  </>
                ) : (
                  <>
                    <div className={s.grid3}>
                      {text('imapHost', 'IMAP server', { placeholder: 'imap.example.com', required: true })}
                      {securitySelect('imap')}
                      {text('imapPort', 'IMAP port')}
                    </div>
                    <div className={s.grid}>
                      {text('imapUsername', 'IMAP user name', { placeholder: values.address || 'same as the address' })}
                      <Field label="IMAP sign-in">
                        <Select name="imapAuth" value={values.imapAuth} onChange={(_e, d) => set('imapAuth', d.value as FormValues['imapAuth'])}>
                          <option value="password">Password or app password</option>
                          <option value="oauth2">Microsoft 365 OAuth 2.0</option>
                          <option value="oauth2-app">{APP_ONLY_LABEL}</option>
                        </Select>
                      </Field>
                      {text('imapFolder', 'Folder')}
                      {text('afterImport', 'After import', { hint: 'mark-seen, delete, or move:<folder>' })}
                      {text('pollIntervalSeconds', 'Check every (seconds)')}
                    </div>
                  </>
                )}
              </section>

              <section className={s.section} aria-label="Outgoing mail (SMTP)">
                <Subtitle2 className={s.sectionTitle}>Outgoing mail (SMTP)</Subtitle2>
                <div className={s.grid3}>
                  {text('smtpHost', 'SMTP server', { placeholder: 'smtp.example.com', required: true })}
                  {securitySelect('smtp')}
                  {text('smtpPort', 'SMTP port')}
                </div>
                <div className={s.grid}>
                  {text('smtpUsername', 'SMTP user name', { placeholder: values.address || 'same as the address' })}
                  <Field label="SMTP sign-in">
                    <Select name="smtpAuth" value={values.smtpAuth} onChange={(_e, d) => set('smtpAuth', d.value as FormValues['smtpAuth'])}>
                      <option value="password">Password or app password</option>
                      <option value="oauth2">Microsoft 365 OAuth 2.0</option>
                      <option value="oauth2-app">{APP_ONLY_LABEL}</option>
                      <option value="none">None (relay without sign-in)</option>
                    </Select>
                  </Field>
                  {values.smtpAuth === 'password' && (
                    <Field label="SMTP password" hint={values.smtpSamePassword ? 'SMTP signs in with the incoming password.' : undefined}>
                      <Checkbox
                        name="smtpSamePassword"
                        checked={values.smtpSamePassword}
                        label="Same as incoming"
                        onChange={(_e, d) => set('smtpSamePassword', Boolean(d.checked))}
                      />
                    </Field>
                  )}
                  {values.smtpAuth === 'password' &&
                    !values.smtpSamePassword &&
                    text('smtpPassword', 'SMTP password or app password', {
                      type: 'password',
                      hint: values.smtpPasswordStored ? "SMTP's own password is stored (encrypted). Leave empty to keep it." : 'For another account or an app password for sending. Stored encrypted; never shown again.',
                    })}
                </div>
              </section>

              {usesPassword && (
                <section className={s.section} aria-label="Password">
                  <Subtitle2 className={s.sectionTitle}>Password</Subtitle2>
                  {text('password', 'Password or app password', {
                    type: 'password',
                    hint: existing?.passwordSet ? 'A password is stored (encrypted). Leave empty to keep it.' : 'Stored encrypted on this computer; never shown again.',
                  })}
                  {existing?.passwordSet && (
                    <Checkbox checked={values.clearPassword} label="Remove the stored password" onChange={(_e, d) => set('clearPassword', Boolean(d.checked))} />
                  )}
                </section>
              )}
              {(incomingAuth === 'oauth2-app' || values.smtpAuth === 'oauth2-app') && (
                <MessageBar intent="info" data-testid={switchToAppOnly ? 'switch-to-app-only' : undefined}>
                  <MessageBarBody>
                    {switchToAppOnly ? 'Microsoft 365 app-only access is chosen instead of the password. ' : ''}
                    The mailbox signs in as your organisation's app registration (no person signs in): right for a shared mailbox. After saving, open "App-only set-up" on the mailbox for the permissions and the Exchange Online commands.
                  </MessageBarBody>
                </MessageBar>
              )}
              {(incomingAuth === 'oauth2' || values.smtpAuth === 'oauth2') && (
                <MessageBar intent="info" data-testid={switchToOAuth ? 'switch-to-oauth' : undefined}>
                  <MessageBarBody>
                    {switchToOAuth
                      ? 'Microsoft 365 OAuth 2.0 is chosen instead of the password. Save, then use "Sign in with Microsoft" on the mailbox (for a shared mailbox: sign in as a person with Full Access and allow another account). Until then its mail waits for the sign-in.'
                      : 'Microsoft 365 mailboxes sign in with OAuth 2.0. After saving, use "Sign in with Microsoft" on the mailbox.'}
                  </MessageBarBody>
                </MessageBar>
              )}
              <Caption1 className={s.muted}>Tip: a sign-in name (UPN) can differ from the email address; enter it as the user name when it does.</Caption1>
              <ErrorBar error={submitError} />
            </DialogContent>
            <DialogActions>
              <Button appearance="secondary" onClick={onCancel} disabled={busy}>
                Cancel
              </Button>
              <Button appearance="primary" type="submit" disabled={busy}>
                {busy ? 'Saving…' : existing ? 'Save changes' : 'Create mailbox'}
              </Button>
            </DialogActions>
          </DialogBody>
        </form>
      </DialogSurface>
    </Dialog>
  );
}

/** The sign-in choice of app-only access, in the form and the mailbox detail. */
export const APP_ONLY_LABEL = 'Microsoft 365 app-only (shared mailbox)';
