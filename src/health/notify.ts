// POSTs one notification (the `text` field makes it a Slack or Mattermost incoming webhook) and
// masks the URLs, which are secrets (a Slack webhook URL is its own credential).
import http from 'node:http';
import https from 'node:https';

export interface NotificationBody {
  text: string;
  interaction: number;
  state: string;
  edge: 'enter' | 'leave';
  since: string;
}

/** Resolves on a 2xx answer; rejects with one line otherwise. */
export function postNotification(url: string, body: NotificationBody, timeoutMs: number): Promise<void> {
  const data = Buffer.from(JSON.stringify(body));
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': data.length, 'user-agent': 'omni-notify' }, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300 ? resolve() : reject(new Error(`answered HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(new Error(err.message)));
    req.end(data);
  });
}

/** https://hooks.example.com/… : scheme and host only; the path and query (the secret part) hidden. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '…';
  }
}

/** An http(s) URL, or why not. */
export function notifyUrlProblem(raw: string): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return `'${maskUrl(raw)}' is not a URL`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `${maskUrl(raw)} is not an http(s) URL`;
  return undefined;
}
