/**
 * The one status vocabulary of every screen: a colour, an icon and a word,
 * so nothing depends on colour alone.
 */
import { Badge, Tooltip, makeStyles, mergeClasses } from '@fluentui/react-components';
import {
  CheckmarkCircleRegular,
  WarningRegular,
  ErrorCircleRegular,
  ArrowClockwiseRegular,
  InfoRegular,
  CircleRegular,
} from '@fluentui/react-icons';
import type { ReactElement } from 'react';

export type StatusKind = 'success' | 'warning' | 'error' | 'progress' | 'info' | 'disabled';

const LOOK: Record<StatusKind, { color: 'success' | 'warning' | 'danger' | 'brand' | 'informative' | 'subtle'; icon: ReactElement }> = {
  success: { color: 'success', icon: <CheckmarkCircleRegular /> },
  warning: { color: 'warning', icon: <WarningRegular /> },
  error: { color: 'danger', icon: <ErrorCircleRegular /> },
  progress: { color: 'brand', icon: <ArrowClockwiseRegular /> },
  info: { color: 'informative', icon: <InfoRegular /> },
  disabled: { color: 'subtle', icon: <CircleRegular /> },
};

// A badge never grows past its container: a long label (a diagnosis code in a narrow column) ends in an
// ellipsis and is shown whole on hover, instead of spilling out of its card.
const useStyles = makeStyles({
  // Wraps to the next line in a row of badges rather than squeezing; capped at its container's width.
  badge: { maxWidth: '100%', minWidth: 0, flexShrink: 0 },
  label: { minWidth: 0, overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' },
});

/** A stable class on a badge's words, so a row of badges in a narrow column can let them wrap (see the Mailboxes list). */
export const STATUS_LABEL_CLASS = 'mailroom-status-label';

export function StatusBadge({ kind, label, title }: { kind: StatusKind; label: string; title?: string }) {
  const look = LOOK[kind];
  const s = useStyles();
  const badge = (
    <Badge appearance="tint" color={look.color} icon={look.icon} shape="rounded" data-status={kind} className={s.badge} title={title ? undefined : label}>
      <span className={mergeClasses(STATUS_LABEL_CLASS, s.label)}>{label}</span>
    </Badge>
  );
  return title ? <Tooltip content={title} relationship="description">{badge}</Tooltip> : badge;
}
