/**
 * The Logs screen: every send, receive, poll, test, sign-in and engine event,
 * colour-coded by outcome; filters applied in the store (keyset pages on
 * indexes); a virtualized list that stays smooth at a million rows; a live
 * tail that never moves what the admin is reading; exports with progress.
 */
import {
  Badge,
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
  Menu,
  MenuItem,
  MenuList,
  MenuPopover,
  MenuTrigger,
  ProgressBar,
  Select,
  Subtitle2,
  Title3,
  makeStyles,
  mergeClasses,
  tokens,
  MessageBar,
  MessageBarBody,
} from '@fluentui/react-components';
import { ArrowDownloadRegular, ArrowUpRegular, DismissRegular, SettingsRegular, DocumentTableRegular } from '@fluentui/react-icons';
import { useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { LOG_DIRECTIONS, LOG_LEVELS, type LogEntry } from '../../../src-main/shared/activity-log.js';
import type { LogExportFormat, LogExportResult, LogFilterInput } from '../../../src-main/shared/contract/logs.js';
import { DenseRow } from '../../components/DenseRow';
import { useDenseTableStyles } from '../../components/dense-table';
import { useDebounced } from '../../components/use-debounced';
import { useListFocus } from '../../components/use-list-focus';
import { api } from '../../api/client';
import { CopyButton } from '../../components/CopyButton';
import { ErrorBar } from '../../components/ErrorBar';
import { StatusBadge, type StatusKind } from '../../components/StatusBadge';
import { formatShortTime, formatTime, timeTitle } from '../../components/format';

import { ChangeButton } from '../../components/read-only';
const ROW_HEIGHT = 34;
const PAGE = 200;

const useStyles = makeStyles({
  // The detail panel takes less of a 1024-pixel screen, so the list keeps its Message column.
  page: { display: 'grid', gridTemplateColumns: 'minmax(0, 1fr) clamp(300px, 30vw, 380px)', height: '100%' },
  pageNoPanel: { gridTemplateColumns: 'minmax(0, 1fr)' },
  main: { display: 'flex', flexDirection: 'column', minWidth: 0, minHeight: 0, padding: '16px 20px', gap: '10px' },
  titleRow: { display: 'flex', alignItems: 'center', gap: '12px', flexWrap: 'wrap' },
  spacer: { flex: 1 },
  // As many filters per line as fit, so a narrow list (detail open, 1024 pixels) wraps them instead of pushing them under the panel.
  filters: { display: 'grid', gridTemplateColumns: 'repeat(auto-fill, minmax(140px, 1fr))', gap: '8px', alignItems: 'end' },
  muted: { color: tokens.colorNeutralForeground3 },
  success: { borderLeftColor: tokens.colorPaletteGreenBorderActive },
  warning: { borderLeftColor: tokens.colorPaletteMarigoldBorderActive },
  error: { borderLeftColor: tokens.colorPaletteRedBorderActive },
  info: { borderLeftColor: tokens.colorNeutralStroke1 },
  code: { fontFamily: tokens.fontFamilyMonospace, fontSize: tokens.fontSizeBase200 },
  // The count of a repeated event, before its message: "37×".
  repeats: {
    display: 'inline-block',
    marginRight: '6px',
    padding: '0 4px',
    borderRadius: tokens.borderRadiusSmall,
    backgroundColor: tokens.colorNeutralBackground3,
    color: tokens.colorNeutralForeground1,
    fontSize: tokens.fontSizeBase200,
    fontVariantNumeric: 'tabular-nums',
  },
  newBanner: { position: 'sticky', top: '4px', zIndex: 2, display: 'flex', justifyContent: 'center', height: 0 },
  panel: { borderLeft: `1px solid ${tokens.colorNeutralStroke2}`, backgroundColor: tokens.colorNeutralBackground1, padding: '16px', display: 'flex', flexDirection: 'column', gap: '10px', overflow: 'auto' },
  panelHead: { display: 'flex', alignItems: 'flex-start', gap: '8px' },
  panelTitle: { flex: 1, minWidth: 0, overflowWrap: 'anywhere' },
  dl: { display: 'grid', gridTemplateColumns: '90px minmax(0, 1fr)', gap: '4px 8px', margin: 0 },
  dt: { color: tokens.colorNeutralForeground3 },
  dd: { margin: 0, wordBreak: 'break-word' },
  detail: {
    margin: 0,
    whiteSpace: 'pre-wrap',
    wordBreak: 'break-word',
    fontFamily: tokens.fontFamilyMonospace,
    fontSize: tokens.fontSizeBase200,
    backgroundColor: tokens.colorNeutralBackground3,
    padding: '8px',
    borderRadius: tokens.borderRadiusMedium,
  },
  empty: { padding: '40px', textAlign: 'center', color: tokens.colorNeutralForeground3 },
});

const LEVEL_KIND: Record<LogEntry['level'], StatusKind> = { success: 'success', warning: 'warning', error: 'error', info: 'info' };
const LEVEL_WORD: Record<LogEntry['level'], string> = { success: 'Success', warning: 'Warning', error: 'Error', info: 'Info' };
const DIRECTION_WORD: Record<LogEntry['direction'], string> = { send: 'Send', receive: 'Receive', test: 'Test', auth: 'Sign-in', system: 'System' };
const RANGES = { all: 0, '1h': 36e5, '24h': 864e5, '7d': 6048e5, '30d': 2592e6 } as const;
type RangeKey = keyof typeof RANGES;

/** Whether a live entry belongs in the current filter (the store applies the same rules). */
export function matchesFilter(e: LogEntry, f: LogFilterInput): boolean {
  if (f.mailboxId !== undefined && e.mailboxId !== f.mailboxId) return false;
  if (f.direction && e.direction !== f.direction) return false;
  if (f.level && e.level !== f.level) return false;
  if (f.code && e.code !== f.code) return false;
  if (f.since !== undefined && e.at < f.since) return false;
  if (f.until !== undefined && e.at >= f.until) return false;
  if (f.text) {
    const t = f.text.toLowerCase();
    if (!e.message.toLowerCase().includes(t) && !(e.detail ?? '').toLowerCase().includes(t)) return false;
  }
  return true;
}

/** Where the item an entry belongs to is shown. */
function refLink(e: LogEntry): { href: string; label: string } | undefined {
  if (e.refKind === 'connection-test' && e.mailboxId !== null) return { href: `#/tests/${e.mailboxId}`, label: 'Open connection tests' };
  if (e.refKind === 'outbox' && e.refId !== null) return { href: `#/outbox/${e.refId}`, label: `Open outbox message #${e.refId}` };
  if ((e.refKind === 'inbox' || e.refKind === 'poll') && e.refId !== null) return { href: `#/inbox/${e.refKind === 'inbox' ? e.refId : ''}`, label: e.refKind === 'inbox' ? `Open imported message #${e.refId}` : 'Open the inbox' };
  if (e.refKind === 'mailbox' || (e.mailboxId !== null && !e.refKind)) return { href: '#/mailboxes', label: 'Open mailboxes' };
  return undefined;
}

export function LogsPage() {
  const s = useStyles();
  const t = useDenseTableStyles();
  const queryClient = useQueryClient();
  const mailboxes = useQuery({ queryKey: ['mailboxes'], queryFn: () => api.mailboxes.list({}) });
  const [mailboxId, setMailboxId] = useState('');
  const [direction, setDirection] = useState('');
  const [level, setLevel] = useState('');
  const [code, setCode] = useState('');
  const [text, setText] = useState('');
  const [range, setRange] = useState<RangeKey>('all');
  const [selectedId, setSelectedId] = useState<number>();
  const [pending, setPending] = useState(0);
  const [exporting, setExporting] = useState<{ id: string; format: LogExportFormat; written: number; total: number }>();
  const [exported, setExported] = useState<LogExportResult>();
  const [exportError, setExportError] = useState<unknown>();
  const [retentionOpen, setRetentionOpen] = useState(false);
  const scrollRef = useRef<HTMLDivElement>(null);
  const debouncedText = useDebounced(text.trim(), 300);
  const debouncedCode = useDebounced(code.trim().toUpperCase(), 300);

  // The time range is fixed when chosen, so pages of one list agree.
  const since = useMemo(() => (RANGES[range] ? Date.now() - RANGES[range] : undefined), [range]);
  const filter: LogFilterInput = useMemo(
    () => ({
      ...(mailboxId ? { mailboxId: Number(mailboxId) } : {}),
      ...(direction ? { direction: direction as LogFilterInput['direction'] } : {}),
      ...(level ? { level: level as LogFilterInput['level'] } : {}),
      ...(/^[A-Z0-9_]+$/.test(debouncedCode) ? { code: debouncedCode } : {}),
      ...(debouncedText ? { text: debouncedText } : {}),
      ...(since !== undefined ? { since } : {}),
    }),
    [mailboxId, direction, level, debouncedCode, debouncedText, since],
  );

  const pages = useInfiniteQuery({
    queryKey: ['logs', filter],
    queryFn: ({ pageParam }) => api.logs.query({ filter, limit: PAGE, ...(pageParam !== undefined ? { beforeId: pageParam } : {}) }),
    initialPageParam: undefined as number | undefined,
    getNextPageParam: (last) => last.nextBeforeId ?? undefined,
  });
  const [live, setLive] = useState<LogEntry[]>([]);
  useEffect(() => {
    setLive([]);
    setPending(0);
  }, [filter]);
  const rows = useMemo(() => withoutSupersededRepeats([...live, ...(pages.data?.pages.flatMap((p) => p.entries) ?? [])]), [live, pages.data]);
  const selected = rows.find((r) => r.id === selectedId);

  const virtualizer = useVirtualizer({ count: rows.length, getScrollElement: () => scrollRef.current, estimateSize: () => ROW_HEIGHT, overscan: 12 });
  const items = virtualizer.getVirtualItems();
  const listFocus = useListFocus(scrollRef, selectedId, items.map((item) => rows[item.index]!.id));

  // Load the next page when the end of the list comes into view.
  useEffect(() => {
    const last = items[items.length - 1];
    if (last && last.index >= rows.length - 40 && pages.hasNextPage && !pages.isFetchingNextPage) void pages.fetchNextPage();
  }, [items, rows.length, pages]);

  // Live tail: new entries join at the top only while the admin is at the top; otherwise they wait behind a button.
  const filterRef = useRef(filter);
  filterRef.current = filter;
  const buffer = useRef<LogEntry[]>([]);
  useEffect(
    () =>
      api.transport.on('logs.appended', (payload) => {
        const entry = payload as LogEntry;
        if (!matchesFilter(entry, filterRef.current)) return;
        const atTop = (scrollRef.current?.scrollTop ?? 0) < ROW_HEIGHT / 2;
        if (atTop && buffer.current.length === 0) setLive((cur) => [entry, ...cur]);
        else {
          buffer.current.unshift(entry);
          setPending(buffer.current.length);
        }
      }),
    [],
  );
  const showPending = () => {
    const add = buffer.current.splice(0);
    setLive((cur) => [...add, ...cur]);
    setPending(0);
    scrollRef.current?.scrollTo({ top: 0 });
  };

  useEffect(
    () =>
      api.transport.on('logs.exportProgress', (payload) => {
        const p = payload as { exportId: string | null; written: number; total: number };
        setExporting((cur) => (cur && cur.id === p.exportId ? { ...cur, written: p.written, total: p.total } : cur));
      }),
    [],
  );

  async function runExport(format: LogExportFormat) {
    const id = `export-${Date.now()}`;
    setExported(undefined);
    setExportError(undefined);
    setExporting({ id, format, written: 0, total: 0 });
    try {
      setExported(await api.logs.export({ filter, format, exportId: id }));
    } catch (error) {
      setExportError(error);
    } finally {
      setExporting(undefined);
    }
  }

  const onKeyDown = useCallback(
    (e: KeyboardEvent) => {
      if (e.key === 'Escape') return setSelectedId(undefined);
      if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp' && e.key !== 'Home' && e.key !== 'End') return;
      e.preventDefault();
      const index = rows.findIndex((r) => r.id === selectedId);
      const next = e.key === 'Home' ? 0 : e.key === 'End' ? rows.length - 1 : Math.max(0, Math.min(rows.length - 1, index + (e.key === 'ArrowDown' ? 1 : -1)));
      const row = rows[next];
      if (row) {
        listFocus.followSelection();
        setSelectedId(row.id);
        virtualizer.scrollToIndex(next, { align: 'auto' });
      }
    },
    [rows, selectedId, virtualizer, listFocus],
  );

  // With the detail panel open the list keeps level, time and message; the panel has the rest.
  const compact = selected !== undefined;
  const columns = compact ? '96px 92px minmax(120px, 1fr)' : '96px 110px minmax(80px, 130px) 72px minmax(100px, 180px) minmax(160px, 1fr)';

  return (
    <div className={mergeClasses(s.page, !selected && s.pageNoPanel)}>
      <section className={s.main} aria-labelledby="logs-title">
        <div className={s.titleRow}>
          <Title3 as="h1" id="logs-title">Logs</Title3>
          <Caption1 className={s.muted}>Sends, receives, polls, tests, sign-ins and engine events. Newest first; new entries appear live.</Caption1>
          <span className={s.spacer} />
          <Menu>
            <MenuTrigger disableButtonEnhancement>
              <ChangeButton channel="logs.export" icon={<ArrowDownloadRegular />} disabled={Boolean(exporting)}>
                Export
              </ChangeButton>
            </MenuTrigger>
            <MenuPopover>
              <MenuList>
                <MenuItem icon={<DocumentTableRegular />} onClick={() => void runExport('xlsx')}>
                  Excel (.xlsx)
                </MenuItem>
                <MenuItem onClick={() => void runExport('html')}>Web page (.html)</MenuItem>
                <MenuItem onClick={() => void runExport('txt')}>Plain text (.txt)</MenuItem>
              </MenuList>
            </MenuPopover>
          </Menu>
          <ChangeButton channel="logs.setRetention" icon={<SettingsRegular />} onClick={() => setRetentionOpen(true)}>
            Retention
          </ChangeButton>
        </div>
        <div className={s.filters} role="search" aria-label="Log filters">
          <Field label="Mailbox" size="small">
            <Select size="small" name="mailbox" value={mailboxId} onChange={(_e, d) => setMailboxId(d.value)}>
              <option value="">All mailboxes</option>
              {mailboxes.data?.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                </option>
              ))}
            </Select>
          </Field>
          <Field label="Direction" size="small">
            <Select size="small" name="direction" value={direction} onChange={(_e, d) => setDirection(d.value)}>
              <option value="">All</option>
              {LOG_DIRECTIONS.map((d) => (
                <option key={d} value={d}>
                  {DIRECTION_WORD[d]}
                </option>
              ))}
            </Select>
          </Field>
          <Field label="Level" size="small">
            <Select size="small" name="level" value={level} onChange={(_e, d) => setLevel(d.value)}>
              <option value="">All</option>
              {LOG_LEVELS.map((l) => (
                <option key={l} value={l}>
                  {LEVEL_WORD[l]}
                </option>
              ))}
            </Select>
          </Field>
          <Field label="Code" size="small">
            <Input size="small" name="code" value={code} placeholder="AUTH_FAILED" onChange={(_e, d) => setCode(d.value)} />
          </Field>
          <Field label="Text" size="small">
            <Input size="small" name="text" type="search" value={text} placeholder="Search messages" onChange={(_e, d) => setText(d.value)} />
          </Field>
          <Field label="Time" size="small">
            <Select size="small" name="range" value={range} onChange={(_e, d) => setRange(d.value as RangeKey)}>
              <option value="all">Any time</option>
              <option value="1h">Last hour</option>
              <option value="24h">Last 24 hours</option>
              <option value="7d">Last 7 days</option>
              <option value="30d">Last 30 days</option>
            </Select>
          </Field>
        </div>
        {exporting && (
          <Field label={`Exporting ${exporting.format.toUpperCase()}… ${exporting.written} of ${exporting.total || '?'} entries`} validationState="none">
            <ProgressBar value={exporting.total ? exporting.written / exporting.total : undefined} />
          </Field>
        )}
        {exported && (
          <MessageBar intent="success" role="status">
            <MessageBarBody>
              Exported {exported.rows} entries to {exported.path}.{' '}
              {api.transport.kind === 'console' && (
                <a href={`/downloads/${encodeURIComponent(exported.fileName)}`} download={exported.fileName}>
                  Download {exported.fileName}
                </a>
              )}
            </MessageBarBody>
          </MessageBar>
        )}
        <ErrorBar error={exportError ?? pages.error} />
        <div className={t.table} role="grid" aria-label="Log entries" aria-rowcount={rows.length} style={{ ['--table-columns' as string]: columns }}>
          <div className={t.header} role="row">
            <span role="columnheader">Level</span>
            <span role="columnheader">Time</span>
            {!compact && <span role="columnheader">Mailbox</span>}
            {!compact && <span role="columnheader">Direction</span>}
            {!compact && <span role="columnheader">Code</span>}
            <span role="columnheader">Message</span>
          </div>
          <div ref={scrollRef} className={t.scroller} role="rowgroup" onKeyDown={onKeyDown} aria-label="Log entries, use the arrow keys to move">
            {pending > 0 && (
              <div className={s.newBanner}>
                <Button size="small" appearance="primary" icon={<ArrowUpRegular />} onClick={showPending}>
                  {pending} new {pending === 1 ? 'entry' : 'entries'}
                </Button>
              </div>
            )}
            {!pages.isLoading && rows.length === 0 && <div className={s.empty}>No log entries match these filters.</div>}
            <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
              {items.map((item) => {
                const e = rows[item.index]!;
                return (
                  <DenseRow
                    key={e.id}
                    top={item.start}
                    height={ROW_HEIGHT}
                    selected={e.id === selectedId}
                    tabbable={e.id === listFocus.tabbableId}
                    rowKey={e.id}
                    className={s[e.level]}
                    onSelect={() => setSelectedId(e.id)}
                    data-log-id={e.id}
                    data-level={e.level}
                  >
                    <span role="gridcell">
                      <StatusBadge kind={LEVEL_KIND[e.level]} label={LEVEL_WORD[e.level]} />
                    </span>
                    <span role="gridcell" className={mergeClasses(t.cell, t.time)} title={`${formatTime(e.at)} · ${timeTitle(e.at)}`}>
                      {formatShortTime(e.at)}
                    </span>
                    {!compact && (
                      <span role="gridcell" className={t.cell}>
                        {e.mailboxName ?? (e.mailboxId !== null ? `#${e.mailboxId}` : '—')}
                      </span>
                    )}
                    {!compact && (
                      <span role="gridcell" className={t.cell}>
                        {DIRECTION_WORD[e.direction]}
                      </span>
                    )}
                    {!compact && (
                      <span role="gridcell" className={mergeClasses(t.cell, s.code)} title={e.code ?? undefined}>
                        {e.code ?? ''}
                      </span>
                    )}
                    <span role="gridcell" className={t.cell} title={`${e.code ? `${e.code}: ${e.message}` : e.message}${e.repeats > 1 ? ` (${repeatWords(e)})` : ''}`}>
                      {e.repeats > 1 ? (
                        <span className={s.repeats} data-repeats={e.repeats}>
                          {e.repeats}×
                        </span>
                      ) : null}
                      {compact && e.code ? <span className={s.code}>{e.code} · </span> : null}
                      {e.message}
                    </span>
                  </DenseRow>
                );
              })}
            </div>
          </div>
        </div>
        <Caption1 className={s.muted}>
          {rows.length} shown{pages.hasNextPage ? ' (more load as you scroll)' : ''} · Keyboard: Tab to the list, then arrows, Home and End; Escape closes the entry.
        </Caption1>
      </section>

      {selected && (
        <aside className={s.panel} aria-label="Log entry">
          <div className={s.panelHead}>
            <Subtitle2 className={s.panelTitle}>{selected.message}</Subtitle2>
            <Button appearance="subtle" size="small" icon={<DismissRegular />} aria-label="Close the entry" onClick={() => setSelectedId(undefined)} />
          </div>
          <div>
            <StatusBadge kind={LEVEL_KIND[selected.level]} label={LEVEL_WORD[selected.level]} />{' '}
            {selected.code && (
              <>
                <Badge appearance="outline" shape="rounded">
                  {selected.code}
                </Badge>
                <CopyButton text={selected.code} label="Copy the code" />
              </>
            )}
          </div>
          <dl className={s.dl}>
            <dt className={s.dt}>{selected.repeats > 1 ? 'Last time' : 'Time'}</dt>
            <dd className={s.dd} title={timeTitle(selected.at)}>
              {formatTime(selected.at)}
            </dd>
            {selected.repeats > 1 && (
              <>
                <dt className={s.dt}>First time</dt>
                <dd className={s.dd} title={timeTitle(selected.firstAt ?? selected.at)}>
                  {formatTime(selected.firstAt ?? selected.at)}
                </dd>
                <dt className={s.dt}>Times</dt>
                <dd className={s.dd} data-testid="log-repeats">
                  {selected.repeats} times in a row (one entry; the description is the last one&apos;s)
                </dd>
              </>
            )}
            <dt className={s.dt}>Mailbox</dt>
            <dd className={s.dd}>{selected.mailboxName ?? '—'}</dd>
            <dt className={s.dt}>Direction</dt>
            <dd className={s.dd}>{DIRECTION_WORD[selected.direction]}</dd>
            <dt className={s.dt}>Entry</dt>
            <dd className={s.dd}>#{selected.id}</dd>
          </dl>
          {selected.detail && (
            <>
              <Body1>Full description</Body1>
              <pre className={s.detail}>{selected.detail}</pre>
              <CopyButton text={`${selected.message}\n${selected.detail}`} label="Copy entry">
                Copy entry
              </CopyButton>
            </>
          )}
          {refLink(selected) && <a href={refLink(selected)!.href}>{refLink(selected)!.label}</a>}
        </aside>
      )}
      {retentionOpen && <RetentionDialog onClose={() => setRetentionOpen(false)} onPruned={() => void queryClient.invalidateQueries({ queryKey: ['logs'] })} />}
    </div>
  );
}

/** "37 times, first 12/2/2026, 10:00:00 AM, last 12/2/2026, 10:36:00 AM". */
function repeatWords(e: LogEntry): string {
  return `${e.repeats} times, first ${formatTime(e.firstAt ?? e.at)}, last ${formatTime(e.at)}`;
}

/**
 * Drops the rows a repeat replaced: the store keeps one entry per run of
 * repeats (newest id), and a live entry with `repeats` n replaces the shown
 * one of the same run with n - 1 (same mailbox, message and first time).
 */
function withoutSupersededRepeats(rows: LogEntry[]): LogEntry[] {
  const runKey = (e: LogEntry, repeats: number) => `${e.mailboxId ?? ''}|${e.firstAt ?? e.at}|${repeats}|${e.level}|${e.code ?? ''}|${e.message}`;
  const replaced = new Set<string>();
  for (const e of rows) if (e.repeats > 1) replaced.add(runKey(e, e.repeats - 1));
  return replaced.size ? rows.filter((e) => !replaced.has(runKey(e, e.repeats))) : rows;
}

function RetentionDialog({ onClose, onPruned }: { onClose(): void; onPruned(): void }) {
  const current = useQuery({ queryKey: ['logs.retention'], queryFn: () => api.logs.retention({}) });
  const [days, setDays] = useState<string>();
  const [rows, setRows] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [result, setResult] = useState<string>();
  const save = async () => {
    setError(undefined);
    try {
      await api.logs.setRetention({ maxDays: Number(days ?? current.data?.maxDays), maxRows: Number(rows ?? current.data?.maxRows) });
      const { removed } = await api.logs.prune({});
      setResult(`Saved. ${removed} old entries removed.`);
      onPruned();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Dialog open onOpenChange={(_e, d) => !d.open && onClose()}>
      <DialogSurface>
        <DialogBody>
          <DialogTitle>Log retention</DialogTitle>
          <DialogContent style={{ display: 'flex', flexDirection: 'column', gap: 12 }}>
            <Body1>Older entries are removed in the background, a few thousand at a time, so the screens never wait.</Body1>
            <Field label="Keep entries for (days)">
              <Input type="number" value={days ?? String(current.data?.maxDays ?? '')} onChange={(_e, d) => setDays(d.value)} />
            </Field>
            <Field label="Keep at most (entries)">
              <Input type="number" value={rows ?? String(current.data?.maxRows ?? '')} onChange={(_e, d) => setRows(d.value)} />
            </Field>
            {result && <Caption1>{result}</Caption1>}
            <ErrorBar error={error} />
          </DialogContent>
          <DialogActions>
            <Button onClick={onClose}>Close</Button>
            <Button appearance="primary" onClick={() => void save()}>
              Save and prune now
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}
