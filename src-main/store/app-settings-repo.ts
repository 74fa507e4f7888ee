/**
 * Small app-level settings as JSON values in app_settings, validated by the
 * caller's schema on read so a damaged value falls back to the default.
 */
import type { z } from 'zod';
import type { Db } from './db.js';

export class AppSettingsRepo {
  constructor(private readonly db: Db) {}

  /** The value under `key`, parsed with `schema`; `fallback` when absent or invalid. */
  get<S extends z.ZodType>(key: string, schema: S, fallback: z.output<S>): z.output<S> {
    const row = this.db.prepare('SELECT value FROM app_settings WHERE key = ?').get(key) as { value: string } | undefined;
    if (!row) return fallback;
    try {
      const parsed = schema.safeParse(JSON.parse(row.value));
      return parsed.success ? parsed.data : fallback;
    } catch {
      return fallback;
    }
  }

  set(key: string, value: unknown): void {
    this.db
      .prepare('INSERT INTO app_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      .run(key, JSON.stringify(value));
  }
}
