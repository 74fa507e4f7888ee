/**
 * The IPC contract: every channel declared once, by area. The main side
 * registers one handler per channel; the renderer's client is derived from it.
 */
import { app } from './app.js';
import { mailboxes } from './mailboxes.js';
import { connectionTests } from './connection-tests.js';
import { siteSetup } from './site-setup.js';
import { logs } from './logs.js';
import { diagnostics } from './diagnostics.js';
import { detect, oauth } from './oauth.js';
import { outbox } from './outbox.js';
import { inbox } from './inbox.js';
import { readiness } from './readiness.js';
import { health } from './health.js';
import type { Contract } from './channel.js';

export const contract = {
  app,
  mailboxes,
  connectionTests,
  siteSetup,
  logs,
  diagnostics,
  detect,
  oauth,
  outbox,
  inbox,
  readiness,
  health,
} as const satisfies Contract;

export type MailroomContract = typeof contract;

/** Event channels sent from main to renderer, by name. */
export const EVENT_NAMES = ['mailboxes.changed', 'logs.appended', 'logs.exportProgress', 'connectionTests.progress', 'connectionTests.finished', 'oauth.signInFinished', 'oauth.changed', 'outbox.changed', 'inbox.changed', 'health.changed', 'probes.finished'] as const;
export type EventName = (typeof EVENT_NAMES)[number];

export * from './channel.js';
export * from './app.js';
export * from './mailboxes.js';
export * from './connection-tests.js';
export * from './site-setup.js';
export * from './logs.js';
export * from './diagnostics.js';
export * from './oauth.js';
export * from './outbox.js';
export * from './inbox.js';
export * from './readiness.js';
export * from './health.js';
