/**
 * "Basic auth retirement" on the Mailboxes screen: every mailbox side and
 * relay account that still signs in to Microsoft 365 with a password (or
 * whose server speaks only TLS 1.0/1.1), what breaks and when, and the way
 * out in one click where Mailroom can do it: switch the mailbox to
 * Microsoft 365 OAuth 2.0 (the form opens with it chosen), or, when the
 * organisation's app-only registration is set up, to app-only access ("Use
 * app-only"), or send a relay account's mail through a mailbox that signs
 * in with OAuth. The same
 * report as `mailroom readiness --json`. Shown only when something is at risk.
 */
import {
  Button,
  Caption1,
  Subtitle2,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  makeStyles,
  tokens,
} from '@fluentui/react-components';
import { ArrowRoutingRegular, BuildingRegular, CloudArrowUpRegular, KeyResetRegular } from '@fluentui/react-icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { ReadinessMailboxRow, ReadinessRelayRow } from '../../../src-main/shared/readiness.js';
import { api } from '../../api/client';
import { ChangeButton } from '../../components/read-only';
import { ErrorBar } from '../../components/ErrorBar';
import { StatusBadge } from '../../components/StatusBadge';

const useStyles = makeStyles({
  card: {
    backgroundColor: tokens.colorNeutralBackground1,
    borderRadius: tokens.borderRadiusMedium,
    boxShadow: tokens.shadow2,
    borderLeft: `4px solid ${tokens.colorPaletteMarigoldBorderActive}`,
    padding: '12px 16px',
    display: 'flex',
    flexDirection: 'column',
    gap: '8px',
    minWidth: 0,
    // Never more than about half the pane, so the mailbox list below keeps its rows (the card scrolls).
    flexShrink: 0,
    maxHeight: '42vh',
    overflowY: 'auto',
  },
  head: { display: 'flex', alignItems: 'baseline', gap: '12px', flexWrap: 'wrap' },
  muted: { color: tokens.colorNeutralForeground3 },
  table: { tableLayout: 'fixed', width: '100%' },
  wrap: { overflowWrap: 'anywhere', whiteSpace: 'normal', verticalAlign: 'top', paddingTop: '6px', paddingBottom: '6px' },
  reason: { display: 'block' },
  action: { display: 'block', color: tokens.colorNeutralForeground3 },
  top: { verticalAlign: 'top', paddingTop: '6px', paddingBottom: '6px' },
  ways: { display: 'flex', flexWrap: 'wrap', gap: '4px' },
});

const RISK_LOOK = { broken: { kind: 'error', label: 'Broken' }, soon: { kind: 'warning', label: 'Soon' }, none: { kind: 'success', label: 'Ready' } } as const;

type Row = (ReadinessMailboxRow & { relay?: false }) | (ReadinessRelayRow & { relay: true });

/**
 * `onSwitch` opens a mailbox's form with delegated OAuth (`oauth`), app-only
 * access (`app-only`) or Microsoft Graph for sending or receiving
 * (`graph-send`, `graph-receive`) chosen.
 */
export function ReadinessCard({ onSwitch }: { onSwitch(mailboxId: number, to: 'oauth' | 'app-only' | 'graph-send' | 'graph-receive'): void }) {
  const s = useStyles();
  const queryClient = useQueryClient();
  const report = useQuery({ queryKey: ['readiness'], queryFn: () => api.readiness.report({}), staleTime: 60_000 });
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<unknown>();
  const [notice, setNotice] = useState<string>();

  if (!report.data) return null;
  const rows: Row[] = [...report.data.mailboxes.map((r) => ({ ...r, relay: false as const })), ...report.data.relayAccounts.map((r) => ({ ...r, relay: true as const }))].filter((r) => r.risk !== 'none');
  if (!rows.length) return null;
  const days = Math.ceil((report.data.basicSmtpAuthOffAt - report.data.checkedAt) / 86_400_000);

  const relayThrough = async (row: ReadinessRelayRow) => {
    if (!row.fix?.targetMailboxId || !row.fix.account) return;
    setBusy(row.account);
    setError(undefined);
    try {
      await api.outbox.saveRelaySettings({ updateAccounts: [{ username: row.fix.account, mailboxId: row.fix.targetMailboxId }] });
      setNotice(`Relay account ${row.fix.account} now sends through ${row.fix.targetMailbox}.`);
      await queryClient.invalidateQueries({ queryKey: ['readiness'] });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(undefined);
    }
  };

  return (
    <section className={s.card} aria-labelledby="readiness-title" data-testid="readiness-card">
      <div className={s.head}>
        <Subtitle2 as="h2" id="readiness-title">
          Basic auth retirement
        </Subtitle2>
        <Caption1 className={s.muted}>
          {days > 0 ? `Microsoft 365 turns password sign-in for SMTP AUTH off by default in ${days} days (end of December 2026, MC786329).` : 'Microsoft 365 turned password sign-in for SMTP AUTH off by default (end of December 2026, MC786329).'}
        </Caption1>
      </div>
      {notice && <Caption1 role="status">{notice}</Caption1>}
      <ErrorBar error={error} />
      <Table size="small" aria-label="Sign-ins at risk" className={s.table}>
        <TableHeader>
          <TableRow>
            <TableHeaderCell style={{ width: '22%' }}>Mailbox or relay account</TableHeaderCell>
            <TableHeaderCell style={{ width: '104px' }}>Risk</TableHeaderCell>
            <TableHeaderCell>What breaks</TableHeaderCell>
            <TableHeaderCell style={{ width: '24%' }}>Way out</TableHeaderCell>
          </TableRow>
        </TableHeader>
        <TableBody>
          {rows.map((r) => {
            const key = `${r.relay ? 'relay' : 'mailbox'}:${r.name}:${r.protocol}`;
            const look = RISK_LOOK[r.risk];
            return (
              <TableRow key={key} data-readiness={key}>
                <TableCell className={s.wrap}>
                  {r.relay ? `Relay account ${r.name}` : r.name}
                  <Caption1 className={s.reason}>
                    {r.protocol.toUpperCase()} · {r.auth === 'password' ? 'password' : r.auth}
                    {r.evidence.length ? ` · ${r.evidence[0]}` : ''}
                  </Caption1>
                </TableCell>
                <TableCell className={s.top}>
                  <StatusBadge kind={look.kind} label={look.label} />
                </TableCell>
                <TableCell className={s.wrap}>
                  <span className={s.reason}>{r.reason}</span>
                </TableCell>
                <TableCell className={s.wrap}>
                  <div className={s.ways}>
                    {r.fix?.kind === 'switch-mailbox-to-oauth' && !r.relay && (
                      <ChangeButton channel="mailboxes.update" size="small" icon={<KeyResetRegular />} onClick={() => onSwitch(r.fix!.mailboxId, 'oauth')}>
                        Switch to OAuth
                      </ChangeButton>
                    )}
                    {r.fix?.kind === 'switch-mailbox-to-oauth' && r.relay && (
                      <ChangeButton channel="mailboxes.update" size="small" icon={<KeyResetRegular />} onClick={() => onSwitch(r.fix!.mailboxId, 'oauth')}>
                        Switch {r.mailbox} to OAuth
                      </ChangeButton>
                    )}
                    {r.fix?.kind === 'relay-via-mailbox' && r.relay && (
                      <ChangeButton channel="outbox.saveRelaySettings" size="small" icon={<ArrowRoutingRegular />} disabled={busy === r.account} onClick={() => void relayThrough(r)}>
                        Send through {r.fix.targetMailbox}
                      </ChangeButton>
                    )}
                    {/* A relay account that can move to another mailbox keeps that one button: its mailbox's own row offers "Use app-only". */}
                    {r.alternativeFix?.kind === 'switch-mailbox-to-app-only' && (!r.relay || r.fix?.kind === 'switch-mailbox-to-oauth') && (
                      <ChangeButton
                        channel="mailboxes.update"
                        size="small"
                        icon={<BuildingRegular />}
                        title="Sign in as the organisation's app registration: no person signs in (right for a shared mailbox)"
                        onClick={() => onSwitch(r.alternativeFix!.mailboxId, 'app-only')}
                      >
                        {r.relay ? `Use app-only for ${r.mailbox}` : 'Use app-only'}
                      </ChangeButton>
                    )}
                    {/* SMTP AUTH (or IMAP) off for the tenant or the mailbox: Microsoft Graph goes around it. */}
                    {r.graphFix && !r.relay && (
                      <ChangeButton
                        channel="mailboxes.update"
                        size="small"
                        icon={<CloudArrowUpRegular />}
                        title={`${r.protocol === 'smtp' ? 'Send' : 'Receive'} through Microsoft Graph instead of ${r.protocol.toUpperCase()}`}
                        onClick={() => onSwitch(r.graphFix!.mailboxId, r.protocol === 'smtp' ? 'graph-send' : 'graph-receive')}
                      >
                        Use Microsoft Graph
                      </ChangeButton>
                    )}
                  </div>
                  {!r.fix && !r.graphFix && r.action && <Caption1 className={s.action}>{r.action}</Caption1>}
                </TableCell>
              </TableRow>
            );
          })}
        </TableBody>
      </Table>
    </section>
  );
}
