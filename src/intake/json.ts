// JSON parsing that never lets a 64-bit id pass through a JavaScript number. Twitter sends ids as
// strings in v1.1 DM events, but a proxy, an older payload or a hand-written test may not: an integer
// literal too large for a double is turned into a string before JSON.parse sees it.

// A cheap pre-check so the common case (no long integer literal anywhere) costs one regex scan.
const LONG_INTEGER = /[:,[]\s*-?\d{16,}/;

/** JSON.parse, except that integers beyond Number.MAX_SAFE_INTEGER come back as their exact digits. */
export function parseJsonLossless(text: string): unknown {
  if (!LONG_INTEGER.test(text)) return JSON.parse(text);
  return JSON.parse(quoteUnsafeIntegers(text));
}

/**
 * Rewrites integer literals outside strings that are not safe integers as JSON strings. Only
 * integers are touched (a literal with a fraction or an exponent is a measurement, not an id).
 * Invalid JSON is returned rewritten or not; JSON.parse reports it afterwards.
 */
export function quoteUnsafeIntegers(text: string): string {
  let out = '';
  let last = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Skip the string, honouring escapes.
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === 0x22) {
          i++;
          break;
        } else i++;
      }
      continue;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      if (c === 0x2d) i++;
      while (i < n && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
      const next = i < n ? text.charCodeAt(i) : 0;
      const isInteger = next !== 0x2e /* . */ && next !== 0x65 /* e */ && next !== 0x45; /* E */
      if (isInteger) {
        const literal = text.slice(start, i);
        if (!Number.isSafeInteger(Number(literal))) {
          out += text.slice(last, start) + '"' + literal + '"';
          last = i;
        }
      } else {
        // Consume the rest of the number so its exponent digits are not read as a new literal.
        while (i < n && /[0-9.eE+-]/.test(text[i]!)) i++;
      }
      continue;
    }
    i++;
  }
  return last === 0 ? text : out + text.slice(last);
}

/** An id as a string: strings pass, safe integers are formatted, anything else is rejected (undefined). */
export function idString(value: unknown): string | undefined {
  if (typeof value === 'string') return /^\d{1,40}$/.test(value) ? value : undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  return undefined;
}
