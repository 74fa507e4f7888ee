/** Remembers the main window's size, position and maximized state between runs. */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const WindowState = z.object({
  x: z.number().int().optional(),
  y: z.number().int().optional(),
  width: z.number().int().min(640).max(10000),
  height: z.number().int().min(480).max(10000),
  maximized: z.boolean(),
});
export type WindowState = z.infer<typeof WindowState>;

const DEFAULT: WindowState = { width: 1280, height: 800, maximized: false };

export function loadWindowState(dataDir: string): WindowState {
  try {
    return WindowState.parse(JSON.parse(fs.readFileSync(path.join(dataDir, 'window-state.json'), 'utf8')));
  } catch {
    return DEFAULT;
  }
}

export function saveWindowState(dataDir: string, state: WindowState): void {
  const file = path.join(dataDir, 'window-state.json');
  const temp = `${file}.tmp`;
  try {
    fs.writeFileSync(temp, JSON.stringify(state));
    fs.renameSync(temp, file);
  } catch {
    // Losing the window position is harmless.
  }
}
