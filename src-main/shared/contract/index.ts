/**
 * The IPC contract: every channel declared once, by area. The main side
 * registers one handler per channel; the renderer's client is derived from it.
 */
import { app } from './app.js';
import { mailboxes } from './mailboxes.js';
import { connectionTests } from './connection-tests.js';
import type { Contract } from './channel.js';

export const contract = {
  app,
  mailboxes,
  connectionTests,
} as const satisfies Contract;

export type MailroomContract = typeof contract;

/** Event channels sent from main to renderer, by name. */
export const EVENT_NAMES = ['mailboxes.changed', 'logs.appended', 'connectionTests.progress', 'connectionTests.finished'] as const;
export type EventName = (typeof EVENT_NAMES)[number];

export * from './channel.js';
export * from './app.js';
export * from './mailboxes.js';
export * from './connection-tests.js';
