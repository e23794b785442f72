// Durations on the command line: "30s", "10m", "1h", "500ms". One unit, an integer, no spaces, so a
// value means the same thing to every reader; anything else is refused with an example.
import { UsageError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Milliseconds, or a UsageError naming the flag, the bounds and an example. */
export function parseDuration(value: string, flag: string, bounds: { minMs: number; maxMs: number }): number {
  const m = /^(\d+)(ms|s|m|h)$/.exec(value.trim());
  const describe = (ms: number) => (ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1_000 === 0 ? `${ms / 1_000}s` : `${ms}ms`);
  if (!m) throw new UsageError(`${flag} must be a duration like 30s, 10m or 1h, not '${value}'`, `example: ${flag} 10m`);
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  if (ms < bounds.minMs || ms > bounds.maxMs) {
    throw new UsageError(`${flag} must be between ${describe(bounds.minMs)} and ${describe(bounds.maxMs)}, not ${value}`, `example: ${flag} 10m`);
  }
  return ms;
}
