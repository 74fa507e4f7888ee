/**
 * The Outbox screen: like the help-desk system's "Outbox for email", better.
 * Pending messages by default and a "Show sent emails" switch; colour-coded
 * status, tries, next try and last error; live updates while the senders
 * work; a virtualized list over keyset pages that stays smooth at tens of
 * thousands of rows; a detail panel with the status history, tries, the last
 * error with its fix, and the transcript; Send now, Retry, Cancel, Delete and
 * Compose test message.
 */
import {
  Badge,
  Button,
  Caption1,
  Field,
  Input,
  Select,
  Switch,
  Title3,
  Tooltip,
  makeStyles,
  mergeClasses,
  tokens,
  MessageBar,
  MessageBarBody,
} from '@fluentui/react-components';
import { ArrowClockwiseRegular, ArrowSortDownRegular, ArrowSortUpRegular, MailAddRegular, PlugConnectedRegular, SettingsRegular, WarningRegular } from '@fluentui/react-icons';
import { useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { OUTBOX_STATUSES, type OutboxListInput, type OutboxStatus, type OutboxSummary } from '../../../src-main/shared/outbox.js';
import { DenseRow } from '../../components/DenseRow';
import { useDenseTableStyles } from '../../components/dense-table';
import { useListFocus } from '../../components/use-list-focus';
import { useDebounced } from '../../components/use-debounced';
import { api } from '../../api/client';
import { ErrorBar } from '../../components/ErrorBar';
import { StatusBadge } from '../../components/StatusBadge';
import { formatTime, timeTitle } from '../../components/format';
import { ComposeDialog } from './ComposeDialog';
import { OutboxSettingsDialog, RelayDialog } from './OutboxSettingsDialogs';
import { OutboxDetailPanel, DeleteDialog } from './OutboxDetail';
import { STATUS_HELP, STATUS_KIND, STATUS_WORD, errorTitle, partlyRefused, relative } from './outbox-format';

import { ChangeButton } from '../../components/read-only';
const ROW_HEIGHT = 36;
const PAGE = 200;
const RANGES = { all: 0, '1h': 36e5, '24h': 864e5, '7d': 6048e5, '30d': 2592e6 } as const;
type RangeKey = keyof typeof RANGES;
type SortKey = 'created-desc' | 'created-asc' | 'nextAttempt-asc';

const useStyles = makeStyles({
  // The detail panel takes less of a 1024-pixel screen, so the list keeps its columns.
  page: { display: 'grid', gridTemplateColumns: 'minmax(0, 1fr) clamp(320px, 33vw, 420px)', height: '100%' },
  pageNoPanel: { gridTemplateColumns: 'minmax(0, 1fr)' },
  main: { display: 'flex', flexDirection: 'column', minWidth: 0, minHeight: 0, padding: '16px 20px', gap: '10px' },
  titleRow: { display: 'flex', alignItems: 'center', gap: '12px', flexWrap: 'wrap' },
  spacer: { flex: 1 },
  counts: { display: 'flex', gap: '6px', flexWrap: 'wrap', alignItems: 'center' },
  countButton: { minWidth: 0, padding: '0 4px', height: 'auto' },
  filters: { display: 'flex', flexWrap: 'wrap', gap: '8px', alignItems: 'end' },
  filter: { flex: '1 1 120px', minWidth: '110px' },
  search: { flex: '2 1 180px', minWidth: '150px' },
  muted: { color: tokens.colorNeutralForeground3 },
  sortButton: { padding: 0, minWidth: 0, fontWeight: tokens.fontWeightSemibold, justifyContent: 'flex-start', height: 'auto' },
  sent: { borderLeftColor: tokens.colorPaletteGreenBorderActive },
  deferred: { borderLeftColor: tokens.colorPaletteMarigoldBorderActive },
  failed: { borderLeftColor: tokens.colorPaletteRedBorderActive },
  sending: { borderLeftColor: tokens.colorBrandStroke1 },
  queued: { borderLeftColor: tokens.colorNeutralStroke1 },
  cancelled: { borderLeftColor: tokens.colorNeutralStrokeDisabled },
  'waiting-sign-in': { borderLeftColor: tokens.colorPaletteMarigoldBorderActive },
  num: { fontVariantNumeric: 'tabular-nums' },
  errorCell: { overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap', color: tokens.colorPaletteRedForeground1 },
  // The darker amber: the lighter one fell to 2.2:1 on a selected row.
  warnCell: { overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap', color: tokens.colorPaletteMarigoldForeground2 },
  empty: { padding: '40px', textAlign: 'center', color: tokens.colorNeutralForeground3 },
  engine: { display: 'flex', gap: '8px', alignItems: 'center', flexWrap: 'wrap' },
});

/** The message id in the address (#/outbox/123), from links in the logs. */
function idFromHash(): number | undefined {
  const m = /^#\/outbox\/(\d+)/.exec(location.hash);
  return m ? Number(m[1]) : undefined;
}

/** One summary cell: next try for waiting messages, sent time for sent ones. */
function WhenCell({ m, className, mailboxDisabled }: { m: OutboxSummary; className: string; mailboxDisabled: boolean }) {
  if ((m.status === 'queued' || m.status === 'deferred') && mailboxDisabled) {
    return (
      <span role="gridcell" className={className} title="The mailbox is disabled: the message waits until it is enabled.">
        Mailbox disabled
      </span>
    );
  }
  if (m.status === 'waiting-sign-in') {
    return (
      <span role="gridcell" className={className} title="Sent as soon as someone signs the mailbox in with Microsoft: no tries are spent until then.">
        After sign-in
      </span>
    );
  }
  if (m.status === 'sent' && m.sentAt !== null) {
    return (
      <span role="gridcell" className={className} title={timeTitle(m.sentAt)}>
        Sent {formatTime(m.sentAt)}
      </span>
    );
  }
  if ((m.status === 'queued' || m.status === 'deferred') && m.nextAttemptAt !== null) {
    return (
      <span role="gridcell" className={className} title={timeTitle(m.nextAttemptAt)}>
        {m.nextAttemptAt <= Date.now() ? 'Due now' : `${formatTime(m.nextAttemptAt)} (${relative(m.nextAttemptAt)})`}
      </span>
    );
  }
  return (
    <span role="gridcell" className={className}>
      —
    </span>
  );
}

export function OutboxPage() {
  const s = useStyles();
  const t = useDenseTableStyles();
  const queryClient = useQueryClient();
  const mailboxes = useQuery({ queryKey: ['mailboxes'], queryFn: () => api.mailboxes.list({}) });
  const [mailboxId, setMailboxId] = useState('');
  const [status, setStatus] = useState<'' | OutboxStatus>('');
  const [showSent, setShowSent] = useState(false);
  const [text, setText] = useState('');
  const [range, setRange] = useState<RangeKey>('all');
  const [sort, setSort] = useState<SortKey>('created-desc');
  const [selectedId, setSelectedId] = useState<number | undefined>(idFromHash);
  const [composeOpen, setComposeOpen] = useState(false);
  const [dialog, setDialog] = useState<'settings' | 'relay'>();
  const [confirmDelete, setConfirmDelete] = useState<OutboxSummary>();
  const [notice, setNotice] = useState<string>();
  const scrollRef = useRef<HTMLDivElement>(null);
  const debouncedText = useDebounced(text.trim(), 300);

  useEffect(() => {
    const onHash = () => {
      const id = idFromHash();
      if (id !== undefined) setSelectedId(id);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const since = useMemo(() => (RANGES[range] ? Date.now() - RANGES[range] : undefined), [range]);
  const query: OutboxListInput = useMemo(
    () => ({
      view: showSent ? 'all' : 'pending',
      ...(status ? { statuses: [status] } : {}),
      ...(mailboxId ? { mailboxId: Number(mailboxId) } : {}),
      ...(debouncedText ? { text: debouncedText } : {}),
      ...(since !== undefined ? { since } : {}),
      sort: sort === 'nextAttempt-asc' ? 'nextAttempt' : 'created',
      direction: sort === 'created-desc' ? 'desc' : 'asc',
      limit: PAGE,
    }),
    [showSent, status, mailboxId, debouncedText, since, sort],
  );

  const pages = useInfiniteQuery({
    queryKey: ['outbox', 'list', query],
    queryFn: ({ pageParam }) => api.outbox.list({ ...query, ...(pageParam ? { cursor: pageParam } : {}) }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const counts = useQuery({ queryKey: ['outbox', 'counts', mailboxId], queryFn: () => api.outbox.counts(mailboxId ? { mailboxId: Number(mailboxId) } : {}) });
  const engine = useQuery({ queryKey: ['outbox', 'engine'], queryFn: () => api.outbox.engineState({}) });
  const rows = useMemo(() => pages.data?.pages.flatMap((p) => p.items) ?? [], [pages.data]);
  const disabledMailboxes = useMemo(() => new Set(mailboxes.data?.filter((m) => !m.enabled).map((m) => m.id) ?? []), [mailboxes.data]);

  // Live: the senders announce changes; refresh at most a few times a second, however busy they are.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const off = api.transport.on('outbox.changed', () => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        void queryClient.invalidateQueries({ queryKey: ['outbox'] });
      }, 300);
    });
    return () => {
      off();
      if (timer) clearTimeout(timer);
    };
  }, [queryClient]);

  const virtualizer = useVirtualizer({ count: rows.length, getScrollElement: () => scrollRef.current, estimateSize: () => ROW_HEIGHT, overscan: 12 });
  const items = virtualizer.getVirtualItems();
  const listFocus = useListFocus(scrollRef, selectedId, items.map((item) => rows[item.index]!.id));
  useEffect(() => {
    const last = items[items.length - 1];
    if (last && last.index >= rows.length - 40 && pages.hasNextPage && !pages.isFetchingNextPage) void pages.fetchNextPage();
  }, [items, rows.length, pages]);

  const select = useCallback((id: number | undefined) => {
    setSelectedId(id);
    history.replaceState(null, '', id === undefined ? '#/outbox' : `#/outbox/${id}`);
  }, []);

  const selectedRow = rows.find((r) => r.id === selectedId);
  const onKeyDown = useCallback(
    (e: KeyboardEvent) => {
      if (e.key === 'Delete' && selectedRow && selectedRow.status !== 'sending') {
        e.preventDefault();
        setConfirmDelete(selectedRow);
        return;
      }
      if (e.key === 'Escape') return select(undefined);
      if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp' && e.key !== 'Home' && e.key !== 'End' && e.key !== 'PageDown' && e.key !== 'PageUp') return;
      e.preventDefault();
      const index = rows.findIndex((r) => r.id === selectedId);
      const step = e.key === 'PageDown' || e.key === 'PageUp' ? 15 : 1;
      const next =
        e.key === 'Home' ? 0 : e.key === 'End' ? rows.length - 1 : Math.max(0, Math.min(rows.length - 1, index + (e.key === 'ArrowDown' || e.key === 'PageDown' ? step : -step)));
      const row = rows[next];
      if (row) {
        listFocus.followSelection();
        select(row.id);
        virtualizer.scrollToIndex(next, { align: 'auto' });
      }
    },
    [rows, selectedId, selectedRow, select, virtualizer, listFocus],
  );

  const toggleSort = (column: 'created' | 'nextAttempt') =>
    setSort((cur) => (column === 'nextAttempt' ? 'nextAttempt-asc' : cur === 'created-desc' ? 'created-asc' : 'created-desc'));
  const sortIcon = (column: 'created' | 'nextAttempt') =>
    column === 'created' ? (sort === 'created-desc' ? <ArrowSortDownRegular /> : sort === 'created-asc' ? <ArrowSortUpRegular /> : undefined) : sort === 'nextAttempt-asc' ? <ArrowSortUpRegular /> : undefined;
  const ariaSort = (column: 'created' | 'nextAttempt') =>
    column === 'created' ? (sort === 'created-desc' ? 'descending' : sort === 'created-asc' ? 'ascending' : 'none') : sort === 'nextAttempt-asc' ? 'ascending' : 'none';

  const paused = engine.data?.workers.filter((w) => w.state === 'paused') ?? [];
  const signInNeeded = engine.data?.workers.filter((w) => w.state === 'waiting-sign-in') ?? [];
  // With the detail panel open the list keeps what tells messages apart; the panel has the rest.
  const compact = selectedId !== undefined;
  // The status column fits the longest status word ("Waiting for sign-in") on one line.
  const columns = compact
    ? '136px 48px minmax(56px, 1fr) minmax(64px, 1.2fr) minmax(52px, 0.8fr)'
    : '140px 64px minmax(80px, 120px) minmax(120px, 1.2fr) minmax(140px, 1.5fr) 56px minmax(150px, 190px) minmax(120px, 1.2fr)';
  const pendingCount = counts.data ? counts.data.queued + counts.data.sending + counts.data['waiting-sign-in'] + counts.data.deferred + counts.data.failed : undefined;

  return (
    <div className={mergeClasses(s.page, selectedId === undefined && s.pageNoPanel)}>
      <section className={s.main} aria-labelledby="outbox-title">
        <div className={s.titleRow}>
          <Title3 as="h1" id="outbox-title">
            Outbox
          </Title3>
          <Caption1 className={s.muted}>
            {pendingCount === undefined ? '' : `${pendingCount} not sent yet`}
            {showSent ? ' · showing sent emails too' : ''}
          </Caption1>
          <span className={s.spacer} />
          <Button icon={<ArrowClockwiseRegular />} onClick={() => void queryClient.invalidateQueries({ queryKey: ['outbox'] })}>
            Refresh
          </Button>
          <ChangeButton channel="outbox.saveSettings" icon={<SettingsRegular />} onClick={() => setDialog('settings')}>
            Retry settings
          </ChangeButton>
          <ChangeButton channel="outbox.saveRelaySettings" icon={<PlugConnectedRegular />} onClick={() => setDialog('relay')}>
            Local relay
          </ChangeButton>
          <ChangeButton channel="outbox.compose" appearance="primary" icon={<MailAddRegular />} onClick={() => setComposeOpen(true)}>
            Compose test message
          </ChangeButton>
        </div>

        <div className={s.counts} aria-label="Messages by status">
          {OUTBOX_STATUSES.map((st) => (
            <Tooltip key={st} content={`${STATUS_HELP[st]} Click to show only these.`} relationship="description">
              <Button
                appearance="transparent"
                size="small"
                className={s.countButton}
                aria-pressed={status === st}
                onClick={() => {
                  setStatus(status === st ? '' : st);
                  if (st === 'sent' || st === 'cancelled') setShowSent(true);
                }}
              >
                <StatusBadge kind={STATUS_KIND[st]} label={`${STATUS_WORD[st]} ${counts.data?.[st] ?? '…'}`} />
              </Button>
            </Tooltip>
          ))}
          <span className={s.spacer} />
          <Switch label="Show sent emails" checked={showSent} onChange={(_e, d) => setShowSent(d.checked)} />
          <span className={s.engine} data-testid="outbox-engine">
            {engine.data?.running && <StatusBadge kind="success" label="Sending from here" title="This Mailroom sends the outbox." />}
            {engine.data && !engine.data.running && engine.data.heldBy && (
              <StatusBadge kind="info" label={`Sent by process ${engine.data.heldBy.pid}`} title={`Another Mailroom (${engine.data.heldBy.runtime} on ${engine.data.heldBy.host}) sends this outbox.`} />
            )}
            {engine.data && !engine.data.running && !engine.data.heldBy && (
              <StatusBadge kind="warning" label="Not sending" title="No Mailroom is sending this outbox: start the desktop app, the console, or mailroom engine run." />
            )}
          </span>
        </div>

        {paused.map((w) => (
          <MessageBar key={w.mailboxId} intent="warning" layout="multiline">
            <MessageBarBody>
              <WarningRegular aria-hidden /> Sending from <strong>{w.mailboxName}</strong> is paused{w.pausedUntil ? ` until ${formatTime(w.pausedUntil)}` : ''}
              {w.lastError ? ` after ${w.lastError.code}: ${w.lastError.message}` : ''} {w.lastError?.hint ? `What to change: ${w.lastError.hint}` : ''} Send now on a message tries at once.
            </MessageBarBody>
          </MessageBar>
        ))}

        {signInNeeded.map((w) => (
          <MessageBar key={w.mailboxId} intent="warning" layout="multiline" data-testid="outbox-sign-in-needed">
            <MessageBarBody>
              <WarningRegular aria-hidden /> <strong>{w.mailboxName}</strong> needs a Microsoft sign-in: its messages wait for it and spend no tries
              {w.lastError ? ` (${w.lastError.code}: ${w.lastError.message})` : ''}. Sign in again on the Mailboxes screen (or mailroom oauth login "{w.mailboxName}"); they are sent at once after it.
            </MessageBarBody>
          </MessageBar>
        ))}

        <div className={s.filters} role="search" aria-label="Outbox filters">
          <Field label="Mailbox" size="small" className={s.filter}>
            <Select size="small" name="mailbox" value={mailboxId} onChange={(_e, d) => setMailboxId(d.value)}>
              <option value="">All mailboxes</option>
              {mailboxes.data?.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                </option>
              ))}
            </Select>
          </Field>
          <Field label="Status" size="small" className={s.filter}>
            <Select size="small" name="status" value={status} onChange={(_e, d) => setStatus(d.value as '' | OutboxStatus)}>
              <option value="">{showSent ? 'All' : 'Not sent yet'}</option>
              {OUTBOX_STATUSES.map((st) => (
                <option key={st} value={st}>
                  {STATUS_WORD[st]}
                </option>
              ))}
            </Select>
          </Field>
          <Field label="Search" size="small" className={s.search}>
            <Input size="small" name="text" type="search" value={text} placeholder="Subject, recipient, Message-ID or #id" onChange={(_e, d) => setText(d.value)} />
          </Field>
          <Field label="Queued" size="small" className={s.filter}>
            <Select size="small" name="range" value={range} onChange={(_e, d) => setRange(d.value as RangeKey)}>
              <option value="all">Any time</option>
              <option value="1h">Last hour</option>
              <option value="24h">Last 24 hours</option>
              <option value="7d">Last 7 days</option>
              <option value="30d">Last 30 days</option>
            </Select>
          </Field>
        </div>

        {notice && (
          <MessageBar intent="success" role="status">
            <MessageBarBody>{notice}</MessageBarBody>
          </MessageBar>
        )}
        <ErrorBar error={pages.error} />

        <div className={t.table} role="grid" aria-label="Outbox messages" aria-rowcount={rows.length} style={{ ['--table-columns' as string]: columns }}>
          <div className={t.header} role="row">
            <span role="columnheader">Status</span>
            <span role="columnheader" aria-sort={ariaSort('created')}>
              <Button appearance="transparent" size="small" className={s.sortButton} icon={sortIcon('created')} iconPosition="after" onClick={() => toggleSort('created')}>
                ID
              </Button>
            </span>
            {!compact && <span role="columnheader">Mailbox</span>}
            <span role="columnheader">To</span>
            <span role="columnheader">Subject</span>
            {!compact && <span role="columnheader">Tries</span>}
            {!compact && (
              <span role="columnheader" aria-sort={ariaSort('nextAttempt')}>
                <Button appearance="transparent" size="small" className={s.sortButton} icon={sortIcon('nextAttempt')} iconPosition="after" onClick={() => toggleSort('nextAttempt')}>
                  Next try / sent
                </Button>
              </span>
            )}
            <span role="columnheader">Last error</span>
          </div>
          <div ref={scrollRef} className={t.scroller} role="rowgroup" onKeyDown={onKeyDown} aria-label="Outbox messages: arrow keys move, Delete deletes, Escape closes the detail">
            {!pages.isLoading && rows.length === 0 && (
              <div className={s.empty}>{showSent ? 'No messages match these filters.' : 'Nothing waits to be sent. Switch on "Show sent emails" to see what went out.'}</div>
            )}
            <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
              {items.map((item) => {
                const m = rows[item.index]!;
                const refused = partlyRefused(m);
                return (
                  <DenseRow
                    key={m.id}
                    top={item.start}
                    height={ROW_HEIGHT}
                    selected={m.id === selectedId}
                    tabbable={m.id === listFocus.tabbableId}
                    rowKey={m.id}
                    className={s[m.status]}
                    onSelect={() => select(m.id)}
                    data-outbox-id={m.id}
                    data-status={m.status}
                  >
                    <span role="gridcell">
                      <StatusBadge kind={refused ? 'warning' : STATUS_KIND[m.status]} label={refused ? 'Sent, some refused' : STATUS_WORD[m.status]} title={STATUS_HELP[m.status]} />
                    </span>
                    <span role="gridcell" className={mergeClasses(t.cell, s.num)} title={timeTitle(m.createdAt)}>
                      #{m.id}
                    </span>
                    {!compact && (
                      <span role="gridcell" className={t.cell}>
                        {m.mailboxName}
                      </span>
                    )}
                    <span role="gridcell" className={t.cell} title={m.to}>
                      {m.to}
                      {m.recipientCount > 5 ? ` (${m.recipientCount})` : ''}
                    </span>
                    <span role="gridcell" className={t.cell} title={m.subject}>
                      {m.subject || '(no subject)'}
                    </span>
                    {!compact && (
                      <span role="gridcell" className={mergeClasses(t.cell, s.num)} title={`${m.attempts} of ${m.maxAttempts} tries`}>
                        {m.attempts}/{m.maxAttempts}
                      </span>
                    )}
                    {!compact && <WhenCell m={m} className={mergeClasses(t.cell, t.time)} mailboxDisabled={disabledMailboxes.has(m.mailboxId)} />}
                    <span role="gridcell" className={m.lastError ? (m.status === 'failed' ? s.errorCell : s.warnCell) : t.cell} title={m.lastError ? `${m.lastError.code}: ${m.lastError.message}` : ''}>
                      {m.lastError ? (compact ? m.lastError.code : `${m.lastError.code} · ${errorTitle(m.lastError.code)}`) : ''}
                    </span>
                  </DenseRow>
                );
              })}
            </div>
          </div>
        </div>
        <Caption1 className={s.muted}>
          {rows.length} shown{pages.hasNextPage ? ' (more load as you scroll)' : ''} · Keyboard: Tab to the list, then arrows, Page Up/Down, Home, End; Delete deletes.
          <Badge appearance="ghost" size="small">
            updates live
          </Badge>
        </Caption1>
      </section>

      {selectedId !== undefined && (
        <OutboxDetailPanel
          id={selectedId}
          onClose={() => select(undefined)}
          onDelete={(m) => setConfirmDelete(m)}
          onNotice={(text) => {
            setNotice(text);
            void queryClient.invalidateQueries({ queryKey: ['outbox'] });
          }}
        />
      )}
      {dialog === 'settings' && <OutboxSettingsDialog onClose={() => setDialog(undefined)} />}
      {dialog === 'relay' && <RelayDialog onClose={() => setDialog(undefined)} />}
      {composeOpen && (
        <ComposeDialog
          onClose={() => setComposeOpen(false)}
          onQueued={(m) => {
            setComposeOpen(false);
            setNotice(`Queued #${m.id} "${m.subject}" to ${m.to}.`);
            select(m.id);
            void queryClient.invalidateQueries({ queryKey: ['outbox'] });
          }}
        />
      )}
      {confirmDelete && (
        <DeleteDialog
          message={confirmDelete}
          onClose={() => setConfirmDelete(undefined)}
          onDeleted={() => {
            setNotice(`Deleted #${confirmDelete.id} "${confirmDelete.subject}".`);
            if (selectedId === confirmDelete.id) select(undefined);
            setConfirmDelete(undefined);
            void queryClient.invalidateQueries({ queryKey: ['outbox'] });
          }}
        />
      )}
    </div>
  );
}
