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

export interface HandlerEnvironment {
  runtime: 'electron' | 'console' | 'cli';
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

function connectionTestHandlers(_engine: Mailroom): Handlers<MailroomContract>['connectionTests'] {
  const notYet = (): never => {
    throw new AppError('NOT_IMPLEMENTED', 'Connection tests are not available in this build yet.');
  };
  return { run: notYet, cancel: notYet, history: notYet, get: notYet };
}

export function createHandlers(engine: Mailroom, env: HandlerEnvironment): Handlers<MailroomContract> {
  return {
    app: appHandlers(engine, env),
    mailboxes: mailboxHandlers(engine),
    connectionTests: connectionTestHandlers(engine),
  };
}
