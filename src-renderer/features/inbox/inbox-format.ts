/** The Inbox screen's words and colours, from the house status vocabulary. */
import type { ActionState, InboxStatus, PollRecord, ReceiveState } from '../../../src-main/shared/inbox.js';
import type { StatusKind } from '../../components/StatusBadge';

/** A message's status as a badge. */
export const STATUS_LOOK: Record<InboxStatus, { kind: StatusKind; word: string; title: string }> = {
  imported: { kind: 'success', word: 'Imported', title: 'Stored and read.' },
  duplicate: { kind: 'info', word: 'Duplicate', title: 'The same message as one already stored (same Message-ID and content): its bytes are kept, it is not imported again.' },
  failed: { kind: 'error', word: 'Failed', title: 'Stored raw, but it could not be read as an email. It is not tried again.' },
};

/** The after-import action's state as a badge. */
export const ACTION_LOOK: Record<ActionState, { kind: StatusKind; word: string }> = {
  pending: { kind: 'progress', word: 'Pending' },
  done: { kind: 'success', word: 'Done' },
  failed: { kind: 'warning', word: 'Refused' },
  skipped: { kind: 'disabled', word: 'Skipped' },
};

/** A mailbox's receive state as a badge. */
export function healthLook(state: ReceiveState): { kind: StatusKind; word: string; title: string } {
  if (state.polling) return { kind: 'progress', word: 'Polling', title: 'A poll is running now.' };
  switch (state.health) {
    case 'healthy':
      return { kind: 'success', word: 'Healthy', title: 'The last poll worked.' };
    case 'failing':
      return {
        kind: 'error',
        word: 'Failing',
        title: `${state.consecutiveFailures} poll(s) in a row failed${state.lastError ? `: ${state.lastError.code}` : ''}.`,
      };
    case 'disabled':
      return { kind: 'disabled', word: 'Disabled', title: 'The mailbox is switched off: it is not polled.' };
    default:
      return { kind: 'info', word: 'Not polled yet', title: 'No poll has run for this mailbox yet.' };
  }
}

/** What after-import action words mean on screen. */
export function describeAction(action: string): string {
  if (action === 'mark-seen') return 'Mark as read';
  if (action === 'delete') return 'Delete from the server';
  if (action === 'leave') return 'Leave on the server';
  if (action.startsWith('move:')) return `Move to ${action.slice(5)}`;
  return action;
}

/** Bytes, human-readable. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The counts of a poll in one line. */
export function pollSummary(p: Pick<PollRecord, 'fetched' | 'imported' | 'duplicates' | 'failed' | 'ms'>): string {
  return `${p.fetched} fetched, ${p.imported} imported, ${p.duplicates} duplicate${p.duplicates === 1 ? '' : 's'} skipped, ${p.failed} failed in ${p.ms} ms`;
}

/** A short local time for dense tables: 14:28:21 today, 25 Nov 14:28 this year, else 2025-11-25. */
export function shortTime(ms: number, now = Date.now()): string {
  const d = new Date(ms);
  const today = new Date(now);
  // 24-hour clock: "14:29:18" stays on one line in a dense column, where "02:29:18 PM" wraps.
  if (d.toDateString() === today.toDateString()) return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  if (d.getFullYear() === today.getFullYear()) return `${d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })} ${d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })}`;
  return d.toLocaleDateString(undefined, { year: 'numeric', month: '2-digit', day: '2-digit' });
}
