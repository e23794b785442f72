// How commands print: data on stdout (JSON or a table), messages on stderr, colour only when allowed.
import { Chalk, type ChalkInstance } from 'chalk';
import type { Context } from './context.js';
import { terminalSafe } from '../terminal-text.js';

export function style(ctx: Pick<Context, 'color'>): ChalkInstance {
  return new Chalk({ level: ctx.color ? 1 : 0 });
}

export function printJson(ctx: Context, value: unknown): void {
  ctx.out(JSON.stringify(value, null, 2));
}

export interface Column<T> {
  header: string;
  value: (row: T) => string | number | null | undefined;
}

/** A plain aligned table: readable on a TTY, still greppable off one. Control characters in cells are shown, not obeyed. */
export function printTable<T>(ctx: Context, columns: Column<T>[], rows: T[], empty?: string): void {
  if (rows.length === 0) {
    if (empty) ctx.err(empty);
    return;
  }
  const cells = rows.map((r) => columns.map((c) => {
    const v = c.value(r);
    return v === null || v === undefined ? '-' : terminalSafe(String(v));
  }));
  const widths = columns.map((c, i) => cells.reduce((w, row) => Math.max(w, row[i]!.length), c.header.length));
  const s = style(ctx);
  const line = (vals: string[]) => vals.map((v, i) => (i === vals.length - 1 ? v : v.padEnd(widths[i]!))).join('  ').trimEnd();
  // One write for the whole table: a line per write is a syscall per row on a pipe.
  ctx.out([s.bold(line(columns.map((c) => c.header.toUpperCase()))), ...cells.map(line)].join('\n'));
}

/** A success message on stderr (so stdout stays data), green when colour is on. */
export function success(ctx: Context, message: string): void {
  ctx.err(style(ctx).green('✓ ') + message);
}

export function warn(ctx: Context, message: string): void {
  ctx.err(style(ctx).yellow('! ') + message);
}
