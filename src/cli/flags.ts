// Every flag value the command line parses, in one place, so that "--limit", "--before", "--port" or a
// duration means the same thing and is refused with the same words under every command. Each parser
// takes the raw string commander hands over and the flag's name, and throws a UsageError (exit 2)
// naming the flag, what it takes and an example.
import { UsageError } from '../errors.js';

/** A row or entity number: "12" or "#12", at least 1. `what` names it in the error ("--before", "the ticket id"). */
export function parseId(value: string, what: string): number {
  const v = value.trim().replace(/^#/, '');
  if (!/^\d{1,15}$/.test(v) || Number(v) < 1) throw new UsageError(`${what} must be a positive number, not '${value}'`);
  return Number(v);
}

/** A page size from 1 to 1000 (`--limit` of the list commands). */
export function parseLimit(value: string, flag = '--limit'): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1000) throw new UsageError(`${flag} must be a number from 1 to 1000, not '${value}'`);
  return Number(value);
}

/** A positive integer without an upper bound (`omni audit --limit`: the trail is read whole when asked). */
export function parsePositiveInt(value: string, flag: string, example: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) {
    throw new UsageError(`${flag} must be a positive integer, not '${value}'`, `example: ${example}`);
  }
  return Number(value);
}

/** A TCP port, 0 (a free one) to 65535. `source` is the flag or the variable it came from. */
export function parsePort(value: string, source: string): number {
  if (!/^\d{1,5}$/.test(value.trim()) || Number(value) > 65535) {
    throw new UsageError(`${source} must be a port number from 0 to 65535, not '${value}'`, 'example: --port 8080 (0 picks a free port)');
  }
  return Number(value);
}

/** A number of seconds, fractions allowed, not negative (`omni listen --grace`). */
export function parseSeconds(value: string, flag: string): number {
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${flag} must be a number of seconds, not '${value}'`, `example: ${flag} 10`);
  return n;
}

/** A Twitter id (user or DM event): digits only, kept as a string end to end. */
export function parseTwitterId(value: string, flag: string): string {
  if (!/^\d{1,20}$/.test(value)) throw new UsageError(`${flag} must be a numeric Twitter id, not '${value}'`);
  return value;
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/**
 * Durations: "30s", "10m", "1h", "500ms". One unit, an integer, no spaces, so a value means the same
 * thing to every reader; anything else is refused with an example. Returns milliseconds.
 */
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

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** A size in bytes: "2097152", "512KiB", "2MiB", "1GiB" (k/M/G are powers of 1024), at least `min`. `source` is the flag or variable. */
export function parseByteSize(value: string, source: string, min = 1): number {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(value.trim());
  const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
  const n = m && unit !== undefined ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`${source} must be a size in bytes of at least ${min}, like 2MiB or 512KiB, not '${value}'`, `example: ${source} 2MiB`);
  }
  return n;
}
