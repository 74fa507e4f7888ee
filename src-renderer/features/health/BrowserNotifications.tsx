/**
 * The browser console's notifications: where the admin allows it (the
 * browser asks once), a mailbox turning Failing or Sign-in needed, and its
 * recovery, show as a browser notification, throttled by the same rules as
 * the desktop app's (shared/watch-state.ts). Clicking one opens the overview.
 * In the desktop app the main process notifies instead, so this stays hidden.
 */
import { Button, Caption1 } from '@fluentui/react-components';
import { AlertRegular } from '@fluentui/react-icons';
import { useEffect, useRef, useState } from 'react';
import type { HealthOverview } from '../../../src-main/shared/health.js';
import { NotificationThrottle } from '../../../src-main/shared/watch-state.js';

type Permission = 'default' | 'granted' | 'denied' | 'unsupported';

function permissionNow(): Permission {
  if (typeof Notification === 'undefined' || (window as { mailroom?: unknown }).mailroom) return 'unsupported';
  return Notification.permission as Permission;
}

export function BrowserNotifications({ overview }: { overview: HealthOverview | undefined }) {
  const [permission, setPermission] = useState<Permission>(permissionNow);
  const throttle = useRef(new NotificationThrottle());
  useEffect(() => {
    if (!overview || permission !== 'granted') return;
    for (const n of throttle.current.update(overview.mailboxes, Date.now())) {
      const shown = new Notification(n.title, { body: n.body, tag: `mailroom-${n.mailboxId}` });
      shown.onclick = () => {
        window.focus();
        location.hash = '#/health';
      };
    }
  }, [overview, permission]);
  if (permission === 'unsupported') return null;
  if (permission === 'granted') return <Caption1 data-testid="notifications-on">Notifications on</Caption1>;
  if (permission === 'denied') return <Caption1 title="Allow notifications for this page in the browser's site settings">Notifications blocked by the browser</Caption1>;
  return (
    <Button appearance="subtle" icon={<AlertRegular />} onClick={() => void Notification.requestPermission().then((p) => setPermission(p as Permission))}>
      Notify me in this browser
    </Button>
  );
}
