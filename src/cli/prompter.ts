// The wizard's only door to the terminal. Actions ask through this interface, so tests can
// replace it, and the real one binds @inquirer/prompts to the injected stdin/stdout.
import { confirm, input, password, select } from '@inquirer/prompts';
import type { IO } from './io.js';

export interface Choice<T> {
  name: string;
  value: T;
  description?: string;
  disabled?: boolean | string;
}

export interface Prompter {
  input(opts: { message: string; default?: string; validate?: (value: string) => true | string }): Promise<string>;
  /** Typed masked; an empty answer is returned as '' (callers use it for "keep current"). */
  password(opts: { message: string; validate?: (value: string) => true | string }): Promise<string>;
  select<T>(opts: { message: string; choices: Choice<T>[]; default?: T; pageSize?: number }): Promise<T>;
  confirm(opts: { message: string; default?: boolean }): Promise<boolean>;
  /** A read-only line in the wizard (e.g. the identifier omni assigns). */
  note(text: string): void;
}

export function createPrompter(io: IO): Prompter {
  const context = { input: io.stdin, output: io.stdout, clearPromptOnDone: false };
  return {
    input: (o) => input({ message: o.message, ...(o.default !== undefined ? { default: o.default } : {}), ...(o.validate ? { validate: o.validate } : {}) }, context),
    password: (o) => password({ message: o.message, mask: '*', ...(o.validate ? { validate: o.validate } : {}) }, context),
    select: <T,>(o: { message: string; choices: Choice<T>[]; default?: T; pageSize?: number }) =>
      select<T>(
        {
          message: o.message,
          choices: o.choices,
          ...(o.default !== undefined ? { default: o.default } : {}),
          pageSize: o.pageSize ?? 12,
        },
        context,
      ),
    confirm: (o) => confirm({ message: o.message, default: o.default ?? true }, context),
    note: (text) => {
      io.stdout.write(text + '\n');
    },
  };
}
