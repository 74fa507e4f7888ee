/**
 * The one status vocabulary of every screen: a colour, an icon and a word,
 * so nothing depends on colour alone.
 */
import { Badge, Tooltip } from '@fluentui/react-components';
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

export function StatusBadge({ kind, label, title }: { kind: StatusKind; label: string; title?: string }) {
  const look = LOOK[kind];
  const badge = (
    <Badge appearance="tint" color={look.color} icon={look.icon} shape="rounded" data-status={kind}>
      {label}
    </Badge>
  );
  return title ? <Tooltip content={title} relationship="description">{badge}</Tooltip> : badge;
}
