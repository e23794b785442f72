// A Prompter that answers from a script, checking each question is the expected one, for unit
// tests of wizards. Validation runs as in the terminal: a refused answer fails the test.
import type { Choice, Prompter } from '../../src/cli/prompter.js';

export type Step =
  | { input: string; answer: string }
  | { password: string; answer: string }
  | { select: string; pick: string }
  | { confirm: string; answer: boolean; before?: () => Promise<void> | void };

export interface ScriptedPrompter extends Prompter {
  notes: string[];
  /** Every question asked, in order, as "kind: message". */
  asked: string[];
  /** Steps not consumed yet (a finished wizard leaves none). */
  remaining(): Step[];
}

export function scriptedPrompter(steps: Step[]): ScriptedPrompter {
  const queue = [...steps];
  const notes: string[] = [];
  const asked: string[] = [];
  const next = <K extends 'input' | 'password' | 'select' | 'confirm'>(kind: K, message: string) => {
    asked.push(`${kind}: ${message}`);
    const step = queue.shift();
    if (!step || !(kind in step)) throw new Error(`unexpected ${kind} '${message}'; next scripted step: ${JSON.stringify(step)}`);
    const expected = (step as Record<string, unknown>)[kind] as string;
    if (!message.includes(expected)) throw new Error(`expected a ${kind} about '${expected}', got '${message}'`);
    return step as Extract<Step, Record<K, string>>;
  };
  const validated = (message: string, answer: string, validate?: (v: string) => true | string) => {
    const ok = validate ? validate(answer) : true;
    if (ok !== true) throw new Error(`answer '${answer}' to '${message}' refused: ${ok}`);
    return answer;
  };
  return {
    notes,
    asked,
    remaining: () => queue,
    async input(o) {
      const s = next('input', o.message) as { answer: string };
      const answer = s.answer === '' && o.default !== undefined ? o.default : s.answer;
      return validated(o.message, answer, o.validate);
    },
    async password(o) {
      const s = next('password', o.message) as { answer: string };
      return validated(o.message, s.answer, o.validate);
    },
    async select<T>(o: { message: string; choices: Choice<T>[]; default?: T }) {
      const s = next('select', o.message) as { pick: string };
      // '' is Enter: the default, or the first choice when there is none.
      const choice = s.pick === ''
        ? (o.default === undefined ? o.choices[0] : o.choices.find((c) => c.value === o.default))
        : o.choices.find((c) => c.name === s.pick);
      if (!choice) throw new Error(`no choice '${s.pick}' in '${o.message}': ${o.choices.map((c) => c.name).join(', ')}`);
      return choice.value;
    },
    async confirm(o) {
      const s = next('confirm', o.message) as { answer: boolean; before?: () => Promise<void> | void };
      await s.before?.();
      return s.answer;
    },
    note(text) {
      notes.push(text);
    },
  };
}
