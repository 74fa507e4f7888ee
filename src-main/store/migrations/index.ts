/**
 * The numbered migrations, in order. Each is one SQL file applied in its own
 * transaction; `PRAGMA user_version` records the last one applied.
 * Add a file NNN-name.sql and list it here; never edit a released one.
 */
import m001 from './001-mailboxes.sql';
import m002 from './002-connection-tests.sql';
import m003 from './003-oauth.sql';
import m004 from './004-activity-log.sql';
import m005 from './005-inbox.sql';
import m006 from './006-outbox.sql';
import m007 from './007-inbox-identity.sql';
import m008 from './008-outbox-wait-sign-in.sql';
import m009 from './009-relay-from.sql';
import m010 from './010-app-only.sql';
import m011 from './011-log-repeats.sql';
import m012 from './012-probes.sql';
import m013 from './013-transports.sql';
import m014 from './014-graph-sync.sql';
import m015 from './015-pop3-uidls.sql';
import m016 from './016-connection-test-protocols.sql';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: '001-mailboxes', sql: m001 },
  { version: 2, name: '002-connection-tests', sql: m002 },
  { version: 3, name: '003-oauth', sql: m003 },
  { version: 4, name: '004-activity-log', sql: m004 },
  { version: 5, name: '005-inbox', sql: m005 },
  { version: 6, name: '006-outbox', sql: m006 },
  { version: 7, name: '007-inbox-identity', sql: m007 },
  { version: 8, name: '008-outbox-wait-sign-in', sql: m008 },
  { version: 9, name: '009-relay-from', sql: m009 },
  { version: 10, name: '010-app-only', sql: m010 },
  { version: 11, name: '011-log-repeats', sql: m011 },
  { version: 12, name: '012-probes', sql: m012 },
  { version: 13, name: '013-transports', sql: m013 },
  { version: 14, name: '014-graph-sync', sql: m014 },
  { version: 15, name: '015-pop3-uidls', sql: m015 },
  { version: 16, name: '016-connection-test-protocols', sql: m016 },
];
