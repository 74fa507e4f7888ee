/**
 * A session is what a window (or the browser console) talks to: the router
 * over the admin's own engine, or, while a diagnostics bundle is open, over
 * that bundle's read-only engine. In bundle view only reading channels pass;
 * anything that would change data or reach a server is refused.
 */
import type { Mailroom } from '../engine/mailroom.js';
import { readBundle } from '../engine/diagnostics/bundle.js';
import { openBundleViewer, type BundleViewer } from '../engine/diagnostics/viewer.js';
import { defaultBundlePath } from '../engine/diagnostics/paths.js';
import type { MailroomContract } from '../shared/contract/index.js';
import type { ViewState } from '../shared/diagnostics.js';
import type { Result } from '../shared/errors.js';
import type { HandlerEnvironment } from './handlers.js';
import { createMailroomRouter } from './index.js';
import type { CallContext, Handlers, Router } from './router.js';
import { isTrustedSender } from './sender.js';

/** Methods that only read: the only ones allowed while a bundle is open. Everything else is refused. */
const READ_ONLY_METHODS = new Set([
  'info',
  'list',
  'get',
  'presets',
  'exportSettings',
  'history',
  'query',
  'tail',
  'retention',
  'versions',
  'checklist',
  'registrySql',
  'states',
  'polls',
  'raw',
  'status',
  'health',
  'overview',
  'probes',
]);

/** Whether a channel may run against an opened bundle. */
export function allowedInBundleView(channel: string): boolean {
  const [area, method] = channel.split('.');
  return area !== 'diagnostics' && method !== undefined && READ_ONLY_METHODS.has(method);
}

export interface Session {
  readonly router: Router;
  viewState(): ViewState;
  close(): void;
}

export function createSession(live: Mailroom, env: Omit<HandlerEnvironment, 'diagnostics'>, onInternalError?: (channel: string, error: unknown) => void): Session {
  let viewer: BundleViewer | undefined;
  let viewerRouter: Router | undefined;
  let view: ViewState = { mode: 'live', bundle: null };

  const diagnostics: Handlers<MailroomContract>['diagnostics'] = {
    export: ({ logLimit }) => live.diagnostics.createBundle(defaultBundlePath(live.dataDir), { runtime: env.runtime, ...(logLimit !== undefined ? { logLimit } : {}) }),
    importBundle: async ({ fileName, dataBase64 }) => {
      const bundle = await readBundle(Buffer.from(dataBase64, 'base64'));
      const next = openBundleViewer(bundle);
      viewer?.close();
      viewer = next;
      viewerRouter = createMailroomRouter(next.engine, { ...env, diagnostics }, onInternalError);
      view = {
        mode: 'bundle',
        bundle: { fileName, createdAt: bundle.manifest.createdAt, appVersion: bundle.manifest.app.version, platform: bundle.manifest.app.platform, sections: bundle.manifest.sections },
      };
      // Nothing is written to the admin's own store: viewing a bundle leaves their data exactly as it was.
      return view;
    },
    closeBundle: () => {
      viewer?.close();
      viewer = undefined;
      viewerRouter = undefined;
      view = { mode: 'live', bundle: null };
      return view;
    },
    viewState: () => view,
  };

  const liveRouter = createMailroomRouter(live, { ...env, diagnostics }, onInternalError);

  return {
    router: {
      channels: liveRouter.channels,
      invoke(channel: string, payload: unknown, ctx: CallContext): Promise<Result<unknown>> {
        if (!viewerRouter || channel.startsWith('diagnostics.') || !isTrustedSender(ctx)) return liveRouter.invoke(channel, payload, ctx);
        if (!allowedInBundleView(channel)) {
          return Promise.resolve({
            ok: false,
            error: { code: 'READ_ONLY_VIEW', message: 'You are viewing a diagnostics bundle, which is read-only.', hint: 'Close the bundle (the bar at the top) to work with your own mailboxes again.' },
          });
        }
        return viewerRouter.invoke(channel, payload, ctx);
      },
    },
    viewState: () => view,
    close: () => {
      viewer?.close();
      viewer = undefined;
      viewerRouter = undefined;
    },
  };
}
