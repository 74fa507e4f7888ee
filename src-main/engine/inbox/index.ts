/** The inbound mail engine: IMAP import, receive log, handoff folder. */
export { InboxService, type InboxServiceOptions } from './inbox-service.js';
export type { InboxTokenProvider, InboxAccessToken } from './imap-client.js';
export { WorkerParser, InThreadParser, type MessageParser } from './message-parser.js';
