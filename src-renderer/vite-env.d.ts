/// <reference types="vite/client" />
import type { MailroomBridge } from '../src-main/shared/bridge';

declare global {
  interface Window {
    /** Present in the desktop app (the preload); absent in the browser console. */
    mailroom?: MailroomBridge;
  }
}
