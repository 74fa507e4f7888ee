/**
 * Site setup of the help-desk system over IPC: the version checklist, the
 * registry SQL, and the web.config feature toggle (check, preview, apply).
 * The engine runs on this computer, so file paths are local to it.
 */
import { z } from 'zod';
import { channel } from './channel.js';
import {
  RegistrySql,
  RegistrySqlInput,
  SiteChecklist,
  SiteVersionChoice,
  SiteVersionText,
  WebConfigApplyInput,
  WebConfigApplyResult,
  WebConfigCheck,
  WebConfigEditPlan,
  WebConfigSource,
} from '../site-setup.js';

/** Site setup channels (area `siteSetup`). */
export const siteSetup = {
  /** The version picker's choices. */
  versions: channel(z.object({}).strict(), z.array(SiteVersionChoice)),
  /** The checklist for a typed version ("10.1.4", "G9 9.2 R10") or a range id. */
  checklist: channel(z.object({ version: SiteVersionText }).strict(), SiteChecklist),
  /** The statements that read and set reg_id 320. */
  registrySql: channel(RegistrySqlInput, RegistrySql),
  /** Which parts of the NewAuthentication toggle a web.config has. */
  checkWebConfig: channel(WebConfigSource, WebConfigCheck),
  /** The diff of the edit that completes the toggle; writes nothing. */
  previewWebConfig: channel(WebConfigSource, WebConfigEditPlan),
  /** Backup, then write the edit; nothing when already complete. */
  applyWebConfig: channel(WebConfigApplyInput, WebConfigApplyResult),
} as const;
