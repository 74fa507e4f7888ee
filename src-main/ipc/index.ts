/** Builds the router over an engine: the one entry point for every transport. */
import { contract } from '../shared/contract/index.js';
import type { Mailroom } from '../engine/mailroom.js';
import { createHandlers, type HandlerEnvironment } from './handlers.js';
import { createRouter, type Router } from './router.js';
import { isTrustedSender } from './sender.js';

export function createMailroomRouter(engine: Mailroom, env: HandlerEnvironment, onInternalError?: (channel: string, error: unknown) => void): Router {
  return createRouter(contract, createHandlers(engine, env), { isTrustedSender, ...(onInternalError ? { onInternalError } : {}) });
}

export type { Router, CallContext } from './router.js';
