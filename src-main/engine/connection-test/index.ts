/** Connection tests: step-by-step SMTP/IMAP probes, diagnosis, transcript, curl command, stored results. */
export { ConnectionTestService, type AccessTokenSource, type ConnectionTestServiceOptions, type RunOptions, type TestLogWriter } from './service.js';
export { adHocSpec, DEFAULT_TIMEOUT_MS, type AdHocFields } from './ad-hoc-spec.js';
export { runConnectionTest, type TestEnvironment, type TestOutcome, type TestSpec } from './run-test.js';
export { resolverFromEnvironment, serverResolver, systemResolver, parseDnsServer, type DnsResolver, type MxRecord, type ResolvedAddress } from './dns-resolver.js';
export { curlCommand, CURL_MESSAGE_FILE, type CurlCommandInput } from './curl-command.js';
export { Redactor, Transcript, secretVariants } from './transcript.js';
export type { StepProgress } from './step-recorder.js';
