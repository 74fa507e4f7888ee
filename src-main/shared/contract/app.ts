import { z } from 'zod';
import { channel } from './channel.js';

export const AppInfo = z.object({
  name: z.string(),
  version: z.string(),
  runtime: z.enum(['electron', 'console', 'cli']),
  platform: z.string(),
  dataDir: z.string(),
  secretKeySource: z.string(),
});
export type AppInfo = z.infer<typeof AppInfo>;

/** Application-level channels. */
export const app = {
  info: channel(z.object({}).strict(), AppInfo),
} as const;
