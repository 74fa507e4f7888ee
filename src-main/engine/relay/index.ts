/** The local submission relay for legacy applications. */
export { RelayService, RELAY_HOST, type RelayServiceOptions } from './relay-service.js';
