import { describe, expect, it } from 'vitest';
import { holdYoungGeneration, youngGenerationMb } from '../../src/listener/young-generation.js';

/** Allocates for `ms` with a share of survivors, yielding to the event loop (the hold's timer) in between; returns the largest young generation seen. */
async function churn(ms: number): Promise<number> {
  const keep: object[] = [];
  let max = 0;
  const until = Date.now() + ms;
  while (Date.now() < until) {
    for (let i = 0; i < 20_000; i++) {
      const o = { a: i, b: `x${i}`, c: [i, i + 1] };
      if (i % 97 === 0) keep.push(o);
    }
    if (keep.length > 20_000) keep.splice(0, 10_000);
    max = Math.max(max, youngGenerationMb());
    await new Promise((r) => setImmediate(r));
  }
  return max;
}

describe('the listener main thread young generation', () => {
  it('stays at the semi-space size it is held at, however fast the thread allocates', async () => {
    // Held at the size it has now (this process may have grown it already; V8 starts at 1 MB
    // semi-spaces), checked every 5 ms: at most one doubling past it, where V8 alone doubles up to 16 MB.
    const semiMb = Math.max(1, youngGenerationMb() / 2);
    const stop = holdYoungGeneration(semiMb, 5);
    try {
      expect(await churn(1_500)).toBeLessThanOrEqual(semiMb * 2 * 2);
    } finally {
      stop();
    }
  });
});
