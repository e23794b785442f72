import { describe, expect, it } from 'vitest';
import { maskSecret } from '../../src/secrets.js';

describe('maskSecret', () => {
  it('masks every secret shorter than 16 characters identically, whatever its length', () => {
    const masks = ['ab', 'abcdefg', 'abcdefghijk', 'abcdefghijklmno'].map(maskSecret);
    expect(new Set(masks).size).toBe(1);
    expect(masks[0]).toBe('********');
  });

  it('shows a fixed-width mask plus the last 4 of a secret of 16 characters or more', () => {
    expect(maskSecret('abcdefghijkl1234')).toBe('********1234');
    expect(maskSecret('x'.repeat(60) + '9876')).toBe('********9876');
    // The width never depends on the length.
    expect(maskSecret('a'.repeat(16)).length).toBe(maskSecret('a'.repeat(50)).length);
  });

  it('never contains the whole secret', () => {
    for (const s of ['k', 'key1', 'a-secret-of-fifteen'.slice(0, 15), 'ck-Qm4s7TzVb9Xw2LpA1111']) {
      expect(maskSecret(s)).not.toContain(s);
    }
  });
});
