// Fast seeding for the benchmarks: one transaction of prepared inserts straight into the schema the
// migrations created (through omni's own openDatabase), with a plausible shape of data.
import { ACCOUNT_ID } from './deliveries.mjs';

const DAY = 86_400_000;
const TEXTS = [
  'Hi, my order has not arrived yet. Can you check?',
  'We are sorry for the delay: your parcel left our warehouse today.',
  'Thanks! And the invoice?',
  'You will find it in your account, under Orders.',
  'I was charged twice this month',
];

/**
 * `messages` messages over `requesters` requesters (twitter ids senderBase + i, so the intake load's
 * returning senders are among them). Each requester has 1 to 4 tickets (2.5 on average), of which
 * only a fifth of requesters still have one open; about 4 messages per ticket, a third outbound.
 */
export function seedHistory(sqlite, { interactionId, messages = 1_000_000, requesters = 100_000, senderBase = 4_000_000_000, now = Date.now() }) {
  const insRequester = sqlite.prepare(
    'INSERT INTO requesters (twitter_user_id, screen_name, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id',
  );
  const insTicket = sqlite.prepare(
    `INSERT INTO tickets (interaction_id, requester_id, status, subject, created_at, updated_at, closed_at)
     VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
  );
  const insMessage = sqlite.prepare(
    `INSERT INTO messages (ticket_id, interaction_id, direction, text, twitter_event_id, sender_twitter_id, sent_at, attachments, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, '[]', ?)`,
  );
  const tickets = [];
  sqlite.pragma('synchronous = OFF'); // seeding only: the benchmark's own connection is the listener's
  const run = sqlite.transaction(() => {
    for (let i = 0; i < requesters; i++) {
      const twitterId = String(senderBase + i);
      const created = now - 365 * DAY + Math.floor((i / requesters) * 300 * DAY);
      const rid = insRequester.get(twitterId, `cust${twitterId}`, `Customer ${twitterId}`, iso(created), iso(created)).id;
      const n = 1 + (i % 4);
      for (let k = 0; k < n; k++) {
        const open = k === n - 1 && i % 5 === 0;
        const at = created + k * 7 * DAY;
        const id = insTicket.get(interactionId, rid, open ? 'open' : 'closed', TEXTS[k % TEXTS.length], iso(at), iso(at + DAY), open ? null : iso(at + DAY)).id;
        tickets.push({ id, twitterId, at });
      }
    }
    for (let m = 0; m < messages; m++) {
      const t = tickets[m % tickets.length];
      const outbound = m % 3 === 1;
      const at = iso(t.at + Math.floor(m / tickets.length) * 3_600_000);
      const event = '17' + String(m).padStart(17, '0');
      insMessage.run(t.id, interactionId, outbound ? 'outbound' : 'inbound', TEXTS[m % TEXTS.length], event, outbound ? ACCOUNT_ID : t.twitterId, at, at);
    }
  });
  run();
  sqlite.pragma('wal_checkpoint(TRUNCATE)');
  sqlite.pragma('synchronous = FULL');
  return { requesters, tickets: tickets.length, messages };
}

/** Copies interaction `id` into `count - 1` more (names "<name> 0002"…), encrypted secrets included. */
export function cloneInteractions(sqlite, id, count) {
  const cols = sqlite
    .prepare('SELECT name FROM pragma_table_info(?)')
    .all('interactions')
    .map((c) => c.name)
    .filter((c) => c !== 'id' && c !== 'name');
  const stmt = sqlite.prepare(`INSERT INTO interactions (name, ${cols.join(', ')}) SELECT ?, ${cols.join(', ')} FROM interactions WHERE id = ?`);
  sqlite.transaction(() => {
    for (let i = 2; i <= count; i++) stmt.run(`Support ${String(i).padStart(4, '0')}`, id);
  })();
}

const iso = (ms) => new Date(ms).toISOString();
