// Realistic signed DM deliveries, cheap enough that the load generator is not what is measured.
// One body is built by omni's own dmDeliveryBody with placeholders, then every request fills the
// placeholders by string concatenation and signs the bytes with one HMAC (a few µs).
import crypto from 'node:crypto';

export const ACCOUNT_ID = '123';
const P = { sender: '9000000000000000001', event: '9000000000000000002', text: 'PLACEHOLDER_TEXT', name: 'PLACEHOLDER_NAME', screen: 'placeholder_screen' };

const TEXTS = [
  'Hi, my order has not arrived yet. Can you check?',
  'Hello! I was charged twice for the same subscription this month.',
  'Any news on my ticket? Thanks',
  'The app keeps logging me out since the last update',
  'Can I change the delivery address of order 4417?',
  'ok thanks 👍',
];

/**
 * A generator of delivery bodies for one interaction: `senders` returning senders, a share `newShare`
 * of messages from senders never seen before, unique event ids (prefix makes runs on one database distinct).
 */
export function deliveryFactory({ dmDeliveryBody, secret, senders = 2000, newShare = 0.1, eventPrefix = '18', senderBase = 4_000_000_000 }) {
  const template = dmDeliveryBody({
    forUserId: ACCOUNT_ID,
    events: [{ senderId: P.sender, recipientId: ACCOUNT_ID, text: P.text, eventId: P.event, createdAt: new Date() }],
    users: { [P.sender]: { name: P.name, screenName: P.screen } },
  });
  // Split on every placeholder, remembering which one sat between the parts.
  const re = new RegExp(Object.values(P).join('|'), 'g');
  const parts = template.split(re);
  const order = template.match(re).map((m) => Object.keys(P).find((k) => P[k] === m));
  let seq = 0;
  let fresh = 0;
  const key = Buffer.from(secret);

  return function next() {
    seq++;
    const isNew = Math.random() < newShare;
    const sender = String(isNew ? senderBase + senders + ++fresh : senderBase + Math.floor(Math.random() * senders));
    const event = eventPrefix + String(seq).padStart(17, '0');
    const values = { sender, event, text: TEXTS[seq % TEXTS.length], name: `Customer ${sender}`, screen: `cust${sender}` };
    let body = parts[0];
    for (let i = 0; i < order.length; i++) body += values[order[i]] + parts[i + 1];
    const bytes = Buffer.from(body);
    const signature = 'sha256=' + crypto.createHmac('sha256', key).update(bytes).digest('base64');
    return { bytes, signature, event, sender };
  };
}
