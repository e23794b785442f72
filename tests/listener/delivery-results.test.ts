import { describe, expect, it } from 'vitest';
import { allResults, answerText, MAX_RESULTS_SHOWN, outcomesOf, parseRendered, renderResults } from '../../src/listener/delivery-results.js';
import type { EventResult } from '../../src/intake/pipeline.js';
import { resultsFromWire, resultsToWire, type WriteJob } from '../../src/listener/intake-writer.js';

const dm = (i: number): EventResult => ({ event: 'message_create', outcome: i % 3 === 0 ? 'duplicate' : 'appended', id: `1${i}`, sender: '42', screenName: 'jane "j" \u2028', ticket: 7, message: i });

describe('rendered results (the answer the writer thread sends as text)', () => {
  it('answers the same bytes as serialising the results, capped past MAX_RESULTS_SHOWN with a revocation kept', () => {
    const few = [dm(1), dm(2)];
    const r = renderResults(few);
    expect(answerText(r)).toBe(JSON.stringify({ results: few }));
    expect(outcomesOf(r)).toEqual(['appended', 'appended']);
    expect(allResults(r)).toEqual(few);

    const many = Array.from({ length: MAX_RESULTS_SHOWN + 5 }, (_, i) => dm(i));
    many.push({ event: 'user_event', outcome: 'revoked', sender: '9' });
    const capped = renderResults(many);
    const shown = [...many.slice(0, MAX_RESULTS_SHOWN), many.at(-1)!];
    const more = { count: 5, outcomes: { appended: 3, duplicate: 2 } };
    expect(JSON.parse(answerText(capped))).toEqual({ results: shown, more });
    expect(answerText(capped)).toBe(JSON.stringify({ results: shown, more }));
    expect(outcomesOf(capped)).toEqual(many.map((e) => e.outcome));
    expect(parseRendered(capped)).toEqual({ results: shown, more });
    // A caller that reads every result back must have asked for them uncapped.
    expect(() => allResults(capped)).toThrow(/allResults/);
    expect(allResults(renderResults(many, true))).toEqual(many);
    expect(outcomesOf(renderResults([]))).toEqual([]);
  });

  it('cross the thread boundary in one string, newlines in the results and failed jobs included', () => {
    const job = { interaction: {}, body: '', at: '' } as unknown as WriteJob;
    const odd: EventResult = { event: 'message_create', outcome: 'appended', screenName: 'a\nb\u2028', detail: '\n\n' };
    const many = Array.from({ length: MAX_RESULTS_SHOWN + 2 }, (_, i) => dm(i));
    const failure = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
    const wire = resultsToWire(
      [{ ok: true, value: [odd] }, { ok: false, error: failure }, { ok: true, value: many }, { ok: true, value: [] }, { ok: true, value: many }],
      [job, job, job, job, { ...job, allResults: true }],
    );
    const back = resultsFromWire(structuredClone(wire));
    expect(back).toHaveLength(5);
    expect(back[0]).toEqual({ ok: true, value: renderResults([odd]) });
    expect(back[1]).toMatchObject({ ok: false, error: { message: 'disk I/O error', code: 'SQLITE_IOERR' } });
    expect(back[2]).toEqual({ ok: true, value: renderResults(many) });
    expect(back[3]).toEqual({ ok: true, value: { shown: '[]', more: '', outcomes: '' } });
    expect(allResults((back[4] as { value: ReturnType<typeof renderResults> }).value)).toEqual(many);
    expect(resultsFromWire(resultsToWire([], []))).toEqual([]);
  });
});
