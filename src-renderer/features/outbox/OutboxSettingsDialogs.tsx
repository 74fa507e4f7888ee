/**
 * Two dialogs of the Outbox screen: a mailbox's retry policy and connections,
 * and the local relay (on/off, port, sign-in rule, accounts). Values are
 * checked by the engine; its errors name the field.
 */
import {
  Body1,
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
  Select,
  Subtitle2,
  Switch,
  makeStyles,
  tokens,
} from '@fluentui/react-components';
import { DeleteRegular } from '@fluentui/react-icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { DEFAULT_OUTBOX_SETTINGS, type OutboxSettings, type RelayFromMode } from '../../../src-main/shared/outbox.js';

/** The From choice of a relay account, in the words of the dialog. */
const FROM_LABEL: Record<RelayFromMode, string> = { keep: "The application's own", mailbox: "The mailbox's (application's to Reply-To)" };
import { api, ApiError } from '../../api/client';
import { ErrorBar } from '../../components/ErrorBar';
import { StatusBadge } from '../../components/StatusBadge';
import { formatTime } from '../../components/format';

const useStyles = makeStyles({
  content: { display: 'flex', flexDirection: 'column', gap: '12px' },
  grid: { display: 'grid', gridTemplateColumns: '1fr 1fr', gap: '10px 12px' },
  schedule: { color: tokens.colorNeutralForeground3 },
  accounts: { width: '100%', borderCollapse: 'collapse', '& td, & th': { textAlign: 'left', padding: '4px 6px 4px 0', borderBottom: `1px solid ${tokens.colorNeutralStroke3}` } },
  add: { display: 'grid', gridTemplateColumns: '1fr 1fr', gap: '8px 12px', alignItems: 'end' },
  // The dialog's column scrolls; a warning keeps its full height instead of shrinking under its own text.
  warning: { flexShrink: 0 },
  wide: { maxWidth: 'min(760px, calc(100vw - 32px))' },
});

const issueFor = (error: unknown, field: string) => (error instanceof ApiError ? error.issues?.find((i) => i.path === field || i.path.startsWith(`${field}.`))?.message : undefined);

/** The nominal waits of a policy, for the admin to see what the numbers mean. */
function scheduleText(s: Pick<OutboxSettings, 'maxAttempts' | 'firstRetrySeconds' | 'retryFactor' | 'maxRetrySeconds'>): string {
  const waits: number[] = [];
  for (let a = 1; a < s.maxAttempts && a < 30; a++) waits.push(Math.min(s.maxRetrySeconds, s.firstRetrySeconds * Math.pow(s.retryFactor, a - 1)));
  const fmt = (sec: number) => (sec < 90 ? `${Math.round(sec)} s` : sec < 5400 ? `${Math.round(sec / 60)} min` : `${(sec / 3600).toFixed(1)} h`);
  const total = waits.reduce((a, b) => a + b, 0);
  return waits.length ? `Waits: ${waits.map(fmt).join(', ')}; the last try about ${fmt(total)} after the first.` : 'One try only.';
}

/** A mailbox's retry policy and connections. */
export function OutboxSettingsDialog({ onClose }: { onClose(): void }) {
  const s = useStyles();
  const queryClient = useQueryClient();
  const mailboxes = useQuery({ queryKey: ['mailboxes'], queryFn: () => api.mailboxes.list({}) });
  const [mailboxId, setMailboxId] = useState<string>('');
  const chosen = mailboxId || String(mailboxes.data?.[0]?.id ?? '');
  const current = useQuery({ queryKey: ['outbox', 'settings', chosen], queryFn: () => api.outbox.settings({ mailboxId: Number(chosen) }), enabled: Boolean(chosen) });
  const [draft, setDraft] = useState<Partial<Record<keyof OutboxSettings, string | boolean>>>({});
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const value = (k: keyof OutboxSettings) => (draft[k] !== undefined ? draft[k] : (current.data ?? DEFAULT_OUTBOX_SETTINGS)[k]);
  const set = (k: keyof OutboxSettings, v: string | boolean) => (setDraft((d) => ({ ...d, [k]: v })), setSaved(false));
  const numeric = (k: keyof OutboxSettings) => Number(value(k));
  const field = (k: keyof OutboxSettings, label: string, hint: string) => (
    <Field label={label} hint={hint} validationMessage={issueFor(error, k)}>
      <Input name={k} type="number" value={String(value(k))} onChange={(_e, d) => set(k, d.value)} />
    </Field>
  );

  async function save() {
    setError(undefined);
    try {
      const input: Record<string, unknown> = { mailboxId: Number(chosen) };
      for (const [k, v] of Object.entries(draft)) input[k] = v;
      await api.outbox.saveSettings(input as Parameters<typeof api.outbox.saveSettings>[0]);
      setDraft({});
      setSaved(true);
      void queryClient.invalidateQueries({ queryKey: ['outbox'] });
    } catch (e) {
      setError(e);
    }
  }

  return (
    <Dialog open onOpenChange={(_e, d) => !d.open && onClose()}>
      <DialogSurface>
        <DialogBody>
          <DialogTitle>Retry settings</DialogTitle>
          <DialogContent className={s.content}>
            <Field label="Mailbox">
              <Select name="mailbox" value={chosen} onChange={(_e, d) => (setMailboxId(d.value), setDraft({}), setSaved(false))}>
                {mailboxes.data?.map((m) => (
                  <option key={m.id} value={m.id}>
                    {m.name}
                  </option>
                ))}
              </Select>
            </Field>
            <div className={s.grid}>
              {field('maxAttempts', 'Tries', 'Before a message that keeps failing temporarily is failed.')}
              {field('firstRetrySeconds', 'First wait (seconds)', 'After the first temporary failure.')}
              {field('retryFactor', 'Growth of each wait', 'Each wait is this many times the one before.')}
              {field('maxRetrySeconds', 'Longest wait (seconds)', 'No wait is longer.')}
              {field('connections', 'Connections', 'Microsoft 365 allows 3 per mailbox.')}
              {field('messagesPerConnection', 'Messages per connection', 'Then the connection is replaced.')}
              {field('timeoutSeconds', 'Timeout (seconds)', 'Without an answer, a try is given up.')}
            </div>
            <Caption1 className={s.schedule}>
              {scheduleText({ maxAttempts: numeric('maxAttempts'), firstRetrySeconds: numeric('firstRetrySeconds'), retryFactor: numeric('retryFactor'), maxRetrySeconds: numeric('maxRetrySeconds') })}
            </Caption1>
            <Switch label="Keep the SMTP transcript of each message's last try (secrets redacted)" checked={Boolean(value('debug'))} onChange={(_e, d) => set('debug', d.checked)} />
            {saved && <StatusBadge kind="success" label="Saved" />}
            <ErrorBar error={error instanceof ApiError && error.issues?.length ? undefined : error} />
          </DialogContent>
          <DialogActions>
            <Button onClick={onClose}>Close</Button>
            <Button appearance="primary" disabled={!Object.keys(draft).length} onClick={() => void save()}>
              Save
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}

/** The local relay: on/off, port, sign-in rule, accounts. */
export function RelayDialog({ onClose }: { onClose(): void }) {
  const s = useStyles();
  const relay = useQuery({ queryKey: ['outbox', 'relay'], queryFn: () => api.outbox.relaySettings({}) });
  const mailboxes = useQuery({ queryKey: ['mailboxes'], queryFn: () => api.mailboxes.list({}) });
  const [port, setPort] = useState<string>();
  const [user, setUser] = useState('');
  const [mailboxId, setMailboxId] = useState('');
  const [password, setPassword] = useState('');
  const [fromMode, setFromMode] = useState<RelayFromMode>('keep');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  async function save(input: Parameters<typeof api.outbox.saveRelaySettings>[0]) {
    setBusy(true);
    setError(undefined);
    try {
      await api.outbox.saveRelaySettings(input);
      await relay.refetch();
      return true;
    } catch (e) {
      setError(e);
      return false;
    } finally {
      setBusy(false);
    }
  }

  const r = relay.data;
  const chosenMailbox = mailboxId || String(mailboxes.data?.[0]?.id ?? '');
  return (
    <Dialog open onOpenChange={(_e, d) => !d.open && onClose()}>
      <DialogSurface className={s.wide}>
        <DialogBody>
          <DialogTitle>Local relay</DialogTitle>
          <DialogContent className={s.content}>
            <Body1>
              For scanners and other applications that send with plain SMTP: they submit to this computer, and Mailroom sends through the mailbox&apos;s own sign-in (OAuth for Microsoft 365). It listens on 127.0.0.1 only.
            </Body1>
            {r && (
              <>
                <div>
                  {r.running ? <StatusBadge kind="success" label={`Listening on 127.0.0.1:${r.listeningPort}`} /> : <StatusBadge kind="disabled" label="Not listening here" />}{' '}
                  {r.starttls ? <StatusBadge kind="info" label="STARTTLS offered" title={r.tlsSubject ?? ''} /> : <StatusBadge kind="disabled" label="No STARTTLS" title="mailroom relay set --tls-cert FILE --tls-key FILE" />}
                </div>
                <Switch label="Run the relay (with the desktop app, the console and mailroom engine run)" checked={r.enabled} disabled={busy} onChange={(_e, d) => void save({ enabled: d.checked })} />
                <div className={s.grid}>
                  <Field label="Port" hint="Point the application at 127.0.0.1 and this port." validationMessage={issueFor(error, 'port')}>
                    <Input name="port" type="number" value={port ?? String(r.port)} onChange={(_e, d) => setPort(d.value)} onBlur={() => port !== undefined && port !== String(r.port) && void save({ port: Number(port) }).then((ok) => ok && setPort(undefined))} />
                  </Field>
                  <Switch
                    label="Accept mail without sign-in when the sender is a mailbox's own address"
                    checked={r.allowUnauthenticated}
                    disabled={busy}
                    onChange={(_e, d) => void save({ allowUnauthenticated: d.checked })}
                  />
                </div>
                <Subtitle2>Accounts</Subtitle2>
                {r.warnings.map((w) => (
                  <MessageBar key={`${w.code}-${w.mailboxId}`} className={s.warning} intent="warning" layout="multiline">
                    <MessageBarBody>
                      <MessageBarTitle>{w.message}</MessageBarTitle>
                      <div>{w.hint}</div>
                      <Caption1>Code: {w.code}</Caption1>
                    </MessageBarBody>
                  </MessageBar>
                ))}
                {r.accounts.length ? (
                  <table className={s.accounts}>
                    <thead>
                      <tr>
                        <th>User</th>
                        <th>Sends from</th>
                        <th>From address</th>
                        <th>Last used</th>
                        <th />
                      </tr>
                    </thead>
                    <tbody>
                      {r.accounts.map((a) => (
                        <tr key={a.id}>
                          <td>{a.username}</td>
                          <td>{a.mailboxName}</td>
                          <td>
                            <Select
                              size="small"
                              aria-label={`From address of ${a.username}`}
                              value={a.fromMode}
                              disabled={busy}
                              onChange={(_e, d) => void save({ updateAccounts: [{ username: a.username, fromMode: d.value as RelayFromMode }] })}
                            >
                              <option value="keep">{FROM_LABEL.keep}</option>
                              <option value="mailbox">{FROM_LABEL.mailbox}</option>
                            </Select>
                          </td>
                          <td>{a.lastUsedAt ? formatTime(a.lastUsedAt) : 'never'}</td>
                          <td>
                            <Button size="small" appearance="subtle" icon={<DeleteRegular />} aria-label={`Remove ${a.username}`} onClick={() => void save({ removeAccounts: [a.username] })} />
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                ) : (
                  <Caption1>No accounts yet: add one for each application.</Caption1>
                )}
                <div className={s.add}>
                  <Field label="User name" validationMessage={issueFor(error, 'addAccounts.0.username')}>
                    <Input name="relayUser" value={user} placeholder="scanner" onChange={(_e, d) => setUser(d.value)} />
                  </Field>
                  <Field label="Sends from">
                    <Select name="relayMailbox" value={chosenMailbox} onChange={(_e, d) => setMailboxId(d.value)}>
                      {mailboxes.data?.map((m) => (
                        <option key={m.id} value={m.id}>
                          {m.name}
                        </option>
                      ))}
                    </Select>
                  </Field>
                  <Field label="Password" validationMessage={issueFor(error, 'addAccounts.0.password')}>
                    <Input name="relayPassword" type="password" value={password} onChange={(_e, d) => setPassword(d.value)} />
                  </Field>
                  <Field label="From address" hint="Microsoft 365 refuses an address the mailbox may not send as: choose the mailbox's.">
                    <Select name="relayFrom" value={fromMode} onChange={(_e, d) => setFromMode(d.value as RelayFromMode)}>
                      <option value="keep">{FROM_LABEL.keep}</option>
                      <option value="mailbox">{FROM_LABEL.mailbox}</option>
                    </Select>
                  </Field>
                  <Button
                    disabled={busy || !user || !password || !chosenMailbox}
                    onClick={() =>
                      void save({ addAccounts: [{ username: user, mailboxId: Number(chosenMailbox), password, fromMode }] }).then((ok) => {
                        if (ok) {
                          setUser('');
                          setPassword('');
                        }
                      })
                    }
                  >
                    Add account
                  </Button>
                </div>
              </>
            )}
            <ErrorBar error={error} />
          </DialogContent>
          <DialogActions>
            <Button onClick={onClose}>Close</Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}
