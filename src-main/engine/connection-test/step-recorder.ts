/**
 * Runs the steps of a test in order: times each one, gives it its own
 * deadline, reports it as it starts and ends, and leaves the steps after a
 * failure as `skipped`.
 */
import type { StepStatus, StepTls, TestStep, TestStepName } from '../../shared/diagnosis.js';
import type { DetectedProtocol, FailureKind } from '../diagnose/diagnose.js';
import { SocketFailure, type StepLimits } from './line-socket.js';

/** Progress of one step, as reported while a test runs. */
export interface StepProgress {
  name: TestStepName;
  status: StepStatus | 'running';
  ms: number;
  detail: string;
  /** The TLS version and cipher, on a `tls` or `starttls` step that got that far. */
  tls?: StepTls;
}

/** Why a step failed, as the probe saw it; the runner adds the context and asks the diagnosis rules. */
export interface StepFailureFacts {
  kind: FailureKind;
  reply?: string;
  replyCode?: number;
  errorCode?: string;
  missing?: string;
  detected?: DetectedProtocol;
  serverError?: string;
  /** The TLS version (and cipher) an old server offered, learned by a diagnostic handshake after Mailroom's own was refused. */
  serverTls?: { version: string; cipher: string | null };
  /**
   * False when a sign-in was refused before the credential was sent (POP3's
   * USER refused, or AUTH refused before its "+"), so no warning says it
   * crossed the network. Absent: sent whenever the server refused the step.
   */
  credentialSent?: boolean;
}

/** A step failed; `detail` is what the step list shows, `tls` what it learned of the TLS session. */
export class StepError extends Error {
  constructor(readonly facts: StepFailureFacts, readonly detail: string, readonly tls?: StepTls) {
    super(detail);
    this.name = 'StepError';
  }
}

/** The run was cancelled. */
export class TestCancelled extends Error {
  constructor() {
    super('The test was cancelled.');
    this.name = 'TestCancelled';
  }
}

/** Records steps in a planned order. */
export class StepRecorder {
  readonly steps: TestStep[];
  /** The step that failed, with its facts, once one has. */
  failure: { step: TestStepName; facts: StepFailureFacts } | undefined;

  constructor(
    planned: readonly TestStepName[],
    private readonly timeoutMs: number,
    private readonly signal: AbortSignal | undefined,
    private readonly onProgress?: (progress: StepProgress) => void,
  ) {
    this.steps = planned.map((name) => ({ name, status: 'skipped', ms: 0, detail: 'not run: an earlier step failed' }));
  }

  private entry(name: TestStepName): TestStep {
    const step = this.steps.find((s) => s.name === name);
    if (!step) throw new Error(`Step ${name} is not planned`);
    return step;
  }

  /** Marks a step as not used in this test (for example `tls` when security is starttls). */
  notUsed(name: TestStepName, detail: string): void {
    if (!this.steps.some((s) => s.name === name)) return;
    const step = this.entry(name);
    step.status = 'skipped';
    step.detail = detail;
    this.onProgress?.({ ...step });
  }

  /**
   * Runs one step with its own deadline. The body returns the detail to show
   * (and a value); a StepError or SocketFailure marks the step failed and is
   * re-thrown as a StepError (or TestCancelled).
   */
  async run<T>(name: TestStepName, body: (limits: StepLimits) => Promise<{ detail: string; value: T; tls?: StepTls }>, onSocketFailure: (failure: SocketFailure) => StepError): Promise<T> {
    const step = this.entry(name);
    if (this.signal?.aborted) throw this.cancelled(step, 0);
    const started = performance.now();
    this.onProgress?.({ name, status: 'running', ms: 0, detail: '' });
    const limits: StepLimits = { deadline: Date.now() + this.timeoutMs, ...(this.signal ? { signal: this.signal } : {}) };
    try {
      const { detail, value, tls } = await body(limits);
      step.status = 'ok';
      step.ms = Math.round(performance.now() - started);
      step.detail = detail;
      if (tls) step.tls = tls;
      this.onProgress?.({ ...step });
      return value;
    } catch (error) {
      const ms = Math.round(performance.now() - started);
      if (error instanceof TestCancelled || (error instanceof SocketFailure && error.kind === 'cancelled') || this.signal?.aborted) throw this.cancelled(step, ms);
      const failure = error instanceof StepError ? error : error instanceof SocketFailure ? onSocketFailure(error) : new StepError({ kind: 'unexpected' }, `unexpected error: ${(error as Error).message}`);
      step.status = 'failed';
      step.ms = ms;
      step.detail = failure.detail;
      if (failure.tls) step.tls = failure.tls;
      this.failure = { step: name, facts: failure.facts };
      this.onProgress?.({ ...step });
      throw failure;
    }
  }

  private cancelled(step: TestStep, ms: number): TestCancelled {
    step.status = 'failed';
    step.ms = ms;
    step.detail = 'cancelled';
    this.onProgress?.({ ...step });
    return new TestCancelled();
  }
}
