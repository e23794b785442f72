// The notification URLs kept in the database (`omni notify set`), as well as --notify: each URL is
// a secret (a Slack or Mattermost incoming-webhook URL is its own credential), so the list is an
// AES-256-GCM envelope in `settings`, bound to its name, and shown masked.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { getSetting, setSetting, unsetSetting } from '../db/settings.js';
import type { SecretBox } from '../secrets.js';

export const NOTIFY_SETTING = 'notify.urls';
const AD = 'settings.notify.urls';

export async function storedNotifyUrls(db: Kysely<Database>, box: SecretBox): Promise<string[]> {
  const row = await getSetting(db, NOTIFY_SETTING);
  if (!row) return [];
  const v = JSON.parse(box.decrypt(row.value, AD)) as unknown;
  return Array.isArray(v) ? v.map(String) : [];
}

export async function storeNotifyUrls(db: Kysely<Database>, box: SecretBox, urls: string[], now: string): Promise<void> {
  if (urls.length === 0) {
    await unsetSetting(db, NOTIFY_SETTING);
    return;
  }
  await setSetting(db, NOTIFY_SETTING, box.encrypt(JSON.stringify(urls), AD), now);
}
