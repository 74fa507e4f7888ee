/** The outbound mail engine: durable outbox, retry policy, senders. */
export { OutboxService, busyError, type OutboxServiceOptions, type RawSubmission } from './outbox-service.js';
export { decideRetry, nominalRetryDelayMs, retryDelayMs, retrySchedule, type RetryPolicy } from './backoff.js';
export { composeMessage, prepareRawMessage, type PreparedMessage } from './message-source.js';
export type { OutboxTokenProvider } from './smtp-lane.js';
