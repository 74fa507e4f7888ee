/** The basic-authentication retirement readiness report over IPC. */
import { z } from 'zod';
import { channel } from './channel.js';
import { ReadinessReport } from '../readiness.js';

/** Readiness channels. */
export const readiness = {
  /** Every mailbox side and relay account that still signs in to Microsoft 365 with a password: risk, reason, the way out. */
  report: channel(z.object({}).strict(), ReadinessReport),
} as const;
