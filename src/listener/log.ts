// What the listener reports. Two renderings of the same events: `pretty` (one line per event, in the
// manner of `stripe listen`, coloured by outcome) for a person at a terminal, and `json` (NDJSON via
// pino) for journald, files and log shippers. Both write to stdout: the log IS this command's output.
import { Chalk, type ChalkInstance } from 'chalk';
import { pino, type Logger } from 'pino';
import type { EventResult, Outcome } from '../intake/pipeline.js';
import { parseRendered, type RenderedResults, type ResultsOmitted } from './delivery-results.js';
import { terminalSafe as safe } from '../terminal-text.js';

export interface InteractionRef {
  id: number;
  name: string;
}

export interface DeliveryEntry {
  interaction: InteractionRef | null;
  /** The interaction whose URL X posted to, when the delivery went to another one on the same webhook. */
  via?: InteractionRef;
  /** 'stream': read from X's activity stream (omni listen --stream); 'reconcile': read from X's DM history; else POSTed to a webhook URL. */
  source?: 'stream' | 'reconcile';
  /** The path's interaction id when it named none we know. */
  interactionId?: string;
  status: number;
  /** Why a delivery was refused (status ≠ 200). */
  reason?: string;
  results?: EventResult[];
  /** The results not listed (a delivery carrying more than a few events), counted by outcome. */
  more?: ResultsOmitted;
  /** Instead of results and more: their JSON, as the writer thread rendered it (delivery-results.ts). */
  rendered?: RenderedResults;
  ms: number;
  remote: string | undefined;
}

export type { ResultsOmitted };

export interface CrcEntry {
  interaction: InteractionRef | null;
  interactionId?: string;
  status: number;
  reason?: string;
  remote: string | undefined;
}

export interface ListeningInfo {
  url: string;
  host: string;
  port: number;
  dbPath: string;
  interactions: Array<{ id: number; name: string; account_user_id: string | null }>;
}

export interface ListenerLog {
  listening(info: ListeningInfo): void;
  delivery(entry: DeliveryEntry): void;
  crc(entry: CrcEntry): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, err?: unknown, fields?: Record<string, unknown>): void;
}

export type LogFormat = 'pretty' | 'json';

export interface LogSink {
  write(chunk: string): unknown;
}

/** What to do when no interaction exists yet: printed at start-up so a first run is not a dead end. */
export const NEXT_STEPS = [
  'create an interaction:       omni interaction new',
  'register its webhook:        omni webhook register <interaction>',
  'or try it locally right now: omni simulate dm <interaction> --text "hello"',
];

const OUTCOME_LABEL: Record<Outcome, string> = {
  new_ticket: 'new ticket',
  appended: 'appended',
  helper: 'helper',
  duplicate: 'duplicate',
  echo: 'echo',
  ignored: 'ignored',
  revoked: 'REVOKED',
  rejected: 'rejected',
  erased: 'erased, dropped',
  recorded: 'recorded',
};

function outcomeColor(c: ChalkInstance, outcome: Outcome): (s: string) => string {
  switch (outcome) {
    case 'new_ticket':
      return c.green.bold;
    case 'appended':
      return c.green;
    case 'helper':
      return c.blue;
    case 'duplicate':
      return c.gray;
    case 'echo':
      return c.cyan;
    case 'ignored':
      return c.dim;
    case 'revoked':
      return c.red.bold;
    case 'rejected':
      return c.red;
    case 'erased':
      return c.magenta;
    case 'recorded':
      return c.cyan;
  }
}

const hhmmss = (d: Date) => d.toTimeString().slice(0, 8);

export function createPrettyLog(out: (line: string) => void, color: boolean, clock: () => Date = () => new Date()): ListenerLog {
  const c = new Chalk({ level: color ? 1 : 0 });
  // Screen names, reasons and paths come from outside: their control characters are shown, not obeyed.
  const who = (i: InteractionRef | null, fallback?: string) => safe(i ? `#${i.id} ${i.name}` : `#${fallback ?? '?'}`);
  const line = (cols: string[]) => out([c.dim(hhmmss(clock())), ...cols].join('  '));
  return {
    listening(info) {
      out(`${c.green('Ready!')} omni is listening on ${c.bold(info.url)} ${c.dim(`(database ${info.dbPath})`)}`);
      if (info.interactions.length === 0) {
        out(c.yellow('No interaction yet, so no DM can arrive. Next steps:'));
        for (const s of NEXT_STEPS) out(`  ${s}`);
      } else {
        for (const i of info.interactions) {
          const account = i.account_user_id ? '' : c.yellow('  (account unknown: run omni webhook register)');
          out(`  ${c.dim('→')} #${i.id} ${safe(i.name)}: ${info.url}/webhooks/twitter/${i.id}${account}`);
        }
      }
      out(c.dim('Press Ctrl-C to stop.'));
    },
    delivery(entry) {
      const e = entry.rendered ? { ...entry, ...parseRendered(entry.rendered) } : entry;
      const name = who(e.interaction, e.interactionId).padEnd(16);
      if (e.status !== 200 || !e.results) {
        line([name, 'POST'.padEnd(14), '-'.padEnd(14), '-'.padEnd(6), c.red(`rejected ${e.status}: ${safe(e.reason ?? 'error')}`) + c.dim(e.remote ? ` from ${safe(e.remote)}` : '')]);
        return;
      }
      for (const r of e.results) {
        const sender = safe(r.screenName ? `@${r.screenName}` : r.sender ?? '-');
        const ticket = r.ticket !== undefined ? `#${r.ticket}` : '-';
        const label = OUTCOME_LABEL[r.outcome] + (r.detail && r.outcome !== 'new_ticket' && r.outcome !== 'appended' ? `: ${safe(r.detail)}` : '');
        line([name, safe(r.event).padEnd(14), sender.padEnd(14), ticket.padEnd(6), outcomeColor(c, r.outcome)(label) + (e.via ? c.dim(` (via #${e.via.id}'s URL)`) : '')]);
        if (r.outcome === 'revoked') {
          out(c.red.bold(`!!! interaction ${who(e.interaction)} was revoked by its Twitter account: no more DMs will arrive until it authorises the app again (then: omni webhook register)`));
        }
      }
      if (e.more) {
        const counts = Object.entries(e.more.outcomes).map(([o, n]) => `${OUTCOME_LABEL[o as Outcome]} ${n}`).join(', ');
        line([name, c.dim(`… ${e.more.count} more events (${counts})`)]);
      }
    },
    crc(e) {
      const name = who(e.interaction, e.interactionId).padEnd(16);
      // The remote address of a refusal matters: it is who probed the CRC endpoint.
      const result = e.status === 200 ? c.dim('answered') : c.red(`refused ${e.status}: ${safe(e.reason ?? '')}`) + c.dim(e.remote ? ` from ${safe(e.remote)}` : '');
      line([name, 'crc'.padEnd(14), '-'.padEnd(14), '-'.padEnd(6), result]);
    },
    info(message) {
      line([safe(message)]);
    },
    warn(message, fields) {
      line([c.yellow(`warning: ${safe(message)}`) + (fields?.hint ? c.dim(` (${safe(String(fields.hint))})`) : '')]);
    },
    error(message, err) {
      line([c.red(`error: ${safe(message)}`) + (err ? c.dim(` (${safe((err as Error).message ?? String(err))})`) : '')]);
    },
  };
}

/**
 * The lines written while the current JavaScript turn runs, written to `sink` in one call at its end
 * (process.nextTick): the deliveries of one committed batch are answered in one turn, so their log
 * lines cost one write instead of one each. Nothing waits for I/O: a line is in the sink before the
 * event loop does anything else, and whatever is pending when the process exits is written then.
 */
export function coalescingSink(sink: LogSink): LogSink {
  let pending = '';
  const flush = () => {
    if (pending === '') return;
    const chunk = pending;
    pending = '';
    unflushed.delete(flush);
    sink.write(chunk);
  };
  return {
    write(chunk) {
      if (pending === '') {
        unflushed.add(flush);
        process.nextTick(flush);
      }
      pending += chunk;
      return true;
    },
  };
}

const unflushed = new Set<() => void>();
let exitHook = false;
function flushAllOnExit(): void {
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const f of [...unflushed]) f();
  });
}

export function createJsonLog(sink: LogSink): ListenerLog {
  flushAllOnExit();
  const out = coalescingSink(sink);
  const logger: Logger = pino(
    {
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    out as NodeJS.WritableStream,
  );
  const pid = process.pid;
  const ref = (i: InteractionRef | null, fallback?: string) => (i ? { interaction: i.id, interactionName: i.name } : { interaction: fallback ?? null });
  const revoked = (e: DeliveryEntry, results: EventResult[]) => {
    for (const r of results) {
      if (r.outcome !== 'revoked') continue;
      const fields = { ...ref(e.interaction, e.interactionId), ...(e.via ? { via: e.via.id } : {}), ...(e.source ? { source: e.source } : {}), status: e.status, ms: Math.round(e.ms * 100) / 100, remote: e.remote };
      logger.error({ ...fields, sender: r.sender }, 'interaction revoked by its Twitter account: no more DMs until it authorises the app again');
    }
  };
  return {
    listening(info) {
      // The message carries the URL so that scripts and tests can read the bound port (--port 0).
      logger.info({ url: info.url, host: info.host, port: info.port, db: info.dbPath, interactions: info.interactions.map((i) => i.id) }, `listening on ${info.url}`);
      if (info.interactions.length === 0) logger.warn({ nextSteps: NEXT_STEPS }, 'no interaction yet, so no DM can arrive');
    },
    delivery(e) {
      if (e.rendered && e.status === 200) {
        // The hot path: the line of a delivery stored by the writer thread, whose results arrive
        // as JSON text. The same line as below, concatenated instead of serialised again.
        const r = e.rendered;
        const head = JSON.stringify({
          level: 'info',
          time: new Date().toISOString(),
          pid,
          interaction: e.interaction ? e.interaction.id : (e.interactionId ?? null),
          ...(e.interaction ? { interactionName: e.interaction.name } : {}),
          ...(e.via ? { via: e.via.id } : {}),
          ...(e.source ? { source: e.source } : {}),
          status: e.status,
          ms: Math.round(e.ms * 100) / 100,
          remote: e.remote,
        });
        out.write(`${head.slice(0, -1)},"results":${r.shown}${r.more === '' ? '' : `,"more":${r.more}`},"msg":"delivery"}\n`);
        if (r.outcomes.includes('revoked')) revoked(e, parseRendered(r).results);
        return;
      }
      const fields = { ...ref(e.interaction, e.interactionId), ...(e.via ? { via: e.via.id } : {}), ...(e.source ? { source: e.source } : {}), status: e.status, ms: Math.round(e.ms * 100) / 100, remote: e.remote };
      if (e.status !== 200 || !e.results) {
        logger.warn({ ...fields, reason: e.reason }, 'delivery rejected');
        return;
      }
      // The line of every accepted delivery, the hot path: pino's line (level, time, pid, the
      // fields, msg) built by one JSON.stringify of one object instead of pino's per-field walk.
      out.write(
        JSON.stringify({
          level: 'info',
          time: new Date().toISOString(),
          pid,
          ...fields,
          results: e.results,
          ...(e.more ? { more: e.more } : {}),
          msg: 'delivery',
        }) + '\n',
      );
      revoked(e, e.results);
    },
    crc(e) {
      const fields = { ...ref(e.interaction, e.interactionId), status: e.status, remote: e.remote };
      if (e.status === 200) logger.info(fields, 'crc answered');
      else logger.warn({ ...fields, reason: e.reason }, 'crc refused');
    },
    info(message, fields) {
      logger.info(fields ?? {}, message);
    },
    warn(message, fields) {
      logger.warn(fields ?? {}, message);
    },
    error(message, err, fields) {
      logger.error({ ...fields, ...(err ? { err } : {}) }, message);
    },
  };
}
