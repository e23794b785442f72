// What X bills for DMs under pay-per-use, as parameters with X's published rates as defaults. An
// estimate: X's developer console is authoritative (rates change; X deduplicates reads per UTC day).
export interface Prices {
  /** A dm.received / chat.received event delivered (webhook or stream). */
  delivered: number;
  /** A DM event read from GET /2/dm_events ("DM Event: Read", per resource). */
  read: number;
  /** A DM sent ("DM Interaction: Create", per request). */
  sent: number;
}

export const DEFAULT_PRICES: Prices = { delivered: 0.01, read: 0.01, sent: 0.015 };

/** The environment variables that override each price (USD). */
export const PRICE_ENV: Record<keyof Prices, string> = {
  delivered: 'OMNI_X_PRICE_DELIVERED',
  read: 'OMNI_X_PRICE_READ',
  sent: 'OMNI_X_PRICE_SENT',
};

export function costOf(p: Prices, n: { delivered?: number; read?: number; sent?: number }): number {
  return (n.delivered ?? 0) * p.delivered + (n.read ?? 0) * p.read + (n.sent ?? 0) * p.sent;
}

export function usd(x: number): string {
  return `$${x.toFixed(x !== 0 && x < 0.1 ? 3 : 2)}`;
}
