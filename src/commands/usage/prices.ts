// The prices `omni usage` and `omni reconcile` estimate with: X's published pay-per-use rates, each
// overridable by its environment variable (or usage's --price-* flags).
import { UsageError } from '../../errors.js';
import { DEFAULT_PRICES, PRICE_ENV, type Prices } from '../../reconcile/prices.js';

export function parsePrice(value: string, source: string): number {
  const n = Number(value.trim().replace(/^\$/, ''));
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`${source} must be a price in USD such as 0.01, not '${value}'`, `example: ${source} 0.01`);
  return n;
}

export function pricesFrom(env: NodeJS.ProcessEnv, flags: Partial<Record<keyof Prices, string>> = {}): Prices {
  const p = { ...DEFAULT_PRICES };
  for (const k of Object.keys(p) as Array<keyof Prices>) {
    const flag = flags[k];
    if (flag !== undefined) p[k] = parsePrice(flag, `--price-${k}`);
    else if (env[PRICE_ENV[k]]) p[k] = parsePrice(env[PRICE_ENV[k]]!, PRICE_ENV[k]);
  }
  return p;
}
