/**
 * The first screen: is mail flowing? A summary line, one row per mailbox
 * (state with its reason, last receive and send, queue, token expiry, last
 * connection test, last round trip), a detail panel with what explains the
 * state and the mailbox's round-trip probe, and a chart of round-trip times
 * over 24 hours or 7 days with failures marked. Live from `health.changed`
 * and `probes.finished`.
 */
import {
  Button,
  Caption1,
  Field,
  Input,
  Switch,
  Tab,
  TabList,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Text,
  Title3,
  makeStyles,
  mergeClasses,
  tokens,
} from '@fluentui/react-components';
import { ArrowSyncRegular, OpenRegular, SendClockRegular } from '@fluentui/react-icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Suspense, lazy, useEffect, useRef, useState } from 'react';
import { api } from '../../api/client';
import { HEALTH_STATE_WORDS, type HealthExplain, type HealthState, type MailboxHealth, type ProbeRecord } from '../../../src-main/shared/health.js';
import { StatusBadge, type StatusKind } from '../../components/StatusBadge';
import { ErrorBar } from '../../components/ErrorBar';
import { formatDuration, formatShortTime, timeTitle } from '../../components/format';
import { useElementWidth } from '../../components/use-element-width';
import { BrowserNotifications } from './BrowserNotifications';

// The chart library (and d3) loads with the chart, not with every screen of the app.
const RoundTripChart = lazy(() => import('./RoundTripChart'));

/** The status vocabulary of each state. */
export const STATE_LOOK: Record<HealthState, StatusKind> = { healthy: 'success', degraded: 'warning', failing: 'error', 'sign-in-needed': 'error', disabled: 'disabled' };

const useStyles = makeStyles({
  page: { display: 'flex', flexDirection: 'column', gap: '12px', padding: '16px 20px', minWidth: 0 },
  summary: { display: 'flex', alignItems: 'center', gap: '12px', flexWrap: 'wrap' },
  summaryText: { fontSize: tokens.fontSizeBase400, fontWeight: tokens.fontWeightSemibold },
  spacer: { flex: 1 },
  body: { display: 'grid', gridTemplateColumns: 'minmax(0, 1fr) 320px', gap: '12px', alignItems: 'start' },
  bodyNarrow: { gridTemplateColumns: 'minmax(0, 1fr)' },
  card: { backgroundColor: tokens.colorNeutralBackground1, borderRadius: tokens.borderRadiusMedium, boxShadow: tokens.shadow2, minWidth: 0 },
  tableWrap: { overflow: 'auto', maxHeight: '360px' },
  table: { tableLayout: 'fixed', minWidth: '760px' },
  head: { position: 'sticky', top: 0, backgroundColor: tokens.colorNeutralBackground1, zIndex: 1, fontWeight: tokens.fontWeightSemibold },
  row: { cursor: 'pointer' },
  selected: { backgroundColor: tokens.colorNeutralBackground1Selected },
  stack: { display: 'flex', flexDirection: 'column', minWidth: 0, padding: '4px 0' },
  muted: { color: tokens.colorNeutralForeground3 },
  ellipsis: { display: 'block', overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' },
  num: { fontVariantNumeric: 'tabular-nums' },
  detail: { display: 'flex', flexDirection: 'column', gap: '10px', padding: '12px 14px' },
  reason: { overflowWrap: 'anywhere' },
  reasons: { margin: 0, paddingLeft: '18px', display: 'flex', flexDirection: 'column', gap: '4px', overflowWrap: 'anywhere' },
  actions: { display: 'flex', gap: '6px', flexWrap: 'wrap' },
  chart: { padding: '8px 12px 12px' },
  chartHead: { display: 'flex', alignItems: 'center', gap: '12px', flexWrap: 'wrap' },
  empty: { padding: '16px', color: tokens.colorNeutralForeground3 },
});

/** Where a row's explanation is: the sign-in, the failed test, the stuck message, the failed poll. */
export function explainHref(explain: HealthExplain, mailboxId: number): string | null {
  switch (explain.kind) {
    case 'sign-in':
    case 'mailbox':
      return `#/mailboxes/${mailboxId}`;
    case 'connection-test':
      return `#/tests/${mailboxId}`;
    case 'outbox-message':
      return `#/outbox/${explain.id}`;
    case 'inbox-poll':
      return '#/inbox';
    case 'probe':
      return null;
  }
}

const EXPLAIN_WORDS: Record<HealthExplain['kind'], string> = {
  'sign-in': 'Open the sign-in',
  mailbox: 'Open the mailbox',
  'connection-test': 'Open the connection tests',
  'outbox-message': 'Open the waiting message',
  'inbox-poll': 'Open the receive log',
  probe: 'See the round trip below',
};

function When({ ms, now }: { ms: number | null; now: number }) {
  const s = useStyles();
  if (ms === null) return <span className={s.muted}>never</span>;
  return <span title={timeTitle(ms)}>{formatShortTime(ms, now)}</span>;
}

function age(ms: number | null, now: number): string {
  if (ms === null) return '';
  return `${formatDuration(Math.max(0, now - ms)).replace(/ \d+ s$/, '')} ago`;
}

function probeText(p: ProbeRecord | null): string {
  if (!p) return 'not run';
  if (p.status === 'running') return 'running…';
  if (p.status === 'delivered') return formatDuration(p.totalMs ?? 0);
  return p.diagnosis?.code ?? 'failed';
}

/** The right panel: why, what explains it, the probe and its settings. */
function HealthDetail({ row, now }: { row: MailboxHealth; now: number }) {
  const s = useStyles();
  const client = useQueryClient();
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [interval, setIntervalText] = useState(String(Math.round(row.probe.intervalSeconds / 60)));
  const [target, setTarget] = useState(row.probe.targetAddress ?? '');
  useEffect(() => {
    setIntervalText(String(Math.round(row.probe.intervalSeconds / 60)));
    setTarget(row.probe.targetAddress ?? '');
  }, [row.mailboxId, row.probe.intervalSeconds, row.probe.targetAddress]);
  const href = explainHref(row.explain, row.mailboxId);
  const save = async (change: { enabled?: boolean; intervalSeconds?: number; targetAddress?: string | null }) => {
    setError(null);
    try {
      await api.health.saveProbeSettings({ mailboxId: row.mailboxId, ...change });
      await client.invalidateQueries({ queryKey: ['health'] });
    } catch (e) {
      setError(e);
    }
  };
  const runNow = async () => {
    setRunning(true);
    setError(null);
    try {
      await api.health.runProbe({ mailboxId: row.mailboxId });
    } catch (e) {
      setError(e);
    } finally {
      setRunning(false);
      await client.invalidateQueries({ queryKey: ['health'] });
    }
  };
  const p = row.lastProbe;
  return (
    <aside className={mergeClasses(s.card, s.detail)} aria-label={`${row.name}: mail flow`} data-region="detail">
      <div className={s.summary}>
        <Title3 as="h2">{row.name}</Title3>
        <StatusBadge kind={STATE_LOOK[row.state]} label={HEALTH_STATE_WORDS[row.state]} />
      </div>
      <Text className={s.reason}>{row.reason}</Text>
      {row.since !== null ? <Caption1 title={timeTitle(row.since)}>Since {formatShortTime(row.since, now)}</Caption1> : null}
      {row.reasons.length > 1 ? (
        <ul className={s.reasons} aria-label="Everything that is not right">
          {row.reasons.slice(1).map((r) => (
            <li key={r.rule}>{r.text}</li>
          ))}
        </ul>
      ) : null}
      {href ? (
        <div>
          <Button icon={<OpenRegular />} onClick={() => (location.hash = href)}>
            {EXPLAIN_WORDS[row.explain.kind]}
          </Button>
        </div>
      ) : null}
      {row.tokenExpiresAt !== null ? (
        <Caption1 title={timeTitle(row.tokenExpiresAt)}>Microsoft 365 access token {row.tokenExpiresAt > now ? 'expires' : 'expired'} {formatShortTime(row.tokenExpiresAt, now)} (renewed automatically while signed in)</Caption1>
      ) : null}
      {row.clientSecretExpiresAt !== null ? (
        <Caption1 title={timeTitle(row.clientSecretExpiresAt)} data-field="client-secret-expiry">
          App-only {row.clientCredential === 'certificate' ? 'certificate' : 'client secret'} {row.clientSecretExpiresAt > now ? 'expires' : 'expired'} {formatShortTime(row.clientSecretExpiresAt, now)} (renewed by the admin in the app registration, not automatically)
        </Caption1>
      ) : null}
      {row.lastConnectionTest ? (
        <Caption1 title={timeTitle(row.lastConnectionTest.at)}>
          Last connection test {formatShortTime(row.lastConnectionTest.at, now)}: {row.lastConnectionTest.ok ? 'passed' : `failed (${row.lastConnectionTest.code ?? 'no code'})`}
        </Caption1>
      ) : null}
      <Text weight="semibold">Round-trip probe</Text>
      {p ? (
        <Caption1 className={s.reason}>
          Last: {p.status === 'delivered' ? `arrived in ${p.folder} after ${formatDuration(p.totalMs ?? 0)} (sent ${formatDuration(p.sendMs ?? 0)}, delivered ${formatDuration(p.deliverMs ?? 0)})` : `${p.diagnosis?.code}: ${p.diagnosis?.message}`}{' '}
          <span title={timeTitle(p.startedAt)}>({formatShortTime(p.startedAt, now)})</span>
          {p.diagnosis?.hint ? <><br />What to change: {p.diagnosis.hint}</> : null}
        </Caption1>
      ) : (
        <Caption1>No probe yet.</Caption1>
      )}
      <Switch
        label={row.probe.enabled ? `On: every ${Math.round(row.probe.intervalSeconds / 60)} min` : 'Scheduled probes off'}
        checked={row.probe.enabled}
        onChange={(_, d) => void save({ enabled: d.checked })}
      />
      <Field label="Every (minutes)" size="small">
        <Input size="small" type="number" min={1} value={interval} onChange={(_, d) => setIntervalText(d.value)} onBlur={() => void save({ intervalSeconds: Number(interval) * 60 })} />
      </Field>
      <Field label="Send probes to" hint={`Empty: the mailbox's own address (${row.address})`} size="small">
        <Input size="small" value={target} placeholder={row.address} onChange={(_, d) => setTarget(d.value)} onBlur={() => void save({ targetAddress: target.trim() ? target.trim() : null })} />
      </Field>
      <div className={s.actions}>
        <Button icon={<SendClockRegular />} disabled={running || row.state === 'disabled'} onClick={() => void runNow()}>
          {running ? 'Waiting for the probe…' : 'Run a probe now'}
        </Button>
      </div>
      {error ? <ErrorBar error={error} /> : null}
    </aside>
  );
}

export function HealthPage() {
  const s = useStyles();
  const client = useQueryClient();
  const overview = useQuery({ queryKey: ['health', 'overview'], queryFn: () => api.health.overview({}) });
  // #/health/<mailboxId> (a notification's click) selects that mailbox.
  const fromHash = () => {
    const m = /^#\/health\/(\d+)/.exec(location.hash);
    return m ? Number(m[1]) : null;
  };
  const [selectedId, setSelectedId] = useState<number | null>(fromHash);
  useEffect(() => {
    const onHash = () => {
      const id = fromHash();
      if (id !== null) setSelectedId(id);
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const pageRef = useRef<HTMLDivElement>(null);
  const width = useElementWidth(pageRef);
  useEffect(() => {
    const refresh = () => void client.invalidateQueries({ queryKey: ['health'] });
    const offs = [api.transport.on('health.changed', refresh), api.transport.on('probes.finished', refresh), api.transport.on('mailboxes.changed', refresh)];
    // Ages grow without events: read again every minute.
    const timer = setInterval(refresh, 60_000);
    return () => {
      for (const off of offs) off();
      clearInterval(timer);
    };
  }, [client]);
  const data = overview.data;
  const rows = data?.mailboxes ?? [];
  const selected = rows.find((r) => r.mailboxId === selectedId) ?? null;
  const now = data?.at ?? Date.now();
  const narrow = width !== undefined && width < 900;
  return (
    <div className={s.page} ref={pageRef}>
      <div className={s.summary} data-region="toolbar">
        {data ? <StatusBadge kind={STATE_LOOK[data.worst]} label={HEALTH_STATE_WORDS[data.worst]} title="The worst state of the enabled mailboxes" /> : null}
        <Text as="h1" className={s.summaryText} data-testid="health-summary">
          {data ? data.summary : 'Reading the mail flow…'}
        </Text>
        <span className={s.spacer} />
        <BrowserNotifications overview={data} />
        <Button icon={<ArrowSyncRegular />} appearance="subtle" onClick={() => void overview.refetch()}>
          Refresh
        </Button>
      </div>
      {overview.error ? <ErrorBar error={overview.error} /> : null}
      <div className={mergeClasses(s.body, (narrow || !selected) && s.bodyNarrow)}>
        <section className={mergeClasses(s.card, s.tableWrap)} aria-label="Mailboxes and their mail flow" data-region="list">
          {data && !rows.length ? (
            <div className={s.empty}>
              No mailboxes yet. Add one on the <a href="#/mailboxes">Mailboxes</a> screen.
            </div>
          ) : (
            <Table size="small" className={s.table} aria-label="Mail flow per mailbox">
              <TableHeader className={s.head}>
                <TableRow>
                  <TableHeaderCell style={{ width: '14%' }}>Mailbox</TableHeaderCell>
                  <TableHeaderCell style={{ width: '16%' }}>State</TableHeaderCell>
                  <TableHeaderCell style={{ width: '26%' }}>Reason</TableHeaderCell>
                  <TableHeaderCell style={{ width: '10%' }}>Received</TableHeaderCell>
                  <TableHeaderCell style={{ width: '10%' }}>Sent</TableHeaderCell>
                  <TableHeaderCell style={{ width: '8%' }}>Queue</TableHeaderCell>
                  <TableHeaderCell style={{ width: '8%' }}>Test</TableHeaderCell>
                  <TableHeaderCell style={{ width: '10%' }}>Round trip</TableHeaderCell>
                </TableRow>
              </TableHeader>
              <TableBody>
                {rows.map((r) => (
                  <TableRow
                    key={r.mailboxId}
                    className={mergeClasses(s.row, r.mailboxId === selectedId && s.selected)}
                    onClick={() => setSelectedId(r.mailboxId)}
                    onKeyDown={(e) => {
                      if (e.key === 'Enter' || e.key === ' ') {
                        e.preventDefault();
                        setSelectedId(r.mailboxId);
                      }
                    }}
                    tabIndex={0}
                    aria-selected={r.mailboxId === selectedId}
                    data-health-mailbox={r.name}
                  >
                    <TableCell>
                      <div className={s.stack}>
                        <span className={s.ellipsis}>{r.name}</span>
                        <Caption1 className={mergeClasses(s.ellipsis, s.muted)}>{r.address}</Caption1>
                      </div>
                    </TableCell>
                    <TableCell>
                      <StatusBadge kind={STATE_LOOK[r.state]} label={HEALTH_STATE_WORDS[r.state]} />
                    </TableCell>
                    <TableCell title={r.reason}>
                      <span className={s.ellipsis}>{r.reason}</span>
                    </TableCell>
                    <TableCell>
                      <div className={s.stack}>
                        <When ms={r.lastReceiveAt} now={now} />
                        <Caption1 className={s.muted}>{age(r.lastReceiveAt, now)}</Caption1>
                      </div>
                    </TableCell>
                    <TableCell>
                      <div className={s.stack}>
                        <When ms={r.lastSendAt} now={now} />
                        <Caption1 className={s.muted}>{age(r.lastSendAt, now)}</Caption1>
                      </div>
                    </TableCell>
                    <TableCell className={s.num} title={r.queue.oldestAgeSeconds !== null ? `Oldest waiting ${formatDuration(r.queue.oldestAgeSeconds * 1000)}` : 'Nothing waiting'}>
                      {r.queue.pending}
                      {r.queue.oldestAgeSeconds !== null ? <Caption1 className={s.muted}> · {formatDuration(r.queue.oldestAgeSeconds * 1000).replace(/ \d+ s$/, '')}</Caption1> : null}
                    </TableCell>
                    <TableCell>
                      {r.lastConnectionTest ? <StatusBadge kind={r.lastConnectionTest.ok ? 'success' : 'error'} label={r.lastConnectionTest.ok ? 'Passed' : r.lastConnectionTest.code ?? 'Failed'} /> : <span className={s.muted}>none</span>}
                    </TableCell>
                    <TableCell className={s.num} title={[r.tokenExpiresAt ? `Access token expires ${timeTitle(r.tokenExpiresAt)}` : null, r.clientSecretExpiresAt ? `${r.clientCredential === 'certificate' ? 'Certificate' : 'Client secret'} expires ${timeTitle(r.clientSecretExpiresAt)}` : null].filter(Boolean).join('; ') || undefined}>
                      <span className={s.ellipsis}>{probeText(r.lastProbe)}</span>
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          )}
        </section>
        {selected ? <HealthDetail row={selected} now={now} /> : null}
      </div>
      <Suspense fallback={<Caption1>Loading the round-trip chart…</Caption1>}>
        <RoundTripChart mailboxes={rows} />
      </Suspense>
    </div>
  );
}
