/**
 * The Mailboxes screen: a dense sortable list with status badges, a detail
 * panel, create/edit, delete with confirmation, settings import and export.
 */
import {
  Button,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Title3,
  Subtitle2,
  Body1,
  Caption1,
  Spinner,
  makeStyles,
  tokens,
  mergeClasses,
  MessageBar,
  MessageBarBody,
} from '@fluentui/react-components';
import { AddRegular, ArrowDownloadRegular, ArrowUploadRegular, DeleteRegular, EditRegular, PlugConnectedRegular } from '@fluentui/react-icons';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { PRESETS, type Mailbox } from '../../../src-main/shared/mailbox.js';
import type { MailboxSignIn } from '../../../src-main/shared/oauth.js';
import type { SecretExpiry } from '../../../src-main/shared/oauth-app.js';
import { SECURITY_LABELS } from '../../../src-main/shared/setting-words.js';
import { api } from '../../api/client';
import { ErrorBar } from '../../components/ErrorBar';
import { STATUS_LABEL_CLASS, StatusBadge } from '../../components/StatusBadge';
import { arrowKeys } from '../../components/arrow-keys';
import { useElementWidth } from '../../components/use-element-width';
import { describeAction } from '../inbox/inbox-format';
import { MailboxForm, type toInput } from './MailboxForm';
import { FirstEnableDialog } from './FirstEnableDialog';
import { MicrosoftSignInPanel } from '../oauth/MicrosoftSignInPanel';
import { AppOnlyPanel } from '../oauth/AppOnlyPanel';
import { ReadinessCard } from './ReadinessCard';

import { ChangeButton, useReadOnly } from '../../components/read-only';
const useStyles = makeStyles({
  page: { display: 'grid', gridTemplateColumns: 'minmax(0, 1fr) 360px', height: '100%' },
  pageNoPanel: { gridTemplateColumns: 'minmax(0, 1fr)' },
  listPane: { display: 'flex', flexDirection: 'column', minWidth: 0, padding: '16px 20px', gap: '12px', overflow: 'auto' },
  titleRow: { display: 'flex', alignItems: 'baseline', gap: '12px' },
  muted: { color: tokens.colorNeutralForeground3 },
  tableWrap: { backgroundColor: tokens.colorNeutralBackground1, borderRadius: tokens.borderRadiusMedium, boxShadow: tokens.shadow2, overflow: 'auto' },
  headerCell: { position: 'sticky', top: 0, backgroundColor: tokens.colorNeutralBackground1, zIndex: 1, fontWeight: tokens.fontWeightSemibold },
  toolbar: { display: 'flex', alignItems: 'center', gap: '4px', flexWrap: 'wrap' },
  divider: { width: '1px', alignSelf: 'stretch', margin: '4px', backgroundColor: tokens.colorNeutralStroke2 },
  row: { cursor: 'pointer', ':focus-visible': { outline: `2px solid ${tokens.colorStrokeFocus2}`, outlineOffset: '-2px' } },
  selected: { backgroundColor: tokens.colorNeutralBackground1Selected },
  server: { display: 'flex', flexDirection: 'column', minWidth: 0, padding: '4px 0' },
  ellipsis: { display: 'block', overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' },
  // In a narrow column a badge's words wrap and the badge grows with them, instead of spilling over its border or
  // ending in an ellipsis ("Passwo…"): the label's own no-wrap ellipsis is lifted here.
  badges: {
    display: 'flex',
    gap: '4px',
    flexWrap: 'wrap',
    // Stacked badges keep off the row's borders, as the server cells do.
    padding: '4px 0',
    '& .fui-Badge': { height: 'auto', minHeight: '20px', whiteSpace: 'normal', paddingTop: '1px', paddingBottom: '1px' },
    [`& .${STATUS_LABEL_CLASS}`]: { whiteSpace: 'normal', textOverflow: 'clip' },
  },
  // The status column of a narrow list (1024 pixels with the detail open) is wide enough for "Password set" on one line.
  statusColumn: { width: '124px' },
  panel: { borderLeft: `1px solid ${tokens.colorNeutralStroke2}`, backgroundColor: tokens.colorNeutralBackground1, padding: '16px', display: 'flex', flexDirection: 'column', gap: '12px', overflow: 'auto' },
  dl: { display: 'grid', gridTemplateColumns: '110px 1fr', gap: '4px 8px', margin: 0 },
  dt: { color: tokens.colorNeutralForeground3 },
  dd: { margin: 0, overflowWrap: 'anywhere' },
  actions: { display: 'flex', gap: '8px', flexWrap: 'wrap' },
  empty: { padding: '48px', textAlign: 'center', display: 'flex', flexDirection: 'column', alignItems: 'center', gap: '12px' },
});

type SortKey = 'name' | 'address' | 'incoming' | 'outgoing';

const SECURITY_LABEL = SECURITY_LABELS;
/** The sign-in choices as the mailbox form names them. */
const SIGN_IN_LABEL = { password: 'Password or app password', oauth2: 'Microsoft 365 OAuth 2.0', 'oauth2-app': 'Microsoft 365 app-only (shared mailbox)', none: 'None (relay without sign-in)' } as const;

/** A server as two lines: host, then port and security. */
function ServerCell({ host, port, security, protocol }: { host: string; port: number; security: keyof typeof SECURITY_LABEL; protocol?: 'POP3' }) {
  const s = useStyles();
  return (
    <div className={s.server} title={`${protocol ? `${protocol} ` : ''}${host}:${port} · ${SECURITY_LABEL[security]}`}>
      <span className={s.ellipsis}>{host}</span>
      <Caption1 className={s.muted}>
        {protocol ? `${protocol} · ` : ''}port {port} · {SECURITY_LABEL[security]}
      </Caption1>
    </div>
  );
}

/** A side that goes through Microsoft Graph: no server of its own to show. */
function GraphCell() {
  const s = useStyles();
  return (
    <div className={s.server} title="Through Microsoft Graph (graph.microsoft.com) with the mailbox's Microsoft 365 sign-in">
      <span className={s.ellipsis}>Microsoft Graph</span>
      <Caption1 className={s.muted}>HTTPS · Microsoft 365 sign-in</Caption1>
    </div>
  );
}

/** The badges that describe a mailbox's state; `signIn` is its Microsoft sign-in, when it uses OAuth 2.0. */
export function mailboxBadges(m: Mailbox, signIn?: MailboxSignIn, secretExpiry?: SecretExpiry | null) {
  const badges = [];
  badges.push(m.enabled ? <StatusBadge key="state" kind="success" label="Enabled" /> : <StatusBadge key="state" kind="disabled" label="Disabled" />);
  const appOnly = m.imap.auth === 'oauth2-app' || m.smtp.auth === 'oauth2-app';
  const oauth = appOnly || m.imap.auth === 'oauth2' || m.smtp.auth === 'oauth2';
  const needsPassword = m.imap.auth === 'password' || m.smtp.auth === 'password';
  if (oauth && signIn?.needed) {
    const waiting = signIn.waitingMessages ? ` ${signIn.waitingMessages} outgoing message${signIn.waitingMessages === 1 ? '' : 's'} wait for it.` : '';
    badges.push(<StatusBadge key="sign-in" kind="error" label="Sign-in needed" title={`${signIn.needed.message}${waiting} ${signIn.needed.hint}`} />);
  } else if (appOnly && secretExpiry && secretExpiry.state !== 'ok') {
    // The 30-day warning of the client secret or the certificate shows on the list too, not only in the mailbox's panel.
    const what = secretExpiry.credential === 'certificate' ? 'Certificate' : 'Secret';
    badges.push(<StatusBadge key="oauth" kind={secretExpiry.state === 'expired' ? 'error' : 'warning'} label={`${what} ${secretExpiry.state === 'expired' ? 'expired' : 'expires soon'}`} title={secretExpiry.message} />);
  } else if (appOnly) badges.push(<StatusBadge key="oauth" kind="info" label="App-only" title="Signs in as the organisation's app registration (Microsoft 365 app-only)" />);
  else if (oauth) badges.push(<StatusBadge key="oauth" kind="info" label="OAuth 2.0" title="Signs in with Microsoft 365 OAuth 2.0" />);
  // SMTP signs in with its own password when it has one, else with the incoming one.
  const missing = (m.imap.auth === 'password' && !m.passwordSet) || (m.smtp.auth === 'password' && !m.passwordSet && !m.smtpPasswordSet);
  if (needsPassword && missing) badges.push(<StatusBadge key="pw" kind="warning" label="No password" title="Password sign-in is chosen but no password is stored" />);
  if (needsPassword && !missing) badges.push(<StatusBadge key="pw" kind="info" label="Password set" />);
  return badges;
}

function downloadJson(fileName: string, value: unknown) {
  const blob = new Blob([JSON.stringify(value, null, 2) + '\n'], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function MailboxesPage() {
  const s = useStyles();
  const queryClient = useQueryClient();
  const list = useQuery({ queryKey: ['mailboxes'], queryFn: () => api.mailboxes.list({}) });
  const signIns = useQuery({ queryKey: ['oauth.states'], queryFn: () => api.oauth.states({}) });
  const appSettings = useQuery({ queryKey: ['oauth.appSettings'], queryFn: () => api.oauth.appSettingsGet({}) });
  const secretExpiry = appSettings.data?.secretExpiry ?? null;
  const signInOf = useMemo(() => new Map((signIns.data ?? []).map((x) => [x.mailboxId, x])), [signIns.data]);
  // A sign-in, a refresh that failed, or mail that started or stopped waiting changes what the list says.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    // At most once a second, however busy the senders are.
    const refreshSignIns = () => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        void queryClient.invalidateQueries({ queryKey: ['oauth.states'] });
        void queryClient.invalidateQueries({ queryKey: ['oauth.appSettings'] });
      }, 1000);
    };
    const offOAuth = api.transport.on('oauth.changed', refreshSignIns);
    const offOutbox = api.transport.on('outbox.changed', refreshSignIns);
    const offMailboxes = api.transport.on('mailboxes.changed', refreshSignIns);
    return () => {
      offOAuth();
      offOutbox();
      offMailboxes();
      if (timer) clearTimeout(timer);
    };
  }, [queryClient]);
  const [selectedId, setSelectedId] = useState<number>();
  const [editing, setEditing] = useState<Mailbox | 'new'>();
  /** The editor was opened by the readiness card's "Switch to OAuth", "Use app-only" or "Use Microsoft Graph". */
  const [switchingTo, setSwitchingTo] = useState<SwitchTo>();
  const switchingToOAuth = switchingTo === 'oauth';
  const edit = (target: Mailbox | 'new' | undefined, to?: SwitchTo) => {
    setSwitchingTo(to);
    setEditing(target);
  };
  const { readOnly } = useReadOnly();
  const [confirmDelete, setConfirmDelete] = useState<Mailbox>();
  /** A mailbox saved disabled because this save would have started its first import: the dialog asks first. */
  const [firstEnable, setFirstEnable] = useState<Mailbox>();
  const [notice, setNotice] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [sort, setSort] = useState<{ key: SortKey; dir: 1 | -1 }>({ key: 'name', dir: 1 });
  const fileInput = useRef<HTMLInputElement>(null);
  const listPane = useRef<HTMLElement>(null);
  // In a narrow list (1024 pixels with the detail open) the address goes under the name, so the status badges keep their words.
  const narrow = (useElementWidth(listPane) ?? Infinity) < 720;

  const rows = useMemo(() => {
    const value = (m: Mailbox) =>
      sort.key === 'name' ? m.name : sort.key === 'address' ? m.address : sort.key === 'incoming' ? (m.receiveVia === 'pop3' && m.pop3 ? `${m.pop3.host}:${m.pop3.port}` : `${m.imap.host}:${m.imap.port}`) : `${m.smtp.host}:${m.smtp.port}`;
    return [...(list.data ?? [])].sort((a, b) => value(a).localeCompare(value(b), undefined, { sensitivity: 'base' }) * sort.dir);
  }, [list.data, sort]);
  const selected = rows.find((m) => m.id === selectedId);

  const refresh = () => queryClient.invalidateQueries({ queryKey: ['mailboxes'] });
  const save = async (input: ReturnType<typeof toInput>) => {
    const target = editing;
    const existing = target && target !== 'new' ? target : undefined;
    // A save that enables a folder with no import position would import (and mark, move or delete) all its mail at
    // once: save it disabled, and let the first-enable dialog say how much and offer "only mail from now on".
    const folder = input.imap.folder;
    const first = input.enabled && (existing ? (await api.inbox.firstImportNeeded({ mailboxId: existing.id, ...(folder ? { folder } : {}) })).needed : true);
    const payload = first ? { ...input, enabled: false } : input;
    const saved = existing ? await api.mailboxes.update({ id: existing.id, ...payload }) : await api.mailboxes.create(payload);
    const to = switchingTo;
    edit(undefined);
    setSelectedId(saved.id);
    if (first) setFirstEnable(saved);
    else
      setNotice(
        to === 'oauth'
          ? `Saved mailbox ${saved.name} with Microsoft 365 OAuth 2.0: sign it in with Microsoft (on the right).`
          : to === 'app-only'
            ? `Saved mailbox ${saved.name} with Microsoft 365 app-only access: give the app access to it in Exchange Online ("App-only set-up", on the right).`
            : to === 'graph-send' || to === 'graph-receive'
              ? `Saved mailbox ${saved.name}: it ${to === 'graph-send' ? 'sends' : 'receives'} through Microsoft Graph. Run "Test Microsoft Graph" (on the right) to check the permissions.`
              : `${target === 'new' ? 'Created' : 'Saved'} mailbox ${saved.name}.`,
      );
    await refresh();
    void queryClient.invalidateQueries({ queryKey: ['readiness'] });
  };
  const remove = useMutation({
    mutationFn: (m: Mailbox) => api.mailboxes.remove({ id: m.id }),
    onSuccess: async (_r, m) => {
      setConfirmDelete(undefined);
      setSelectedId(undefined);
      setNotice(`Deleted mailbox ${m.name}.`);
      await refresh();
    },
    onError: (e) => setError(e),
  });

  const exportSettings = async () => {
    setError(undefined);
    try {
      const data = await api.mailboxes.exportSettings({});
      downloadJson(`mailroom-settings-${new Date().toISOString().slice(0, 10)}.json`, data);
      setNotice(`Exported ${data.mailboxes.length} mailbox(es). Passwords and tokens are never exported.`);
    } catch (e) {
      setError(e);
    }
  };
  const importSettings = async (file: File) => {
    setError(undefined);
    try {
      let settings: unknown;
      try {
        settings = JSON.parse((await file.text()).replace(/^\uFEFF/, ''));
      } catch {
        throw new Error(`${file.name} is not a JSON file. Choose a file made by "Export settings".`);
      }
      const result = await api.mailboxes.importSettings({ settings });
      setNotice(`Imported ${file.name}: ${result.created.length} created, ${result.updated.length} updated. Enter passwords or sign in for new mailboxes.`);
      await refresh();
    } catch (e) {
      setError(e);
    }
  };

  const header = (key: SortKey, label: string) => (
    <TableHeaderCell
      className={s.headerCell}
      sortable
      sortDirection={sort.key === key ? (sort.dir === 1 ? 'ascending' : 'descending') : undefined}
      onClick={() => setSort((cur) => ({ key, dir: cur.key === key ? ((-cur.dir) as 1 | -1) : 1 }))}
    >
      {label}
    </TableHeaderCell>
  );

  const onRowKey = (m: Mailbox) => (e: KeyboardEvent) => {
    if (e.key === 'Enter') {
      // Only opens the editor: without preventDefault the same key press went on to the editor's first field and submitted the form.
      e.preventDefault();
      // A bundle's read-only view opens no editor: nothing it would save can be saved.
      if (!readOnly) edit(m);
    }
    if (e.key === 'Delete' && !readOnly) setConfirmDelete(m);
    if (e.key === ' ') {
      e.preventDefault();
      setSelectedId(m.id);
    }
  };

  return (
    <div className={mergeClasses(s.page, !selected && s.pageNoPanel)}>
      <section ref={listPane} className={s.listPane} aria-labelledby="mailboxes-title">
        <div className={s.titleRow}>
          <Title3 as="h1" id="mailboxes-title">Mailboxes</Title3>
          <Caption1 className={s.muted}>{list.data ? `${list.data.length} mailbox${list.data.length === 1 ? '' : 'es'}` : ''}</Caption1>
        </div>
        <div role="toolbar" aria-label="Mailbox actions" className={s.toolbar} onKeyDown={arrowKeys('horizontal')}>
          <ChangeButton channel="mailboxes.create" appearance="primary" icon={<AddRegular />} onClick={() => edit('new')}>
            New mailbox
          </ChangeButton>
          <span className={s.divider} aria-hidden />
          <ChangeButton channel="mailboxes.importSettings" appearance="subtle" icon={<ArrowUploadRegular />} onClick={() => fileInput.current?.click()}>
            Import settings
          </ChangeButton>
          <Button appearance="subtle" icon={<ArrowDownloadRegular />} onClick={exportSettings} disabled={!list.data?.length}>
            Export settings
          </Button>
          <input
            ref={fileInput}
            type="file"
            accept=".json,application/json"
            hidden
            aria-label="Settings file to import"
            onChange={(e) => {
              const file = e.target.files?.[0];
              e.target.value = '';
              if (file) void importSettings(file);
            }}
          />
        </div>
        {notice && (
          <MessageBar intent="success" role="status">
            <MessageBarBody>{notice}</MessageBarBody>
          </MessageBar>
        )}
        <ErrorBar error={error ?? list.error} />
        <ReadinessCard
          onSwitch={(id, to) => {
            const target = list.data?.find((m) => m.id === id);
            if (!target) return;
            setSelectedId(id);
            edit(target, to);
          }}
        />
        {list.isLoading && <Spinner label="Loading mailboxes…" />}
        {list.data && list.data.length === 0 && (
          <div className={s.empty}>
            <Subtitle2>No mailboxes yet</Subtitle2>
            <Body1 className={s.muted}>Add the mailbox your help desk sends and receives through. Microsoft 365, Gmail and any IMAP/SMTP server are supported.</Body1>
            <ChangeButton channel="mailboxes.create" appearance="primary" icon={<AddRegular />} onClick={() => edit('new')}>
              New mailbox
            </ChangeButton>
          </div>
        )}
        {rows.length > 0 && (
          <div className={s.tableWrap}>
            <Table size="small" aria-label="Mailboxes" onKeyDown={arrowKeys('vertical', 'tbody tr')}>
              <TableHeader>
                <TableRow>
                  {header('name', narrow ? 'Name and address' : 'Name')}
                  {!narrow && header('address', 'Address')}
                  {header('incoming', 'Incoming')}
                  {header('outgoing', 'Outgoing (SMTP)')}
                  <TableHeaderCell className={mergeClasses(s.headerCell, narrow && s.statusColumn)}>Status</TableHeaderCell>
                </TableRow>
              </TableHeader>
              <TableBody>
                {rows.map((m) => (
                  <TableRow
                    key={m.id}
                    // One Tab stop for the list (the selected row, else the first); the arrow keys move between rows.
                    tabIndex={m.id === (selected ?? rows[0])?.id ? 0 : -1}
                    className={mergeClasses(s.row, m.id === selectedId && s.selected)}
                    aria-selected={m.id === selectedId}
                    onClick={() => setSelectedId(m.id)}
                    onDoubleClick={() => !readOnly && edit(m)}
                    onKeyDown={onRowKey(m)}
                    onFocus={() => setSelectedId(m.id)}
                    data-mailbox={m.name}
                  >
                    <TableCell>
                      {narrow ? (
                        <div className={s.server}>
                          <span>{m.name}</span>
                          <Caption1 className={mergeClasses(s.muted, s.ellipsis)} title={m.address}>
                            {m.address}
                          </Caption1>
                        </div>
                      ) : (
                        m.name
                      )}
                    </TableCell>
                    {!narrow && (
                      <TableCell>
                        <span className={s.ellipsis} title={m.address}>
                          {m.address}
                        </span>
                      </TableCell>
                    )}
                    <TableCell>
                      {m.receiveVia === 'graph' ? (
                        <GraphCell />
                      ) : m.receiveVia === 'pop3' && m.pop3 ? (
                        <ServerCell host={m.pop3.host} port={m.pop3.port} security={m.pop3.security} protocol="POP3" />
                      ) : (
                        <ServerCell host={m.imap.host} port={m.imap.port} security={m.imap.security} />
                      )}
                    </TableCell>
                    <TableCell>
                      {m.sendVia === 'graph' ? <GraphCell /> : <ServerCell host={m.smtp.host} port={m.smtp.port} security={m.smtp.security} />}
                    </TableCell>
                    <TableCell>
                      <div className={s.badges}>{mailboxBadges(m, signInOf.get(m.id), secretExpiry)}</div>
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </div>
        )}
        <Caption1 className={s.muted}>Keyboard: Tab to the list, arrows move, Enter opens the editor, Delete removes.</Caption1>
      </section>

      {selected && (
        <aside className={s.panel} aria-label={`Mailbox ${selected.name}`}>
          <Subtitle2>{selected.name}</Subtitle2>
          <div className={s.badges}>{mailboxBadges(selected, signInOf.get(selected.id), secretExpiry)}</div>
          <div className={s.actions}>
            <ChangeButton channel="mailboxes.update" icon={<EditRegular />} onClick={() => edit(selected)}>
              Edit
            </ChangeButton>
            <ChangeButton channel="connectionTests.run" icon={<PlugConnectedRegular />} onClick={() => (location.hash = `#/tests/${selected.id}/run`)}>
              Test connection
            </ChangeButton>
            {graphTestable(selected) && (
              <ChangeButton channel="connectionTests.runGraph" icon={<PlugConnectedRegular />} onClick={() => (location.hash = `#/tests/${selected.id}/graph`)}>
                Test Microsoft Graph
              </ChangeButton>
            )}
            <ChangeButton channel="mailboxes.remove" icon={<DeleteRegular />} onClick={() => setConfirmDelete(selected)}>
              Delete
            </ChangeButton>
          </div>
          <dl className={s.dl}>
            <dt className={s.dt}>Address</dt>
            <dd className={s.dd}>{selected.address}</dd>
            <dt className={s.dt}>Provider</dt>
            <dd className={s.dd}>{PRESETS[selected.preset].label}</dd>
            {(selected.sendVia === 'graph' || selected.receiveVia === 'graph') && (
              <>
                <dt className={s.dt}>Microsoft Graph</dt>
                <dd className={s.dd}>
                  {[selected.sendVia === 'graph' ? `sends${selected.graph.saveToSentItems ? ' (saved to Sent Items)' : ''}` : null, selected.receiveVia === 'graph' ? 'receives' : null].filter(Boolean).join(' and ')}
                </dd>
              </>
            )}
            {selected.receiveVia === 'pop3' && selected.pop3 ? (
              <>
                <dt className={s.dt}>POP3</dt>
                <dd className={s.dd}>
                  {selected.pop3.host}:{selected.pop3.port} · {SECURITY_LABEL[selected.pop3.security]}
                </dd>
                <dt className={s.dt}>POP3 user</dt>
                <dd className={s.dd}>{selected.pop3.username}</dd>
                <dt className={s.dt}>POP3 sign-in</dt>
                <dd className={s.dd}>{SIGN_IN_LABEL[selected.pop3.auth]}</dd>
                <dt className={s.dt}>After import</dt>
                <dd className={s.dd}>{describeAction(selected.pop3.afterImport)}</dd>
              </>
            ) : (
              <>
                <dt className={s.dt}>IMAP</dt>
                <dd className={s.dd}>
                  {selected.imap.host}:{selected.imap.port} · {SECURITY_LABEL[selected.imap.security]}
                </dd>
                <dt className={s.dt}>IMAP user</dt>
                <dd className={s.dd}>{selected.imap.username}</dd>
                <dt className={s.dt}>IMAP sign-in</dt>
                <dd className={s.dd}>{SIGN_IN_LABEL[selected.imap.auth]}</dd>
                <dt className={s.dt}>Folder</dt>
                <dd className={s.dd}>{selected.imap.folder}</dd>
                <dt className={s.dt}>After import</dt>
                <dd className={s.dd}>{describeAction(selected.imap.afterImport)}</dd>
              </>
            )}
            <dt className={s.dt}>Checks every</dt>
            <dd className={s.dd}>{selected.imap.pollIntervalSeconds} s</dd>
            <dt className={s.dt}>SMTP</dt>
            <dd className={s.dd}>
              {selected.smtp.host}:{selected.smtp.port} · {SECURITY_LABEL[selected.smtp.security]}
            </dd>
            <dt className={s.dt}>SMTP user</dt>
            <dd className={s.dd}>{selected.smtp.username}</dd>
            <dt className={s.dt}>SMTP sign-in</dt>
            <dd className={s.dd}>{SIGN_IN_LABEL[selected.smtp.auth]}</dd>
            {selected.smtp.auth === 'password' && (
              <>
                <dt className={s.dt}>SMTP password</dt>
                <dd className={s.dd}>{selected.smtpPasswordSet ? 'Its own (set)' : 'Same as incoming'}</dd>
              </>
            )}
            <dt className={s.dt}>Created</dt>
            <dd className={s.dd} title={new Date(selected.createdAt).toISOString()}>{new Date(selected.createdAt).toLocaleString()}</dd>
            <dt className={s.dt}>Changed</dt>
            <dd className={s.dd} title={new Date(selected.updatedAt).toISOString()}>{new Date(selected.updatedAt).toLocaleString()}</dd>
          </dl>
          {selected.imap.auth === 'oauth2-app' || selected.smtp.auth === 'oauth2-app' ? (
            <AppOnlyPanel key={selected.id} mailbox={selected} />
          ) : (
            (selected.imap.auth === 'oauth2' || selected.smtp.auth === 'oauth2' || selected.preset === 'microsoft365') && <MicrosoftSignInPanel key={selected.id} mailbox={selected} />
          )}
        </aside>
      )}

      {editing && (
        <MailboxForm
          key={editing === 'new' ? 'new' : `${editing.id}:${switchingTo ?? ''}`}
          open
          {...(editing !== 'new' ? { existing: editing } : {})}
          switchToOAuth={switchingToOAuth}
          switchToAppOnly={switchingTo === 'app-only'}
          {...(switchingTo === 'graph-send' ? { switchToGraph: 'send' as const } : switchingTo === 'graph-receive' ? { switchToGraph: 'receive' as const } : {})}
          onCancel={() => edit(undefined)}
          onSubmit={save}
        />
      )}

      {firstEnable && (
        <FirstEnableDialog
          key={firstEnable.id}
          mailbox={firstEnable}
          onDone={(text) => {
            setFirstEnable(undefined);
            setNotice(text);
            void refresh();
          }}
        />
      )}

      <Dialog open={Boolean(confirmDelete)} onOpenChange={(_e, d) => !d.open && setConfirmDelete(undefined)}>
        <DialogSurface>
          <DialogBody>
            <DialogTitle>Delete mailbox {confirmDelete?.name}?</DialogTitle>
            <DialogContent>
              Its settings and its stored password or sign-in tokens are removed from this computer. Mail on the server is not touched. This cannot be undone.
              {remove.error ? <ErrorBar error={remove.error} /> : null}
            </DialogContent>
            <DialogActions>
              <Button onClick={() => setConfirmDelete(undefined)}>Cancel</Button>
              <Button appearance="primary" onClick={() => confirmDelete && remove.mutate(confirmDelete)} disabled={remove.isPending}>
                Delete mailbox
              </Button>
            </DialogActions>
          </DialogBody>
        </DialogSurface>
      </Dialog>
    </div>
  );
}

/** How the readiness card opened the editor. */
type SwitchTo = 'oauth' | 'app-only' | 'graph-send' | 'graph-receive';

/** A Microsoft 365 mailbox with a Microsoft 365 sign-in on either side can be tested through Microsoft Graph. */
export function graphTestable(m: Mailbox): boolean {
  const oauth = (auth: string) => auth === 'oauth2' || auth === 'oauth2-app';
  return (m.preset === 'microsoft365' || m.sendVia === 'graph' || m.receiveVia === 'graph') && (oauth(m.imap.auth) || oauth(m.smtp.auth));
}
