// Types of start-plan.mjs for the TypeScript tests.
export declare const REBUILD_COMMAND: string;
export type StartStep = { action: 'electron' } | { action: 'rebuild'; message: string } | { action: 'console'; message: string };
export type BindingStatus = { ready: true } | { ready: false; reason: string };
export declare function planStart(facts: { electronBinary: string | undefined; electronVersion: string | undefined; binding: BindingStatus }): StartStep;
export declare function planAfterRebuild(facts: { rebuilt: boolean; electronVersion: string | undefined }): StartStep;
