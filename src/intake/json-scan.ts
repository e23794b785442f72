// Reading a few members of a JSON object without parsing the rest: where each member's value starts
// and ends in the UTF-8 bytes, so that only the small values a caller needs are parsed. The
// listener's main thread uses it to learn whose a delivery is (src/intake/parse.ts, readDeliveryAddress)
// while the delivery's events, most of its bytes, are parsed once, by the writer thread.
//
// It validates only what it walks: the object's own structure, strings and brackets. Anything it
// does not read with certainty (an escaped key, a stray character) makes it answer undefined, and
// the caller parses the whole text instead. What it skips may still be invalid JSON: whoever parses
// the whole later reports that.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

/** A member's value: its bytes are [start, end) of the scanned text. */
export interface ValueSpan {
  start: number;
  end: number;
}

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(b: Uint8Array, i: number, end: number): number {
  while (i < end && isSpace(b[i])) i++;
  return i;
}

/** The index just past the string that opens at `i` (a quote), or -1. UTF-8 never puts a quote or backslash inside a multi-byte character. */
function stringEnd(b: Uint8Array, i: number, end: number): number {
  // A loop, not indexOf: most strings of a delivery are a few bytes, shorter than a native call costs.
  for (let k = i + 1; k < end; k++) {
    const c = b[k];
    if (c === BACKSLASH) k++; // the escaped character, whatever it is
    else if (c === QUOTE) return k + 1;
  }
  return -1;
}

/** The index just past the value that starts at `i`, or -1 when its brackets or strings do not close. */
function valueEnd(b: Uint8Array, i: number, end: number): number {
  const c = b[i];
  if (c === QUOTE) return stringEnd(b, i, end);
  if (c === LBRACE || c === LBRACKET) {
    let depth = 0;
    for (let k = i; k < end; k++) {
      const d = b[k];
      if (d === QUOTE) {
        const after = stringEnd(b, k, end);
        if (after < 0) return -1;
        k = after - 1;
      } else if (d === LBRACE || d === LBRACKET) depth++;
      else if (d === RBRACE || d === RBRACKET) {
        depth--;
        if (depth === 0) return k + 1;
      }
    }
    return -1;
  }
  // A number, true, false or null: up to the next separator.
  let k = i;
  while (k < end) {
    const d = b[k];
    if (d === COMMA || d === RBRACE || d === RBRACKET || isSpace(d)) break;
    k++;
  }
  return k === i ? -1 : k;
}

function sameKey(b: Uint8Array, start: number, end: number, key: string): boolean {
  if (end - start !== key.length) return false;
  for (let k = 0; k < key.length; k++) if (b[start + k] !== key.charCodeAt(k)) return false;
  return true;
}

/**
 * The members named in `keys` (plain ASCII names) of the object that spans [start, end) of `b`, the
 * last one when a name repeats (as JSON.parse keeps it). Undefined when [start, end) is not an
 * object this scan reads with certainty: the caller then parses the whole.
 */
export function objectMembers<K extends string>(b: Uint8Array, keys: readonly K[], start = 0, end = b.length): Partial<Record<K, ValueSpan>> | undefined {
  const found: Partial<Record<K, ValueSpan>> = {};
  let i = skipSpace(b, start, end);
  if (b[i] !== LBRACE) return undefined;
  i = skipSpace(b, i + 1, end);
  if (b[i] === RBRACE) return skipSpace(b, i + 1, end) === end ? found : undefined;
  for (;;) {
    if (b[i] !== QUOTE) return undefined;
    const keyEnd = stringEnd(b, i, end);
    if (keyEnd < 0) return undefined;
    // An escaped name may spell one of ours: read by the full parser, never guessed.
    for (let k = i + 1; k < keyEnd - 1; k++) if (b[k] === BACKSLASH) return undefined;
    const keyStart = i + 1;
    i = skipSpace(b, keyEnd, end);
    if (b[i] !== COLON) return undefined;
    i = skipSpace(b, i + 1, end);
    const valueStart = i;
    const after = valueEnd(b, i, end);
    if (after < 0) return undefined;
    for (const key of keys) if (sameKey(b, keyStart, keyEnd - 1, key)) found[key] = { start: valueStart, end: after };
    i = skipSpace(b, after, end);
    if (b[i] === COMMA) {
      i = skipSpace(b, i + 1, end);
      continue;
    }
    if (b[i] === RBRACE) return skipSpace(b, i + 1, end) === end ? found : undefined;
    return undefined;
  }
}

/** True when the value at `span` is an object (its first byte is `{`). */
export function isObjectSpan(b: Uint8Array, span: ValueSpan | undefined): span is ValueSpan {
  return span !== undefined && b[span.start] === LBRACE;
}

/**
 * The value at `span` when it is a string of plain ASCII without escapes (an id, an event type: what
 * the scan's callers read), else undefined: then JSON.parse reads it.
 */
export function plainString(b: Uint8Array, span: ValueSpan): string | undefined {
  if (b[span.start] !== QUOTE || span.end - span.start < 2) return undefined;
  let s = '';
  for (let k = span.start + 1; k < span.end - 1; k++) {
    const c = b[k]!;
    if (c === BACKSLASH || c >= 0x80 || c < 0x20) return undefined;
    s += String.fromCharCode(c);
  }
  return s;
}
