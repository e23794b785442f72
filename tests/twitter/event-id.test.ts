import { describe, expect, it } from 'vitest';
import { newEventId } from '../../src/twitter/deliveries.js';

describe('newEventId', () => {
  it('never repeats within a process, even for 100,000 ids made as fast as possible', () => {
    // Random low bits collided about once in 15,000 ids made within a few milliseconds.
    const ids = Array.from({ length: 100_000 }, () => newEventId());
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) expect(BigInt(ids[i]!) > BigInt(ids[i - 1]!)).toBe(true);
  });

  it('looks like a Twitter snowflake: 19 digits, above 2^53, carrying its millisecond', () => {
    const at = Date.now() + 3_600_000; // later than anything made so far, so its own millisecond
    const id = newEventId(at);
    expect(id).toMatch(/^\d{19}$/);
    expect(BigInt(id) > 2n ** 53n).toBe(true);
    expect(Number((BigInt(id) >> 22n) + 1288834974657n)).toBe(at);
  });
});
