import { describe, expect, it } from 'vitest';
import { idString, parseJsonLossless, quoteUnsafeIntegers } from '../../src/intake/json.js';

describe('lossless JSON', () => {
  it('keeps integers above 2^53 exact by reading them as strings', () => {
    const v = parseJsonLossless('{"id":1063077238797725701,"n":[-9007199254740993, 12],"small":42}') as any;
    expect(v.id).toBe('1063077238797725701');
    expect(v.n).toEqual(['-9007199254740993', 12]);
    expect(v.small).toBe(42);
  });

  it('leaves strings, fractions and exponents alone', () => {
    const text = '{"t":"x 12345678901234567890 \\" 99999999999999999","f":12345678901234567.5,"e":1234567890123456789e2}';
    expect(quoteUnsafeIntegers(text)).toBe(text);
    expect((parseJsonLossless(text) as any).t).toBe('x 12345678901234567890 " 99999999999999999');
  });

  it('still rejects invalid JSON', () => {
    expect(() => parseJsonLossless('{"id": 12345678901234567890')).toThrow();
    expect(() => parseJsonLossless('not json')).toThrow();
  });

  it('accepts ids as digit strings or safe integers only', () => {
    expect(idString('456')).toBe('456');
    expect(idString(456)).toBe('456');
    expect(idString(2 ** 53 + 2)).toBeUndefined();
    expect(idString('12a')).toBeUndefined();
    expect(idString(null)).toBeUndefined();
    expect(idString(-1)).toBeUndefined();
  });
});
