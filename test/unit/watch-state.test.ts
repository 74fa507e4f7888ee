/**
 * The background watch without Electron: the tray's colour (worst state of
 * the enabled mailboxes), tooltip and menu, and the notification throttle
 * (on turning Failing or Sign-in needed and on recovery; at most one per
 * mailbox per 30 minutes), on an injected clock.
 */
import { describe, expect, it } from 'vitest';
import { NOTIFICATION_WINDOW_MS, NotificationThrottle, trayModel, type WatchedMailbox } from '../../src-main/shared/watch-state';
import type { HealthState } from '../../src-main/shared/health';

const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 2, 9, 0);
const box = (mailboxId: number, state: HealthState, name = `M${mailboxId}`): WatchedMailbox => ({ mailboxId, name, state, reason: `${state} because` });

describe('tray model', () => {
  it.each([
    [['healthy', 'healthy'], 'green'],
    [['healthy', 'degraded', 'disabled'], 'amber'],
    [['degraded', 'failing'], 'red'],
    [['healthy', 'sign-in-needed'], 'red'],
    [['disabled'], 'grey'],
    [[], 'grey'],
  ] as [HealthState[], string][])('%j -> %s', (states, colour) => {
    expect(trayModel({ summary: 's', mailboxes: states.map((state) => ({ state })) }, false).colour).toBe(colour);
  });

  it('menu: Open, Pause or Resume sending, Start with Windows (off by default), Quit; the summary as tooltip', () => {
    const m = trayModel({ summary: '3 of 4 mailboxes healthy; Support: sign-in needed since 09:14', mailboxes: [{ state: 'healthy' }] }, false);
    expect(m.menu.map((i) => i.label)).toEqual(['Open Mailroom', 'Pause sending', 'Start with Windows', 'Quit']);
    expect(m.menu.find((i) => i.id === 'start-with-windows')!.checked).toBe(false);
    expect(m.tooltip).toBe('Mailroom: 3 of 4 mailboxes healthy; Support: sign-in needed since 09:14');
    const paused = trayModel({ summary: 'x'.repeat(300), mailboxes: [] }, true, true);
    expect(paused.menu.map((i) => i.id)).toEqual(['open', 'resume', 'start-with-windows', 'quit']);
    expect(paused.menu[2]!.checked).toBe(true);
    expect(paused.tooltip.length).toBeLessThanOrEqual(127);
  });
});

describe('notification throttle', () => {
  it('notifies on turning Failing or Sign-in needed and on recovery, not on Degraded', () => {
    const t = new NotificationThrottle();
    expect(t.update([box(1, 'healthy'), box(2, 'degraded')], T0)).toEqual([]);
    expect(t.update([box(1, 'failing', 'Support'), box(2, 'degraded')], T0 + MIN)).toEqual([
      { mailboxId: 1, kind: 'problem', title: 'Support: Failing', body: 'failing because' },
    ]);
    // Failing -> Sign-in needed is still the same trouble: no second notification.
    expect(t.update([box(1, 'sign-in-needed')], T0 + 40 * MIN)).toEqual([]);
    const back = t.update([box(1, 'healthy', 'Support')], T0 + 80 * MIN);
    expect(back).toMatchObject([{ mailboxId: 1, kind: 'recovered', title: 'Support: mail flows again' }]);
  });

  it('at most one per mailbox per 30 minutes; other mailboxes are not held back', () => {
    const t = new NotificationThrottle();
    t.update([box(1, 'healthy'), box(2, 'healthy')], T0);
    expect(t.update([box(1, 'failing'), box(2, 'healthy')], T0)).toHaveLength(1);
    // Flapping within the window: recovery and the next failure are dropped.
    expect(t.update([box(1, 'healthy'), box(2, 'healthy')], T0 + 5 * MIN)).toEqual([]);
    expect(t.update([box(1, 'failing'), box(2, 'sign-in-needed')], T0 + 10 * MIN)).toEqual([expect.objectContaining({ mailboxId: 2, kind: 'problem' })]);
    // Once the window has passed, mailbox 1 may notify again.
    expect(t.update([box(1, 'healthy'), box(2, 'sign-in-needed')], T0 + NOTIFICATION_WINDOW_MS - 1)).toEqual([]);
    expect(t.update([box(1, 'failing'), box(2, 'sign-in-needed')], T0 + NOTIFICATION_WINDOW_MS + 1)).toEqual([expect.objectContaining({ mailboxId: 1, kind: 'problem' })]);
  });

  it('a mailbox already failing at the first look is notified once; a disabled one never', () => {
    const t = new NotificationThrottle();
    expect(t.update([box(1, 'failing'), box(2, 'disabled')], T0)).toHaveLength(1);
    expect(t.update([box(1, 'failing'), box(2, 'disabled')], T0 + 60 * MIN)).toEqual([]);
  });
});
