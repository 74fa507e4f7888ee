/** The app version, injected at build time (esbuild/vite `define`), read from package.json otherwise. */
declare const __MAILROOM_VERSION__: string | undefined;

export const APP_VERSION: string = typeof __MAILROOM_VERSION__ === 'string' ? __MAILROOM_VERSION__ : process.env.npm_package_version ?? '0.0.0-dev';
