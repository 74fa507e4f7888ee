/**
 * The Inbox screen: each mailbox's receive state (healthy, failing,
 * disabled) with Poll now and Import with debug; the imported messages,
 * newest first, colour-coded by status, in a virtualized list over keyset
 * pages (smooth at tens of thousands); and the detail panel of the message
 * chosen. Everything updates live from `inbox.changed` events.
 */
import {
  Caption1,
  Field,
  Select,
  Spinner,
  Title3,
  makeStyles,
  mergeClasses,
  tokens,
  MessageBar,
  MessageBarBody,
  MessageBarTitle,
  Button,
} from '@fluentui/react-components';
import { AttachRegular, DismissRegular } from '@fluentui/react-icons';
import { useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { INBOX_STATUSES, type InboxStatus, type PollDetail, type ReceiveState } from '../../../src-main/shared/inbox.js';
import { DenseRow } from '../../components/DenseRow';
import { useDenseTableStyles } from '../../components/dense-table';
import { useListFocus } from '../../components/use-list-focus';
import { api } from '../../api/client';
import { ErrorBar } from '../../components/ErrorBar';
import { StatusBadge } from '../../components/StatusBadge';
import { timeTitle } from '../../components/format';
import { useReadOnly } from '../../components/read-only';
import { ReceiveStates } from './ReceiveStates';
import { MessageDetail } from './MessageDetail';
import { PollResultDialog } from './PollResultDialog';
import { HandoffDialog } from './HandoffDialog';
import { ACTION_LOOK, STATUS_LOOK, formatSize, pollSummary, shortTime } from './inbox-format';

const ROW_HEIGHT = 34;
const PAGE = 200;
/** Columns of the list: all of them, and a narrower set while the detail panel is open. */
const COLUMNS_WIDE = '104px 110px 120px minmax(140px, 0.8fr) minmax(200px, 1.6fr) 64px 96px';
const COLUMNS_NARROW = '96px 72px minmax(72px, 0.7fr) minmax(96px, 1.3fr)';

const useStyles = makeStyles({
  // The detail panel takes less of a 1024-pixel screen, so the lists keep their columns.
  page: { display: 'grid', gridTemplateColumns: 'minmax(0, 1fr) clamp(320px, 32vw, 400px)', height: '100%' },
  pageNoPanel: { gridTemplateColumns: 'minmax(0, 1fr)' },
  main: { display: 'flex', flexDirection: 'column', minWidth: 0, minHeight: 0, padding: '16px 20px', gap: '10px' },
  titleRow: { display: 'flex', alignItems: 'baseline', gap: '12px', flexWrap: 'wrap' },
  muted: { color: tokens.colorNeutralForeground3 },
  filters: { display: 'flex', gap: '12px', alignItems: 'end', flexWrap: 'wrap' },
  imported: { borderLeftColor: tokens.colorPaletteGreenBorderActive },
  duplicate: { borderLeftColor: tokens.colorNeutralStroke1 },
  failed: { borderLeftColor: tokens.colorPaletteRedBorderActive },
  size: { fontVariantNumeric: 'tabular-nums', textAlign: 'right', color: tokens.colorNeutralForeground2 },
  clip: { display: 'inline-flex', alignItems: 'center', gap: '2px', color: tokens.colorNeutralForeground3, marginRight: '4px' },
  snippet: { color: tokens.colorNeutralForeground3 },
  empty: { padding: '40px', textAlign: 'center', color: tokens.colorNeutralForeground3 },
  notice: { display: 'flex', alignItems: 'flex-start', gap: '8px' },
});

function routeMessageId(): number | undefined {
  const m = /^#\/inbox\/(\d+)/.exec(location.hash);
  return m ? Number(m[1]) : undefined;
}

/** Runs `fn` at most every `ms`, always once more after the last call. */
function useThrottled(fn: () => void, ms: number): () => void {
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);
  const last = useRef(0);
  const latest = useRef(fn);
  latest.current = fn;
  return useCallback(() => {
    const wait = Math.max(0, last.current + ms - Date.now());
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      last.current = Date.now();
      latest.current();
    }, wait);
  }, [ms]);
}

export function InboxPage() {
  const s = useStyles();
  const t = useDenseTableStyles();
  const queryClient = useQueryClient();
  const states = useQuery({ queryKey: ['inbox.states'], queryFn: () => api.inbox.states({}) });
  const [mailboxId, setMailboxId] = useState<number>();
  const [status, setStatus] = useState<InboxStatus | ''>('');
  const [selectedId, setSelectedId] = useState<number | undefined>(routeMessageId);
  const [busy, setBusy] = useState<ReadonlySet<number>>(new Set());
  const { readOnly } = useReadOnly();
  const [lastPoll, setLastPoll] = useState<{ name: string; poll: PollDetail }>();
  const [debugPoll, setDebugPoll] = useState<{ name: string; poll: PollDetail }>();
  const [actionError, setActionError] = useState<unknown>();
  const [handoff, setHandoff] = useState<ReceiveState>();
  const [notice, setNotice] = useState<string>();
  const scrollRef = useRef<HTMLDivElement>(null);

  const filter = useMemo(() => ({ ...(mailboxId !== undefined ? { mailboxId } : {}), ...(status ? { status } : {}) }), [mailboxId, status]);
  const pages = useInfiniteQuery({
    queryKey: ['inbox.list', filter],
    queryFn: ({ pageParam }) => api.inbox.list({ ...filter, limit: PAGE, ...(pageParam !== undefined ? { beforeId: pageParam } : {}) }),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (last) => last.nextBeforeId ?? undefined,
  });
  const rows = useMemo(() => pages.data?.pages.flatMap((p) => p.messages) ?? [], [pages.data]);

  // Live: a poll started, stored a batch, or finished; an importer connected or idled.
  const refreshStates = useThrottled(() => void queryClient.invalidateQueries({ queryKey: ['inbox.states'] }), 400);
  const refreshList = useThrottled(() => void queryClient.invalidateQueries({ queryKey: ['inbox.list'] }), 800);
  useEffect(
    () =>
      api.transport.on('inbox.changed', (payload) => {
        const reason = (payload as { reason?: string }).reason;
        refreshStates();
        if (reason === 'messages' || reason === 'poll-finished') refreshList();
      }),
    [refreshStates, refreshList],
  );
  useEffect(() => api.transport.on('mailboxes.changed', () => refreshStates()), [refreshStates]);
  useEffect(() => {
    const onHash = () => {
      const id = routeMessageId();
      if (id !== undefined) setSelectedId(id);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const virtualizer = useVirtualizer({ count: rows.length, getScrollElement: () => scrollRef.current, estimateSize: () => ROW_HEIGHT, overscan: 12 });
  const items = virtualizer.getVirtualItems();
  const listFocus = useListFocus(scrollRef, selectedId, items.map((item) => rows[item.index]!.id));
  useEffect(() => {
    const last = items[items.length - 1];
    if (last && last.index >= rows.length - 40 && pages.hasNextPage && !pages.isFetchingNextPage) void pages.fetchNextPage();
  }, [items, rows.length, pages]);

  const select = (id: number | undefined) => {
    setSelectedId(id);
    history.replaceState(null, '', id === undefined ? '#/inbox' : `#/inbox/${id}`);
  };

  const runPoll = async (state: ReceiveState, debug: boolean) => {
    setActionError(undefined);
    setBusy((cur) => new Set(cur).add(state.mailboxId));
    try {
      const poll = debug ? await api.inbox.importWithDebug({ mailboxId: state.mailboxId }) : await api.inbox.pollNow({ mailboxId: state.mailboxId });
      if (debug) setDebugPoll({ name: state.mailboxName, poll });
      else setLastPoll({ name: state.mailboxName, poll });
    } catch (error) {
      setActionError(error);
    } finally {
      setBusy((cur) => {
        const next = new Set(cur);
        next.delete(state.mailboxId);
        return next;
      });
      void queryClient.invalidateQueries({ queryKey: ['inbox.states'] });
      void queryClient.invalidateQueries({ queryKey: ['inbox.list'] });
    }
  };

  const onKeyDown = useCallback(
    (e: KeyboardEvent) => {
      if (e.key === 'Escape') return select(undefined);
      if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp' && e.key !== 'Home' && e.key !== 'End') return;
      e.preventDefault();
      const index = rows.findIndex((r) => r.id === selectedId);
      const next = e.key === 'Home' ? 0 : e.key === 'End' ? rows.length - 1 : Math.max(0, Math.min(rows.length - 1, index + (e.key === 'ArrowDown' ? 1 : -1)));
      const row = rows[next];
      if (row) {
        listFocus.followSelection();
        select(row.id);
        virtualizer.scrollToIndex(next, { align: 'auto' });
      }
    },
    [rows, selectedId, virtualizer, listFocus],
  );

  const stateList = states.data ?? [];
  const wide = selectedId === undefined;
  const total = stateList.reduce((n, st) => n + st.counts.imported + st.counts.duplicate + st.counts.failed, 0);

  return (
    <div className={mergeClasses(s.page, selectedId === undefined && s.pageNoPanel)}>
      <section className={s.main} aria-labelledby="inbox-title">
        <div className={s.titleRow}>
          <Title3 as="h1" id="inbox-title">
            Inbox
          </Title3>
          <Caption1 className={s.muted}>
            Mail imported from each mailbox&apos;s IMAP folder or POP3 maildrop. Messages are stored before anything is done on the server; nothing is imported twice.
          </Caption1>
        </div>
        <ErrorBar error={actionError ?? states.error} />
        {lastPoll && (
          <MessageBar intent={lastPoll.poll.outcome === 'ok' ? 'success' : 'error'} layout="multiline" role="status" data-poll-result={lastPoll.poll.outcome}>
            <MessageBarBody>
              <MessageBarTitle>
                {lastPoll.poll.outcome === 'ok' ? `Polled ${lastPoll.name}` : `${lastPoll.name}: ${lastPoll.poll.message}`}
              </MessageBarTitle>
              {pollSummary(lastPoll.poll)}.
              {lastPoll.poll.outcome !== 'ok' && (
                <div>
                  {lastPoll.poll.hint} <Caption1>Code: {lastPoll.poll.code}</Caption1>
                </div>
              )}
            </MessageBarBody>
            <Button appearance="transparent" size="small" icon={<DismissRegular />} aria-label="Dismiss" onClick={() => setLastPoll(undefined)} />
          </MessageBar>
        )}
        {notice && (
          <MessageBar intent="success" role="status">
            <MessageBarBody>{notice}</MessageBarBody>
            <Button appearance="transparent" size="small" icon={<DismissRegular />} aria-label="Dismiss the notice" onClick={() => setNotice(undefined)} />
          </MessageBar>
        )}
        {states.isLoading && <Spinner size="small" label="Loading mailboxes…" />}
        {states.data && stateList.length === 0 && (
          <div className={s.empty}>
            No mailboxes yet. Add one on the <a href="#/mailboxes">Mailboxes</a> screen; its mail is imported here.
          </div>
        )}
        {stateList.length > 0 && (
          <ReceiveStates
            states={stateList}
            selectedId={mailboxId}
            onSelect={setMailboxId}
            busy={busy}
            onPoll={(st) => void runPoll(st, false)}
            onDebug={(st) => void runPoll(st, true)}
            onHandoff={setHandoff}
            compact={selectedId !== undefined}
          />
        )}
        <div className={s.filters} role="search" aria-label="Message filters">
          <Field label="Mailbox" size="small">
            <Select size="small" name="mailbox" value={mailboxId === undefined ? '' : String(mailboxId)} onChange={(_e, d) => setMailboxId(d.value ? Number(d.value) : undefined)}>
              <option value="">All mailboxes</option>
              {stateList.map((st) => (
                <option key={st.mailboxId} value={st.mailboxId}>
                  {st.mailboxName}
                </option>
              ))}
            </Select>
          </Field>
          <Field label="Status" size="small">
            <Select size="small" name="status" value={status} onChange={(_e, d) => setStatus(d.value as InboxStatus | '')}>
              <option value="">Any status</option>
              {INBOX_STATUSES.map((st) => (
                <option key={st} value={st}>
                  {STATUS_LOOK[st].word}
                </option>
              ))}
            </Select>
          </Field>
          <Caption1 className={s.muted}>
            {total.toLocaleString()} stored in all · {rows.length.toLocaleString()} shown{pages.hasNextPage ? ', more load as you scroll' : ''}
          </Caption1>
        </div>
        <ErrorBar error={pages.error} />
        <div className={t.table} role="grid" aria-label="Imported messages" aria-rowcount={rows.length} style={{ ['--table-columns' as string]: wide ? COLUMNS_WIDE : COLUMNS_NARROW }}>
          <div className={t.header} role="row">
            <span role="columnheader">Status</span>
            <span role="columnheader">Imported</span>
            {wide && <span role="columnheader">Mailbox</span>}
            <span role="columnheader">From</span>
            <span role="columnheader">Subject</span>
            {wide && (
              <span role="columnheader" style={{ textAlign: 'right' }}>
                Size
              </span>
            )}
            {wide && <span role="columnheader">After import</span>}
          </div>
          <div ref={scrollRef} className={t.scroller} role="rowgroup" onKeyDown={onKeyDown} aria-label="Imported messages, use the arrow keys to move">
            {!pages.isLoading && rows.length === 0 && <div className={s.empty}>{readOnly ? 'A diagnostics bundle holds no imported messages, only their counts (above).' : `No imported messages${filter.mailboxId !== undefined || filter.status ? ' match these filters' : ' yet: use Poll now, or start the engine'}.`}</div>}
            <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
              {items.map((item) => {
                const m = rows[item.index]!;
                const look = STATUS_LOOK[m.status];
                const action = ACTION_LOOK[m.actionState];
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
                    data-message-id={m.id}
                    data-status={m.status}
                  >
                    <span role="gridcell">
                      <StatusBadge kind={look.kind} label={look.word} title={m.status === 'failed' ? `${m.errorCode}: ${m.error}` : look.title} />
                    </span>
                    <span role="gridcell" className={mergeClasses(t.cell, t.time)} title={timeTitle(m.importedAt)}>
                      {shortTime(m.importedAt)}
                    </span>
                    {wide && (
                      <span role="gridcell" className={t.cell}>
                        {m.mailboxName ?? '—'}
                      </span>
                    )}
                    <span role="gridcell" className={t.cell} title={m.from ?? ''}>
                      {m.from ?? '—'}
                    </span>
                    <span role="gridcell" className={t.cell} title={m.subject ?? ''}>
                      {m.attachmentCount > 0 && (
                        <span className={s.clip} title={`${m.attachmentCount} attachment(s)`}>
                          <AttachRegular aria-label={`${m.attachmentCount} attachment(s)`} />
                        </span>
                      )}
                      {m.status === 'failed' ? `[${m.errorCode}] ` : ''}
                      {m.subject ?? '(no subject)'} <span className={s.snippet}>{m.snippet ? `— ${m.snippet}` : ''}</span>
                    </span>
                    {wide && (
                      <span role="gridcell" className={mergeClasses(t.cell, s.size)}>
                        {formatSize(m.size)}
                      </span>
                    )}
                    {wide && (
                      <span role="gridcell" className={t.cell}>
                        <StatusBadge kind={action.kind} label={action.word} title={`${m.action}${m.actionState === 'failed' ? ': the server refused it; tried again on the next poll' : ''}`} />
                      </span>
                    )}
                  </DenseRow>
                );
              })}
            </div>
          </div>
        </div>
        <Caption1 className={s.muted}>Keyboard: Tab to the list, then arrows, Home and End; Escape closes the message.</Caption1>
      </section>
      {selectedId !== undefined && <MessageDetail key={selectedId} id={selectedId} onClose={() => select(undefined)} />}
      {handoff && (
        <HandoffDialog
          state={handoff}
          onClose={() => setHandoff(undefined)}
          onSaved={(message) => {
            setHandoff(undefined);
            setNotice(message);
            void queryClient.invalidateQueries({ queryKey: ['inbox.states'] });
          }}
        />
      )}
      {debugPoll && <PollResultDialog mailboxName={debugPoll.name} poll={debugPoll.poll} onClose={() => setDebugPoll(undefined)} />}
    </div>
  );
}
