/**
 * Which channels only read, for a diagnostics bundle's read-only view: one
 * list for the session (which refuses everything else while a bundle is
 * open) and for the screens (which hide or disable, with the reason, every
 * control whose channel would be refused, so nothing is offered that would
 * fail after the form was filled). A test holds every channel of the contract
 * to one of the two lists. Imports nothing from node or electron.
 */

/** Channels that only read: they run against an opened bundle. */
export const READING_CHANNELS: ReadonlySet<string> = new Set([
  'app.info',
  'mailboxes.list',
  'mailboxes.get',
  'mailboxes.presets',
  'mailboxes.exportSettings',
  'connectionTests.history',
  'connectionTests.get',
  'siteSetup.versions',
  'siteSetup.checklist',
  'siteSetup.registrySql',
  'logs.query',
  'logs.tail',
  'logs.retention',
  'oauth.settingsGet',
  'oauth.signInStatus',
  'oauth.states',
  'oauth.health',
  'outbox.list',
  'outbox.counts',
  'outbox.get',
  'outbox.settings',
  'outbox.engineState',
  'outbox.relaySettings',
  'inbox.states',
  'inbox.list',
  'inbox.get',
  'inbox.raw',
  'inbox.polls',
  'inbox.poll',
  'inbox.settings',
  'inbox.firstImportNeeded',
  'oauth.appSettingsGet',
  'readiness.report',
  'health.overview',
  'health.probes',
  'health.probeSettings',
]);

/**
 * Channels that change data, reach a server or the admin's own files: refused
 * in a bundle's view. (`diagnostics.*` always runs against the admin's own
 * session: it opens and closes bundles.)
 */
export const CHANGING_CHANNELS: ReadonlySet<string> = new Set([
  'mailboxes.create',
  'mailboxes.update',
  'mailboxes.remove',
  'mailboxes.importSettings',
  'connectionTests.run',
  'connectionTests.runGraph',
  'connectionTests.cancel',
  'siteSetup.checkWebConfig',
  'siteSetup.previewWebConfig',
  'siteSetup.applyWebConfig',
  'logs.export',
  'logs.setRetention',
  'logs.prune',
  // Autodetect asks DNS and Microsoft about an address: from the viewer's network, not the bundle's.
  'detect.address',
  'oauth.settingsSave',
  'oauth.settingsValidate',
  'oauth.beginSignIn',
  'oauth.cancelSignIn',
  'oauth.checkToken',
  'oauth.logout',
  'outbox.compose',
  'outbox.sendNow',
  'outbox.retry',
  'outbox.cancel',
  'outbox.delete',
  'outbox.saveSettings',
  'outbox.saveRelaySettings',
  'inbox.pollNow',
  'inbox.importWithDebug',
  'inbox.saveSettings',
  'inbox.firstImport',
  'inbox.startFromNow',
  'oauth.appSettingsSave',
  // The doctor asks Microsoft for a token and signs in to the servers.
  'oauth.doctor',
  'health.runProbe',
  'health.saveProbeSettings',
]);

/** Whether a channel may run against an opened bundle (an unknown one may not). */
export function allowedInBundleView(channel: string): boolean {
  return READING_CHANNELS.has(channel);
}

/** What a disabled control says while a bundle is open. */
export const READ_ONLY_REASON = 'You are viewing a diagnostics bundle (read-only): close the bundle to make changes.';
