// Polls a condition instead of sleeping a fixed time: fast when things are fast, and a clear
// failure (with the last value seen) when they never happen.
export async function waitFor<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 5_000): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (last) return last as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A worker log that keeps every line, for assertions. */
export function memoryLog() {
  const lines: Array<{ level: 'info' | 'warn' | 'error'; message: string; fields?: Record<string, unknown>; err?: unknown }> = [];
  return {
    lines,
    info: (message: string, fields?: Record<string, unknown>) => void lines.push({ level: 'info', message, ...(fields ? { fields } : {}) }),
    warn: (message: string, fields?: Record<string, unknown>) => void lines.push({ level: 'warn', message, ...(fields ? { fields } : {}) }),
    error: (message: string, err?: unknown, fields?: Record<string, unknown>) => void lines.push({ level: 'error', message, err, ...(fields ? { fields } : {}) }),
  };
}
