/**
 * Watching in the background, without Electron: what the tray shows (its
 * colour is the worst state of the enabled mailboxes, its tooltip the summary
 * line, its menu Open / Pause sending / Quit) and which notifications to
 * show (a mailbox turning Failing or Sign-in needed, and its recovery; at
 * most one per mailbox per 30 minutes). The desktop app's tray and the
 * browser console's Notification API are thin users of this module.
 * Imports nothing from node or electron.
 */
import { HEALTH_STATE_WORDS, worstState, type HealthState } from './health.js';

/** At most one notification per mailbox in this time. */
export const NOTIFICATION_WINDOW_MS = 30 * 60_000;

/** The tray icon's colour. */
export type TrayColour = 'green' | 'amber' | 'red' | 'grey';

const COLOUR_OF: Record<HealthState, TrayColour> = { healthy: 'green', degraded: 'amber', failing: 'red', 'sign-in-needed': 'red', disabled: 'grey' };

/** What the watcher reads of each mailbox. */
export interface WatchedMailbox {
  mailboxId: number;
  name: string;
  state: HealthState;
  reason: string;
}

/** One entry of the tray menu. */
export interface TrayMenuItem {
  id: 'open' | 'pause' | 'resume' | 'start-with-windows' | 'quit';
  label: string;
  /** For a checkbox item: whether it is ticked. */
  checked?: boolean;
}

/** Everything the tray shows. */
export interface TrayModel {
  colour: TrayColour;
  worst: HealthState;
  tooltip: string;
  menu: TrayMenuItem[];
}

/** The tray for an overview: colour of the worst state, the summary as tooltip, the menu. */
export function trayModel(overview: { summary: string; mailboxes: readonly Pick<WatchedMailbox, 'state'>[] }, sendingPaused: boolean, startWithWindows = false): TrayModel {
  const worst = overview.mailboxes.length ? worstState(overview.mailboxes.map((m) => m.state)) : 'disabled';
  return {
    colour: COLOUR_OF[worst],
    worst,
    // Windows cuts a tray tooltip at 127 characters.
    tooltip: `Mailroom: ${overview.summary}${sendingPaused ? ' (sending paused)' : ''}`.slice(0, 127),
    menu: [
      { id: 'open', label: 'Open Mailroom' },
      sendingPaused ? { id: 'resume', label: 'Resume sending' } : { id: 'pause', label: 'Pause sending' },
      // Off until the admin ticks it (Electron's login-item settings).
      { id: 'start-with-windows', label: 'Start with Windows', checked: startWithWindows },
      { id: 'quit', label: 'Quit' },
    ],
  };
}

/** A notification to show. Clicking it opens that mailbox. */
export interface WatchNotification {
  mailboxId: number;
  kind: 'problem' | 'recovered';
  title: string;
  body: string;
}

const BAD: ReadonlySet<HealthState> = new Set(['failing', 'sign-in-needed']);

/**
 * Decides the notifications as states come in: one when a mailbox turns
 * Failing or Sign-in needed (also when it already is at the first look), one
 * when such a mailbox is Healthy again; at most one per mailbox per
 * `windowMs`, the ones in between are dropped (the tray and the overview
 * still show the state).
 */
export class NotificationThrottle {
  private readonly known = new Map<number, HealthState>();
  private readonly lastShown = new Map<number, number>();

  constructor(private readonly windowMs = NOTIFICATION_WINDOW_MS) {}

  /** Feeds the current states; returns what to show now. */
  update(mailboxes: readonly WatchedMailbox[], now: number): WatchNotification[] {
    const out: WatchNotification[] = [];
    for (const m of mailboxes) {
      const before = this.known.get(m.mailboxId);
      this.known.set(m.mailboxId, m.state);
      if (before === m.state) continue;
      let kind: WatchNotification['kind'] | null = null;
      if (BAD.has(m.state) && (before === undefined || !BAD.has(before))) kind = 'problem';
      else if (m.state === 'healthy' && before !== undefined && BAD.has(before)) kind = 'recovered';
      if (!kind) continue;
      const last = this.lastShown.get(m.mailboxId);
      if (last !== undefined && now - last < this.windowMs) continue;
      this.lastShown.set(m.mailboxId, now);
      out.push({
        mailboxId: m.mailboxId,
        kind,
        title: kind === 'problem' ? `${m.name}: ${HEALTH_STATE_WORDS[m.state]}` : `${m.name}: mail flows again`,
        body: m.reason.length > 200 ? `${m.reason.slice(0, 199)}…` : m.reason,
      });
    }
    // Mailboxes that are gone are forgotten.
    const present = new Set(mailboxes.map((m) => m.mailboxId));
    for (const id of [...this.known.keys()]) if (!present.has(id)) this.known.delete(id);
    return out;
  }
}
