/** Autodetect: MX, Microsoft user realm, autoconfig and the provider table. */
export { Detector, DEFAULT_USER_REALM_URL, detectorOptionsFromEnv, type DetectorOptions, type MxRecord, type MxResolver } from './detect.js';
export { DEFAULT_AUTOCONFIG_URLS, parseAutoconfig, AutoconfigParseError, type AutoconfigResult, type AutoconfigServer } from './autoconfig.js';
export { PROVIDERS, MICROSOFT_MX_SUFFIXES, isMicrosoftMx, providerByDomain, providerByMx, type ProviderEntry } from './providers.js';
