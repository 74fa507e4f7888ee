// Types of electron-binding.mjs for the TypeScript tests.
export declare const MANIFEST_FIELDS: readonly ['betterSqlite3', 'electron', 'platform', 'arch'];
export interface WantedBinding {
  betterSqlite3: string;
  electron: string;
  platform: string;
  arch: string;
}
export declare function moduleVersionOf(bytes: Uint8Array): number | undefined;
export declare function bindingStatus(facts: { binary: Uint8Array | undefined; manifest: unknown; wanted: WantedBinding; electronModuleVersion: number | undefined }): { ready: true } | { ready: false; reason: string };
