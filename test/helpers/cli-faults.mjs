/**
 * Faults injected into a real `mailroom` process (NODE_OPTIONS=--import=<this
 * file> and MAILROOM_TEST_FAULT=<kind>), to check what the process itself
 * guarantees whatever a command does: exit code 0, 1 or 2 and a message with
 * a code, never a stack trace. It wraps commander's parseAsync, which every
 * command line goes through (commander is not bundled, so this is the same
 * module the CLI uses).
 *
 * - hang: the command's work never settles (Node alone would exit 13, silently);
 * - throw-later: an exception thrown from a timer after the command finished;
 * - reject-later: a rejected promise nobody awaits;
 * - exit-code: something sets process.exitCode to 13.
 */
import { Command } from 'commander';

const fault = process.env.MAILROOM_TEST_FAULT;
const original = Command.prototype.parseAsync;

Command.prototype.parseAsync = async function parseAsync(...args) {
  if (fault === 'hang') return new Promise(() => undefined);
  const result = await original.apply(this, args);
  if (fault === 'throw-later') setTimeout(() => {
    throw new TypeError('a fault injected by the test, thrown from a timer');
  }, 10);
  if (fault === 'reject-later') void Promise.reject(new Error('a fault injected by the test: a rejection nobody awaits'));
  if (fault === 'exit-code') process.exitCode = 13;
  return result;
};
