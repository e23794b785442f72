// What a stored delivery answers and logs, rendered to JSON once where its results are made. On
// `omni listen` that is the writer thread: it sends each delivery's results as the text of its
// answer (and of its log line), so the main thread neither parses the results nor serialises them
// again; it concatenates. The in-process and PostgreSQL writers return the results themselves,
// rendered by the route.
import type { EventResult, Outcome } from '../intake/pipeline.js';

/** Results of one delivery shown in its answer and its log line; past it, counts by outcome. */
export const MAX_RESULTS_SHOWN = 20;

export interface ResultsOmitted {
  count: number;
  outcomes: Partial<Record<Outcome, number>>;
}

/** One delivery's results as JSON text: what its answer and its log line say. */
export interface RenderedResults {
  /** JSON array of the results shown (the first MAX_RESULTS_SHOWN and any revocation; all of them when rendered uncapped). */
  readonly shown: string;
  /** JSON of the ResultsOmitted, or '' when every result is shown. */
  readonly more: string;
  /** The outcome of every result (shown or not), in order, joined by ','. */
  readonly outcomes: string;
}

/** What the group committer resolves a job with: the results (in-process, PostgreSQL) or their text (the writer thread). */
export type StoredResults = EventResult[] | RenderedResults;

export function capResults(results: EventResult[]): { results: EventResult[]; more?: ResultsOmitted } {
  if (results.length <= MAX_RESULTS_SHOWN) return { results };
  const shown = results.slice(0, MAX_RESULTS_SHOWN);
  const outcomes: Partial<Record<Outcome, number>> = {};
  let count = 0;
  for (let i = MAX_RESULTS_SHOWN; i < results.length; i++) {
    const r = results[i]!;
    // A revocation is always shown (the log shouts about it); a delivery carries at most one.
    if (r.outcome === 'revoked') {
      shown.push(r);
      continue;
    }
    outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    count++;
  }
  return { results: shown, more: { count, outcomes } };
}

/** `uncapped`: every result shown (a stream or reconcile job, whose caller reads them all back). */
export function renderResults(results: EventResult[], uncapped = false): RenderedResults {
  const capped = uncapped ? { results } : capResults(results);
  let outcomes = '';
  for (let i = 0; i < results.length; i++) outcomes += i === 0 ? results[i]!.outcome : ',' + results[i]!.outcome;
  return { shown: JSON.stringify(capped.results), more: capped.more ? JSON.stringify(capped.more) : '', outcomes };
}

export function rendered(stored: StoredResults): RenderedResults {
  return Array.isArray(stored) ? renderResults(stored) : stored;
}

/** The body of the 200 answer: the same bytes as JSON.stringify({ results, more }). */
export function answerText(r: RenderedResults): string {
  return r.more === '' ? `{"results":${r.shown}}` : `{"results":${r.shown},"more":${r.more}}`;
}

export function outcomesOf(r: RenderedResults): Outcome[] {
  return r.outcomes === '' ? [] : (r.outcomes.split(',') as Outcome[]);
}

/** The results shown and the count of the others, parsed back (the pretty log, a revocation). */
export function parseRendered(r: RenderedResults): { results: EventResult[]; more?: ResultsOmitted } {
  const results = JSON.parse(r.shown) as EventResult[];
  return r.more === '' ? { results } : { results, more: JSON.parse(r.more) as ResultsOmitted };
}

/** Every result of a job rendered uncapped (WriteJob.allResults), or the results themselves. */
export function allResults(stored: StoredResults): EventResult[] {
  if (Array.isArray(stored)) return stored;
  if (stored.more !== '') throw new Error('these results were capped for an answer: submit the job with allResults');
  return JSON.parse(stored.shown) as EventResult[];
}
