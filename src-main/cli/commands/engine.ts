/**
 * `mailroom engine run [--until-idle]`: the engine headless. With
 * --until-idle it sends what is queued or due and exits, printing
 * `{ "sent", "deferred", "failed", "waitingForSignIn", "ms" }`; without it, it also runs the
 * local relay (when enabled) and the inbox import until Ctrl+C.
 */
import type { EngineRunSummary } from '../../shared/outbox.js';
import type { LogEntry } from '../../shared/activity-log.js';
import { busyError } from '../../engine/outbox/sender.js';
import { dataDirOf, untilInterrupted, type CommonOptions } from '../context.js';
import { printJson, reportError } from '../output.js';

function summaryLine(s: EngineRunSummary): string {
  const waiting = s.waitingForSignIn ? `; ${s.waitingForSignIn} waiting for a Microsoft sign-in (mailroom oauth login <mailbox>, then run again)` : '';
  return `${s.sent} sent, ${s.deferred} deferred, ${s.failed} failed in ${s.ms} ms${waiting}`;
}

function logLine(e: LogEntry): string {
  const t = new Date(e.at).toLocaleTimeString();
  return `${t}  ${e.level.padEnd(7)} ${e.code ? `[${e.code}] ` : ''}${e.message}\n`;
}

export async function runCommand(f: CommonOptions & { untilIdle?: boolean }): Promise<void> {
  if (f.untilIdle) {
    // The lean sender: this run is often scheduled, and timed as a whole process.
    let engine: import('../../engine/outbox/open-sender.js').SenderEngine | undefined;
    try {
      const { openSender } = await import('../../engine/outbox/open-sender.js');
      engine = openSender({ dataDir: dataDirOf(f) });
      if (!f.json) engine.events.on('logs.appended', (e) => void process.stderr.write(logLine(e as LogEntry)));
      const summary = await engine.sender.runUntilIdle('cli');
      if (f.json) printJson(summary);
      else process.stdout.write(`Outbox: ${summaryLine(summary)}.\n`);
    } catch (error) {
      reportError(error, Boolean(f.json));
    } finally {
      await engine?.close();
    }
    return;
  }
  // Until Ctrl+C: the full engine, so that the inbox import runs too.
  let engine: import('../../engine/mailroom.js').Mailroom | undefined;
  let interrupted: ReturnType<typeof untilInterrupted> | undefined;
  try {
    const { openMailroom } = await import('../../engine/mailroom.js');
    const { EngineRuntime } = await import('../../engine/runtime.js');
    engine = openMailroom({ dataDir: dataDirOf(f) });
    const started = Date.now();
    if (!f.json) engine.events.on('logs.appended', (e) => void process.stdout.write(logLine(e as LogEntry)));
    const runtime = new EngineRuntime(engine, { runtime: 'cli', onWarning: (m) => void process.stderr.write(`warning: ${m}\n`) });
    // Listening for Ctrl+C before anything starts: a stop while starting is a clean stop too.
    interrupted = untilInterrupted();
    const status = await runtime.start();
    if (status.sendingElsewhere) throw busyError(status.sendingElsewhere);
    // With --json, stdout holds only the summary at the end: the admin (or a script waiting for it) learns it runs on stderr.
    (f.json ? process.stderr : process.stdout).write(
      `Mailroom engine running on ${engine.dataDir}: outbox${status.relay ? `, relay on ${status.relay.host}:${status.relay.port}` : ''}${status.inbox ? ', inbox import' : ''}. Ctrl+C stops.\n`,
    );
    await interrupted.signal;
    const counters = engine.outbox.runCounters();
    await runtime.stop();
    const summary: EngineRunSummary = { ...counters, waitingForSignIn: engine.outbox.counts()['waiting-sign-in'], ms: Date.now() - started };
    if (f.json) printJson(summary);
    else process.stdout.write(`Stopped: ${summaryLine(summary)}.\n`);
  } catch (error) {
    reportError(error, Boolean(f.json));
  } finally {
    interrupted?.dispose();
    engine?.close();
  }
}
