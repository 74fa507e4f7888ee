/**
 * The Electron main process: one sandboxed window over the app's own
 * protocol, the engine, and the IPC router. Only this folder and the preload
 * import electron.
 */
import { app, BrowserWindow, dialog, ipcMain, net, protocol, session, shell } from 'electron';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { openMailroom, type Mailroom } from '../engine/mailroom.js';
import { EngineRuntime } from '../engine/runtime.js';
import { createSession } from '../ipc/session.js';
import { APP_HOST, APP_SCHEME, APP_URL } from '../ipc/sender.js';
import { ipcChannel, IPC_EVENT_CHANNEL } from '../shared/bridge.js';
import { appKeyProvider } from './app-key.js';
import { planLaunch, secondInstanceSteps, startupErrorText, windowView, type Launch } from './launch.js';
import { loadWindowState, saveWindowState } from './window-state.js';
import { electronNativeBinding } from './native-binding.js';
import { setupTray } from './tray.js';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

let launch: Launch | undefined;
try {
  launch = planLaunch(process.argv);
} catch (error) {
  dialog.showErrorBox('Mailroom cannot start', startupErrorText(error));
  app.exit(2);
}

if (launch) {
  // The single-instance lock belongs to the userData folder: set it from the data folder first,
  // so one app runs per data folder and another folder can be open beside it.
  app.setPath('userData', launch.userDataDir);
  if (!app.requestSingleInstanceLock({ dataDir: launch.dataDir })) app.quit();
  else startApp(launch);
}

function startApp({ dataDir }: Launch): void {
  let engine: Mailroom | undefined;
  let runtime: EngineRuntime | undefined;
  let mainWindow: BrowserWindow | undefined;
  // While the tray is there, closing the window only hides it: the engine keeps watching.
  let quitting = false;
  let removeTray: (() => void) | undefined;

  // Started again with this data folder: bring this instance's window back to the front.
  app.on('second-instance', () => {
    for (const step of secondInstanceSteps(windowView(mainWindow))) mainWindow?.[step]();
  });

  // Nothing may navigate away, open windows, or attach webviews.
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!url.startsWith(`${APP_SCHEME}://${APP_HOST}/`)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(({ url }) => {
      if (/^https:\/\//i.test(url)) void shell.openExternal(url);
      return { action: 'deny' };
    });
  });

  app.whenReady().then(() => {
    try {
      const nativeBinding = electronNativeBinding(app.getAppPath(), process.resourcesPath, app.isPackaged);
      engine = openMailroom({
        dataDir,
        keyProvider: appKeyProvider(dataDir),
        ...(nativeBinding ? { nativeBinding } : {}),
        // Microsoft sign-in opens in the system browser, never inside the app.
        openExternal: (url) => shell.openExternal(url),
      });
    } catch (error) {
      dialog.showErrorBox('Mailroom cannot start', startupErrorText(error));
      app.exit(1);
      return;
    }
    // The engine's background work: outbox senders, the relay when enabled, the inbox import.
    runtime = new EngineRuntime(engine, { runtime: 'desktop', onWarning: (m) => console.warn(m) });
    void runtime.start();
    const rendererRoot = path.join(__dirname, '..', 'renderer');
    session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
    protocol.handle(APP_SCHEME, async (request) => {
      const url = new URL(request.url);
      const file = path.normalize(path.join(rendererRoot, decodeURIComponent(url.pathname)));
      if (url.host !== APP_HOST || !file.startsWith(rendererRoot)) return new Response('Not found', { status: 404 });
      const response = await net.fetch(pathToFileURL(file).toString());
      const headers = new Headers(response.headers);
      headers.set('Content-Security-Policy', CSP);
      headers.set('X-Content-Type-Options', 'nosniff');
      return new Response(response.body, { status: response.status, headers });
    });

    const router = createSession(engine, { runtime: 'electron' }, (channel, error) => console.error(`internal error on ${channel}:`, error)).router;
    for (const name of router.channels) {
      ipcMain.handle(ipcChannel(name), (event, payload) => router.invoke(name, payload, { transport: 'electron', senderUrl: event.senderFrame?.url ?? '' }));
    }

    const state = loadWindowState(dataDir);
    mainWindow = new BrowserWindow({
      ...(state.x !== undefined && state.y !== undefined ? { x: state.x, y: state.y } : {}),
      width: state.width,
      height: state.height,
      minWidth: 900,
      minHeight: 600,
      title: 'Mailroom',
      show: false,
      webPreferences: {
        preload: path.join(__dirname, 'preload.cjs'),
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        webSecurity: true,
        spellcheck: false,
      },
    });
    if (state.maximized) mainWindow.maximize();
    mainWindow.once('ready-to-show', () => mainWindow?.show());
    mainWindow.on('close', (event) => {
      if (!mainWindow) return;
      if (removeTray && !quitting) {
        event.preventDefault();
        mainWindow.hide();
        return;
      }
      const b = mainWindow.getNormalBounds();
      saveWindowState(dataDir, { x: b.x, y: b.y, width: b.width, height: b.height, maximized: mainWindow.isMaximized() });
    });
    engine.events.onAny((name, payload) => {
      if (mainWindow && !mainWindow.isDestroyed()) mainWindow.webContents.send(IPC_EVENT_CHANNEL, { name, payload });
    });
    void mainWindow.loadURL(APP_URL);
    try {
      removeTray = setupTray(engine, {
        show: (mailboxId) => {
          if (!mainWindow || mainWindow.isDestroyed()) return;
          mainWindow.show();
          mainWindow.focus();
          // A number only: nothing from outside reaches the script.
          if (mailboxId !== undefined) void mainWindow.webContents.executeJavaScript(`location.hash = '#/health/${Number(mailboxId)}'`);
        },
        quit: () => {
          quitting = true;
          removeTray?.();
          removeTray = undefined;
          mainWindow?.close();
        },
      });
    } catch (error) {
      // No notification area (some Linux desktops): closing the window quits, as before.
      console.warn(`No tray icon: ${error instanceof Error ? error.message : String(error)}`);
    }
  });

  app.on('window-all-closed', () => {
    // Messages on the wire get a moment to finish; the rest is recovered at the next start.
    void Promise.race([runtime?.stop(3_000), new Promise((resolve) => setTimeout(resolve, 4_000))]).finally(() => {
      engine?.close();
      app.quit();
    });
  });
}
