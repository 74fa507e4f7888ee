/**
 * Each mailbox's receive state, as the help-desk system's mail filter
 * records it: healthy, failing or disabled; last success, last try, failures
 * in a row and the last error with what to change; and the actions Poll now
 * and Import with debug.
 */
import {
  Button,
  Caption1,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Tooltip,
  makeStyles,
  mergeClasses,
  tokens,
} from '@fluentui/react-components';
import { ArrowSyncRegular, BugRegular, FolderArrowRightRegular } from '@fluentui/react-icons';
import { isPop3Folder, type ReceiveState } from '../../../src-main/shared/inbox.js';
import { StatusBadge } from '../../components/StatusBadge';
import { useChannel, useReadOnly } from '../../components/read-only';
import { timeTitle } from '../../components/format';
import { describeAction, healthLook, shortTime } from './inbox-format';
import { lastErrorStanding, lastErrorWhen } from '../../../src-main/shared/error-age.js';

const useStyles = makeStyles({
  wrap: { backgroundColor: tokens.colorNeutralBackground1, borderRadius: tokens.borderRadiusMedium, boxShadow: tokens.shadow2, overflow: 'auto', maxHeight: '240px', flexShrink: 0 },
  table: { tableLayout: 'fixed', minWidth: '600px' },
  tableCompact: { minWidth: '420px' },
  head: { position: 'sticky', top: 0, backgroundColor: tokens.colorNeutralBackground1, zIndex: 1, fontWeight: tokens.fontWeightSemibold },
  row: { cursor: 'pointer' },
  selected: { backgroundColor: tokens.colorNeutralBackground1Selected },
  stack: { display: 'flex', flexDirection: 'column', minWidth: 0, padding: '4px 0' },
  muted: { color: tokens.colorNeutralForeground3 },
  ellipsis: { display: 'block', overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' },
  // The last error never reaches into the action buttons: it ends in an ellipsis, and the whole text is on hover.
  errorCell: { overflow: 'hidden' },
  error: { color: tokens.colorPaletteRedForeground1 },
  code: { fontFamily: tokens.fontFamilyMonospace, fontSize: tokens.fontSizeBase200 },
  actions: { display: 'flex', gap: '4px' },
  num: { fontVariantNumeric: 'tabular-nums' },
});

function When({ ms }: { ms: number | null }) {
  const s = useStyles();
  if (ms === null) return <span className={s.muted}>never</span>;
  return <span title={timeTitle(ms)}>{shortTime(ms)}</span>;
}

/** A last error with its age, and, once a later poll worked, the poll that resolved it (an old error must not read as current). */
function LastErrorCell({ state, lastError }: { state: ReceiveState; lastError: NonNullable<ReceiveState['lastError']> }) {
  const s = useStyles();
  // In a bundle's view, as of the time it was made (what the live screen said then).
  const now = useReadOnly().asOf ?? Date.now();
  const standing = lastErrorStanding(lastError, state.lastSuccessAt, now);
  const when = lastErrorWhen(lastError, state.lastSuccessAt, now, (ms) => shortTime(ms));
  return (
    <Tooltip content={`${lastError.message}${lastError.hint ? ` — ${lastError.hint}` : ''} (${shortTime(lastError.at)}, ${when})`} relationship="description">
      <div className={s.stack} data-last-error={lastError.code} data-resolved={standing.resolved}>
        <span className={s.ellipsis}>
          <span className={mergeClasses(s.code, !standing.resolved && state.health === 'failing' && s.error)}>{lastError.code}</span>
          <Caption1 className={s.muted} title={timeTitle(lastError.at)}>
            {' '}
            · {standing.age}
          </Caption1>
        </span>
        <Caption1 className={mergeClasses(s.muted, s.ellipsis)}>{standing.resolvedAt !== null ? `resolved by the poll at ${shortTime(standing.resolvedAt)}` : lastError.message}</Caption1>
      </div>
    </Tooltip>
  );
}

export function ReceiveStates({
  states,
  selectedId,
  onSelect,
  onPoll,
  onDebug,
  onHandoff,
  busy,
  compact = false,
}: {
  states: ReceiveState[];
  /** Narrow (the detail panel is open): the last success and last try move into the state column's hover text. */
  compact?: boolean;
  selectedId: number | undefined;
  onSelect(id: number | undefined): void;
  onPoll(state: ReceiveState): void;
  onDebug(state: ReceiveState): void;
  onHandoff(state: ReceiveState): void;
  /** Mailboxes with a poll started from this screen. */
  busy: ReadonlySet<number>;
}) {
  const s = useStyles();
  const poll = useChannel('inbox.pollNow');
  const debug = useChannel('inbox.importWithDebug');
  const handoff = useChannel('inbox.saveSettings');
  return (
    <div className={s.wrap}>
      <Table size="small" aria-label="Receive state of each mailbox" className={mergeClasses(s.table, compact && s.tableCompact)}>
        <TableHeader>
          <TableRow>
            <TableHeaderCell className={s.head} style={{ width: compact ? '32%' : '24%' }}>Mailbox</TableHeaderCell>
            <TableHeaderCell className={s.head} style={{ width: compact ? '28%' : '19%' }}>State</TableHeaderCell>
            {!compact && <TableHeaderCell className={s.head} style={{ width: '12%' }}>Last success</TableHeaderCell>}
            {!compact && <TableHeaderCell className={s.head} style={{ width: '12%' }}>Last try</TableHeaderCell>}
            <TableHeaderCell className={s.head}>Last error</TableHeaderCell>
            <TableHeaderCell className={s.head} style={{ width: '112px' }}>
              <span className={s.muted}>Actions</span>
            </TableHeaderCell>
          </TableRow>
        </TableHeader>
        <TableBody>
          {states.map((st) => {
            const look = healthLook(busy.has(st.mailboxId) ? { ...st, polling: true } : st);
            const selected = st.mailboxId === selectedId;
            return (
              <TableRow
                key={st.mailboxId}
                data-receive-state={st.mailboxName}
                data-health={st.health}
                className={mergeClasses(s.row, selected && s.selected)}
                aria-selected={selected}
                tabIndex={0}
                onClick={() => onSelect(selected ? undefined : st.mailboxId)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' || e.key === ' ') {
                    e.preventDefault();
                    onSelect(selected ? undefined : st.mailboxId);
                  }
                }}
              >
                <TableCell>
                  <div className={s.stack}>
                    <span className={s.ellipsis}>{st.mailboxName}</span>
                    <Caption1
                      className={mergeClasses(s.muted, s.ellipsis)}
                      title={`${isPop3Folder(st.folder) ? 'POP3 maildrop' : st.folder}: ${describeAction(st.afterImport)}, every ${st.pollIntervalSeconds} s. Stored: ${st.counts.imported} imported, ${st.counts.duplicate} duplicates, ${st.counts.failed} failed.`}
                    >
                      {isPop3Folder(st.folder) ? 'POP3' : st.folder} · {describeAction(st.afterImport)} · {st.counts.imported} stored
                      {st.counts.failed ? <span className={s.error}> · {st.counts.failed} failed</span> : null}
                    </Caption1>
                  </div>
                </TableCell>
                <TableCell>
                  <div className={s.stack}>
                    <span>
                      <StatusBadge
                        kind={look.kind}
                        label={look.word}
                        title={compact ? `${look.title ?? look.word}. Last success: ${st.lastSuccessAt === null ? 'never' : shortTime(st.lastSuccessAt)}; last try: ${st.lastTryAt === null ? 'never' : shortTime(st.lastTryAt)}.` : look.title}
                      />
                    </span>
                    <Caption1 className={mergeClasses(s.num, st.consecutiveFailures ? s.error : s.muted)} data-failures={st.consecutiveFailures}>
                      {st.consecutiveFailures ? `${st.consecutiveFailures} failure${st.consecutiveFailures === 1 ? '' : 's'} in a row` : 'No failures'}
                    </Caption1>
                  </div>
                </TableCell>
                {!compact && (
                  <TableCell>
                    <When ms={st.lastSuccessAt} />
                  </TableCell>
                )}
                {!compact && (
                  <TableCell>
                    <When ms={st.lastTryAt} />
                  </TableCell>
                )}
                <TableCell className={s.errorCell}>
                  {st.lastError ? (
                    <LastErrorCell state={st} lastError={st.lastError} />
                  ) : (
                    <span className={s.muted}>none</span>
                  )}
                </TableCell>
                <TableCell>
                  <div className={s.actions} onClick={(e) => e.stopPropagation()}>
                    {/* Each icon's tooltip is its name, for the eye and for screen readers alike. */}
                    {/* In a bundle's read-only view they stay (focusable, so the reason is read) but do nothing. */}
                    <Tooltip content={`Poll ${st.mailboxName} now${poll.reason ? `. ${poll.reason}` : ''}`} relationship="label">
                      <Button size="small" icon={<ArrowSyncRegular />} disabledFocusable={poll.blocked} disabled={busy.has(st.mailboxId)} onClick={poll.blocked ? undefined : () => onPoll(st)} />
                    </Tooltip>
                    <Tooltip content={`Import ${st.mailboxName} with debug: one poll that keeps the whole ${isPop3Folder(st.folder) ? 'POP3' : 'IMAP'} conversation (passwords and tokens hidden)${debug.reason ? `. ${debug.reason}` : ''}`} relationship="label">
                      <Button size="small" icon={<BugRegular />} disabledFocusable={debug.blocked} disabled={busy.has(st.mailboxId)} onClick={debug.blocked ? undefined : () => onDebug(st)} />
                    </Tooltip>
                    <Tooltip content={`Handoff folder of ${st.mailboxName}: ${st.handoffDir ?? 'off'}${handoff.reason ? `. ${handoff.reason}` : ''}`} relationship="label">
                      <Button
                        size="small"
                        appearance={st.handoffDir ? 'primary' : 'secondary'}
                        icon={<FolderArrowRightRegular />}
                        disabledFocusable={handoff.blocked}
                        onClick={handoff.blocked ? undefined : () => onHandoff(st)}
                      />
                    </Tooltip>
                  </div>
                </TableCell>
              </TableRow>
            );
          })}
        </TableBody>
      </Table>
    </div>
  );
}
