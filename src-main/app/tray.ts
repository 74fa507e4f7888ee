/**
 * The desktop app in the notification area: a tray icon whose colour is the
 * worst state of the enabled mailboxes, its menu (Open, Pause sending, Start
 * with Windows, Quit), and Windows notifications when a mailbox turns Failing
 * or Sign-in needed and when it recovers. Every decision is made by
 * shared/watch-state.ts (tested without Electron); this file only draws it.
 */
import { Menu, Notification, Tray, app, nativeImage, type NativeImage } from 'electron';
import type { Mailroom } from '../engine/mailroom.js';
import { NotificationThrottle, trayModel, type TrayColour, type TrayModel } from '../shared/watch-state.js';

/** What the tray asks of the app. */
export interface TrayHost {
  /** Shows the window (on that mailbox's row when given). */
  show(mailboxId?: number): void;
  /** Quits for real (the window's close only hides it while the tray is there). */
  quit(): void;
}

const RGB: Record<TrayColour, [number, number, number]> = { green: [16, 124, 16], amber: [202, 138, 4], red: [196, 43, 28], grey: [112, 112, 112] };

/** A 16x16 filled circle in the colour (BGRA), so that no icon files are needed per state. */
function dot(colour: TrayColour): NativeImage {
  const size = 16;
  const buffer = Buffer.alloc(size * size * 4);
  const [r, g, b] = RGB[colour];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - 7.5, y - 7.5);
      const alpha = Math.max(0, Math.min(1, 7.5 - d));
      const i = (y * size + x) * 4;
      buffer[i] = b;
      buffer[i + 1] = g;
      buffer[i + 2] = r;
      buffer[i + 3] = Math.round(alpha * 255);
    }
  }
  return nativeImage.createFromBitmap(buffer, { width: size, height: size });
}

/** Starts the tray and the notifications; returns a function that removes them. */
export function setupTray(engine: Mailroom, host: TrayHost): () => void {
  const tray = new Tray(dot('grey'));
  const throttle = new NotificationThrottle();
  let paused = false;
  let current: TrayModel | undefined;

  const render = () => {
    let overview;
    try {
      overview = engine.health.overview({ record: false });
    } catch {
      return;
    }
    const model = trayModel(overview, paused, app.getLoginItemSettings().openAtLogin);
    if (current?.colour !== model.colour) tray.setImage(dot(model.colour));
    tray.setToolTip(model.tooltip);
    tray.setContextMenu(
      Menu.buildFromTemplate(
        model.menu.map((item) => ({
          label: item.label,
          ...(item.checked !== undefined ? { type: 'checkbox' as const, checked: item.checked } : {}),
          click: () => void act(item.id),
        })),
      ),
    );
    current = model;
    if (Notification.isSupported()) {
      for (const n of throttle.update(overview.mailboxes, Date.now())) {
        const shown = new Notification({ title: n.title, body: n.body });
        shown.on('click', () => host.show(n.mailboxId));
        shown.show();
      }
    }
  };

  const act = async (id: TrayModel['menu'][number]['id']) => {
    if (id === 'open') host.show();
    else if (id === 'pause') {
      paused = true;
      await engine.outbox.stopSending(5_000);
    } else if (id === 'resume') {
      paused = false;
      engine.outbox.startSending('desktop');
    } else if (id === 'start-with-windows') {
      app.setLoginItemSettings({ openAtLogin: !app.getLoginItemSettings().openAtLogin });
    } else if (id === 'quit') host.quit();
    render();
  };

  tray.on('click', () => host.show());
  const offs = [engine.events.on('health.changed', render), engine.events.on('probes.finished', render)];
  const timer = setInterval(render, 60_000);
  render();
  return () => {
    for (const off of offs) off();
    clearInterval(timer);
    tray.destroy();
  };
}
