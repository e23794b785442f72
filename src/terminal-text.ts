// Text from outside (DMs, names, screen names, reasons) made safe to print on a terminal: every
// control character is shown as a visible escape (ESC as \x1b, CR as \r, LF as \n, ...) instead of
// being obeyed, so a DM cannot forge a log line, retitle the terminal (OSC), ring the bell or hide
// text. Bidirectional overrides and line separators are shown too. JSON output never goes through
// this: it stays byte-exact.

// C0 controls, DEL, C1 controls, U+2028/2029, and the bidi embedding, override and isolate marks.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function visible(ch: string): string {
  const named = NAMED[ch];
  if (named) return named;
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every control character made visible; unchanged (same string) when it has none. */
export function terminalSafe(text: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(text) ? text.replace(UNSAFE, visible) : text;
}

/** The lines of a multi-line text (a DM shown in a transcript), each made safe; CR LF and LF break lines, nothing else does. */
export function terminalSafeLines(text: string): string[] {
  return text.split(/\r?\n/).map(terminalSafe);
}
