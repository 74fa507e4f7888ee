/**
 * The round-trip chart of the Mail flow screen: one line per mailbox (seconds),
 * failures as red bands, over 24 hours or 7 days, drawn with @fluentui/react-charts.
 * Loaded on its own (React.lazy), so the chart library is not part of every screen.
 */
import { Caption1, Tab, TabList, Text, makeStyles, mergeClasses, tokens } from '@fluentui/react-components';
import { LineChart, type ChartProps, type LineChartPoints } from '@fluentui/react-charts';
import { useQuery } from '@tanstack/react-query';
import { useMemo, useRef, useState } from 'react';
import { api } from '../../api/client';
import type { MailboxHealth, ProbeRecord } from '../../../src-main/shared/health.js';
import { ErrorBar } from '../../components/ErrorBar';
import { useElementWidth } from '../../components/use-element-width';

const useStyles = makeStyles({
  card: { backgroundColor: tokens.colorNeutralBackground1, borderRadius: tokens.borderRadiusMedium, boxShadow: tokens.shadow2, minWidth: 0 },
  chart: { padding: '8px 12px 12px' },
  chartHead: { display: 'flex', alignItems: 'center', gap: '12px', flexWrap: 'wrap' },
  spacer: { flex: 1 },
  empty: { padding: '16px', color: tokens.colorNeutralForeground3 },
});

/** The round-trip chart: one line per mailbox (seconds), failures marked as red bands. */
export default function RoundTripChart({ mailboxes }: { mailboxes: MailboxHealth[] }) {
  const s = useStyles();
  const [period, setPeriod] = useState<'day' | 'week'>('day');
  const periodMs = period === 'day' ? 24 * 3600_000 : 7 * 24 * 3600_000;
  const probes = useQuery({ queryKey: ['health', 'probes', period], queryFn: () => api.health.probes({ periodMs }) });
  const ref = useRef<HTMLDivElement>(null);
  const width = useElementWidth(ref);
  const names = useMemo(() => new Map(mailboxes.map((m) => [m.mailboxId, m.name])), [mailboxes]);
  const data = useMemo<ChartProps>(() => {
    const rows = probes.data ?? [];
    const byMailbox = new Map<number, ProbeRecord[]>();
    for (const p of rows) if (p.status === 'delivered') byMailbox.set(p.mailboxId, [...(byMailbox.get(p.mailboxId) ?? []), p]);
    const palette = [tokens.colorPaletteBlueForeground2, tokens.colorPaletteGreenForeground1, tokens.colorPaletteBerryForeground1, tokens.colorPaletteMarigoldForeground1, tokens.colorPaletteTealForeground2];
    const lines: LineChartPoints[] = [...byMailbox.entries()].map(([id, list], i) => ({
      legend: names.get(id) ?? `Mailbox ${id}`,
      color: palette[i % palette.length],
      data: list.map((p) => ({ x: new Date(p.startedAt), y: Math.round((p.totalMs ?? 0) / 100) / 10 })),
    }));
    return { chartTitle: 'Round-trip time (seconds)', lineChartData: lines };
  }, [probes.data, names]);
  const failures = (probes.data ?? []).filter((p) => p.status === 'failed');
  // A failure is a band wide enough to see: 1/150 of the period.
  const band = periodMs / 150;
  const bars = failures.length
    ? [{ legend: `Failed (${failures.length})`, color: tokens.colorPaletteRedBackground3, data: failures.map((p) => ({ startX: new Date(p.startedAt - band / 2), endX: new Date(p.startedAt + band / 2) })) }]
    : [];
  // The engine averages delivered round trips into about 200 points per mailbox (one per bucket).
  const bucketMinutes = Math.max(1, Math.round(periodMs / 200 / 60_000));
  return (
    <section className={mergeClasses(s.card, s.chart)} aria-label="Round-trip time chart" data-region="main">
      <div className={s.chartHead}>
        <Text weight="semibold">Round trips</Text>
        <TabList size="small" selectedValue={period} onTabSelect={(_, d) => setPeriod(d.value as 'day' | 'week')}>
          <Tab value="day">Last 24 hours</Tab>
          <Tab value="week">Last 7 days</Tab>
        </TabList>
        <span className={s.spacer} />
        <Caption1 data-testid="chart-counts">
          {failures.length} failed; delivered round trips averaged per {bucketMinutes} min
        </Caption1>
      </div>
      <div ref={ref}>
        {probes.error ? <ErrorBar error={probes.error} /> : null}
        {(probes.data ?? []).length === 0 ? (
          <div className={s.empty}>No round trips in this period. Turn probes on for a mailbox (select it above) or run one now.</div>
        ) : (
          <LineChart data={data} colorFillBars={bars} height={240} width={width ? Math.max(320, Math.floor(width)) : 600} yAxisTitle="seconds" />
        )}
      </div>
    </section>
  );
}

