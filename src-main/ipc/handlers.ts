/**
 * The handlers of every channel, over one engine instance. Each area's
 * handlers live in one function; `createHandlers` assembles them.
 */
import os from 'node:os';
import type { MailroomContract } from '../shared/contract/index.js';
import { PRESETS } from '../shared/mailbox.js';
import type { Mailroom } from '../engine/mailroom.js';
import type { Handlers } from './router.js';
import { APP_VERSION } from '../engine/version.js';
import { AppError } from '../shared/errors.js';
import { defaultExportPath, exportLogs } from '../engine/log-export.js';
import { defaultBundlePath } from '../engine/diagnostics/paths.js';

export interface HandlerEnvironment {
  runtime: 'electron' | 'console' | 'cli';
  /** Diagnostics handlers that can switch the view to an imported bundle (see session.ts). */
  diagnostics?: Handlers<MailroomContract>['diagnostics'];
}

function mailboxHandlers(engine: Mailroom): Handlers<MailroomContract>['mailboxes'] {
  return {
    list: () => engine.mailboxes.list(),
    get: ({ id }) => engine.mailboxes.get(id),
    create: (input) => engine.mailboxes.create(input),
    update: (input) => engine.mailboxes.update(input),
    remove: ({ id }) => ({ removed: engine.mailboxes.remove(id) }),
    presets: () => Object.values(PRESETS),
    exportSettings: ({ ids }) => engine.mailboxes.exportSettings(ids),
    importSettings: ({ settings }) => engine.mailboxes.importSettings(settings),
  };
}

function appHandlers(engine: Mailroom, env: HandlerEnvironment): Handlers<MailroomContract>['app'] {
  return {
    info: () => ({
      name: 'Mailroom',
      version: APP_VERSION,
      runtime: env.runtime,
      platform: `${os.type()} ${os.release()} (${process.arch})`,
      dataDir: engine.dataDir,
      secretKeySource: engine.keys.source,
    }),
  };
}

function connectionTestHandlers(engine: Mailroom): Handlers<MailroomContract>['connectionTests'] {
  return {
    run: (input) => engine.connectionTests.run(input),
    runGraph: (input) => engine.connectionTests.runGraph(input),
    cancel: ({ runId }) => ({ cancelled: engine.connectionTests.cancel(runId) }),
    history: ({ mailboxId, limit }) => engine.connectionTests.history(mailboxId, limit),
    get: ({ id }) => engine.connectionTests.get(id),
  };
}

function siteSetupHandlers(engine: Mailroom): Handlers<MailroomContract>['siteSetup'] {
  const site = engine.siteSetup;
  return {
    versions: () => site.versions(),
    checklist: ({ version }) => site.checklist(version),
    registrySql: (input) => site.registrySql(input),
    checkWebConfig: (source) => site.checkWebConfig(source),
    previewWebConfig: (source) => site.previewWebConfig(source),
    applyWebConfig: async (input) => {
      // A change to a server's web.config is worth a line in the activity log, success or not.
      try {
        const result = await site.applyWebConfig(input);
        if (result.changed) {
          engine.log.write({ direction: 'system', level: 'success', message: `web.config changed: NewAuthentication feature toggle completed in ${result.path}`, detail: `Backup: ${result.backupPath}` });
        }
        return result;
      } catch (error) {
        if (error instanceof AppError) engine.log.write({ direction: 'system', level: 'error', code: error.code, message: `web.config not changed: ${error.message}`, detail: error.hint ?? null });
        throw error;
      }
    },
  };
}

function logHandlers(engine: Mailroom): Handlers<MailroomContract>['logs'] {
  return {
    query: ({ filter, beforeId, limit }) => engine.log.page(filter, beforeId, limit),
    tail: ({ filter, afterId, limit }) => engine.log.query({ ...filter, afterId }, limit),
    export: async ({ filter, format, exportId }) => {
      let last = 0;
      const result = await exportLogs(engine.log, filter, format, defaultExportPath(engine.dataDir, format), {
        onProgress: (written, total) => {
          // At most a few progress events a second reach the screen.
          const now = Date.now();
          if (now - last < 200 && written < total) return;
          last = now;
          engine.events.emit('logs.exportProgress', { exportId: exportId ?? null, written, total });
        },
      });
      engine.log.write({ direction: 'system', level: 'info', message: `Log exported as ${format.toUpperCase()}: ${result.rows} entries`, detail: result.path });
      return result;
    },
    retention: () => engine.log.retention(),
    setRetention: (value) => engine.log.setRetention(value),
    prune: async () => ({ removed: await engine.log.prune() }),
  };
}

function detectHandlers(engine: Mailroom): Handlers<MailroomContract>['detect'] {
  return {
    address: ({ address }) => engine.detector.detect(address),
  };
}

function oauthHandlers(engine: Mailroom): Handlers<MailroomContract>['oauth'] {
  return {
    settingsGet: () => engine.oauth.getSettings(),
    settingsSave: (input) => engine.oauth.saveSettings(input),
    settingsValidate: (input) => engine.oauth.validateSettings(input),
    beginSignIn: (input) => engine.oauth.beginSignIn(input),
    signInStatus: ({ signInId }) => engine.oauth.signInStatus(signInId),
    cancelSignIn: ({ signInId }) => engine.oauth.cancelSignIn(signInId),
    states: () => engine.oauth.states(),
    health: ({ mailboxId }) => engine.oauth.health(mailboxId),
    checkToken: ({ mailboxId, forceRefresh }) => engine.oauth.checkToken(mailboxId, { forceRefresh: forceRefresh ?? false }),
    logout: ({ mailboxId }) => engine.oauth.logout(mailboxId),
    appSettingsGet: () => engine.oauth.appOnly.getSettings(),
    appSettingsSave: (input) => engine.oauth.appOnly.saveSettings(input),
    doctor: ({ mailboxId, probe }) => engine.doctor.examine(engine.mailboxes.get(mailboxId), probe === undefined ? {} : { probe }),
  };
}

/** Diagnostics without view switching: export works, opening a bundle needs a session. */
function plainDiagnosticsHandlers(engine: Mailroom, env: HandlerEnvironment): Handlers<MailroomContract>['diagnostics'] {
  const noViewer = (): never => {
    throw new AppError('NOT_AVAILABLE', 'Opening a diagnostics bundle is only possible in the desktop app or the browser console.');
  };
  return {
    export: ({ logLimit }) => engine.diagnostics.createBundle(defaultBundlePath(engine.dataDir), { runtime: env.runtime, ...(logLimit !== undefined ? { logLimit } : {}) }),
    importBundle: noViewer,
    closeBundle: () => ({ mode: 'live', bundle: null }),
    viewState: () => ({ mode: 'live', bundle: null }),
  };
}

function inboxHandlers(engine: Mailroom): Handlers<MailroomContract>['inbox'] {
  return {
    states: () => engine.inbox.states(),
    list: (input) => engine.inbox.list(input),
    get: ({ id }) => engine.inbox.get(id),
    raw: ({ id, encoding }) => engine.inbox.raw(id, encoding),
    pollNow: ({ mailboxId }) => engine.inbox.pollNow(mailboxId, 'manual'),
    importWithDebug: ({ mailboxId }) => engine.inbox.importWithDebug(mailboxId),
    polls: ({ mailboxId, beforeId, limit }) => engine.inbox.polls(mailboxId, beforeId, limit),
    poll: ({ id }) => engine.inbox.poll(id),
    settings: ({ mailboxId }) => engine.inbox.settings(mailboxId),
    saveSettings: (input) => engine.inbox.saveSettings(input),
    firstImportNeeded: ({ mailboxId, folder }) => ({ needed: engine.inbox.firstImportNeeded(mailboxId, folder) }),
    firstImport: ({ mailboxId }) => engine.inbox.lookIntoFolder(engine.mailboxes.get(mailboxId)),
    startFromNow: ({ mailboxId }) => engine.inbox.startFromNow(mailboxId),
  };
}

function outboxHandlers(engine: Mailroom, env: HandlerEnvironment): Handlers<MailroomContract>['outbox'] {
  return {
    list: (input) => engine.outbox.list(input),
    counts: ({ mailboxId }) => engine.outbox.counts(mailboxId),
    get: ({ id }) => engine.outbox.get(id),
    compose: (input) => engine.outbox.compose(input, env.runtime === 'electron' ? 'desktop' : env.runtime),
    sendNow: ({ id }) => engine.outbox.sendNow(id),
    retry: ({ id }) => engine.outbox.retry(id),
    cancel: ({ id }) => engine.outbox.cancel(id),
    delete: ({ id }) => engine.outbox.delete(id),
    settings: ({ mailboxId }) => engine.outbox.settings(mailboxId),
    saveSettings: (input) => engine.outbox.saveSettings(input),
    engineState: () => engine.outbox.engineState(),
    relaySettings: () => engine.relay.settings(),
    saveRelaySettings: (input) => engine.relay.saveSettings(input),
  };
}

function readinessHandlers(engine: Mailroom): Handlers<MailroomContract>['readiness'] {
  return {
    report: () => engine.readiness(),
  };
}

function healthHandlers(engine: Mailroom): Handlers<MailroomContract>['health'] {
  return {
    // The running engine's watch records the states (and logs changes); a screen only reads.
    overview: () => engine.health.overview({ record: false }),
    probes: ({ periodMs, mailboxId }) => engine.health.chartProbes(Date.now() - periodMs, mailboxId),
    runProbe: ({ mailboxId, timeoutSeconds }) => engine.probes.run(mailboxId, { trigger: 'manual', ...(timeoutSeconds !== undefined ? { timeoutSeconds } : {}) }),
    probeSettings: ({ mailboxId }) => engine.health.probeSettings(mailboxId),
    saveProbeSettings: (input) => engine.health.saveProbeSettings(input),
  };
}

export function createHandlers(engine: Mailroom, env: HandlerEnvironment): Handlers<MailroomContract> {
  return {
    readiness: readinessHandlers(engine),
    diagnostics: env.diagnostics ?? plainDiagnosticsHandlers(engine, env),
    app: appHandlers(engine, env),
    mailboxes: mailboxHandlers(engine),
    connectionTests: connectionTestHandlers(engine),
    siteSetup: siteSetupHandlers(engine),
    logs: logHandlers(engine),
    detect: detectHandlers(engine),
    oauth: oauthHandlers(engine),
    inbox: inboxHandlers(engine),
    outbox: outboxHandlers(engine, env),
    health: healthHandlers(engine),
  };
}
