/**
 * Who may call the router. In the desktop app only frames loaded from the
 * app's own protocol; in the browser console only requests the server has
 * already authenticated (token, Host and Origin checked).
 */
import type { CallContext } from './router.js';

/** The scheme and host the desktop app serves its renderer from. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'mailroom';
export const APP_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

export function isAppFrameUrl(url: string | undefined): boolean {
  if (!url) return false;
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST;
  } catch {
    return false;
  }
}

export function isTrustedSender(ctx: CallContext): boolean {
  switch (ctx.transport) {
    case 'internal':
    case 'console':
      return true;
    case 'electron':
      return isAppFrameUrl(ctx.senderUrl);
    default:
      return false;
  }
}
