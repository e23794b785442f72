// Reading a request body with a hard size limit and a deadline: refused from Content-Length before a
// byte is read, or as soon as the running total passes the limit, so an oversized body never sits in
// memory; and cut off when it has not completed in time, so a client trickling one byte a second
// cannot hold a connection (and its buffer) for minutes.
import type { IncomingMessage } from 'node:http';

export const MAX_BODY_BYTES = 1024 * 1024;

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`body larger than ${limit} bytes`);
    this.name = 'BodyTooLarge';
  }
}

/** True when the declared length already exceeds the limit (the body need not be read at all). */
export function declaredTooLarge(req: IncomingMessage, limit: number): boolean {
  const declared = declaredLength(req);
  return declared !== undefined && declared > limit;
}

/** The Content-Length of the request, when it has one. */
export function declaredLength(req: IncomingMessage): number | undefined {
  const declared = req.headers['content-length'];
  return declared === undefined ? undefined : Number(declared);
}

/**
 * The bytes of bodies being read whose signature is not checked yet: anyone can send those, so they
 * are bounded in total and per client address. A request takes its share before its body is read
 * (its Content-Length) or as it arrives (chunked), and gives it back once the signature is checked.
 */
export interface UnverifiedBudget {
  readonly total: number;
  readonly perAddress: number;
  /** A request's share, for the client at `address`. */
  open(address: string): BudgetShare;
  /** Bytes held right now, for /metrics. */
  held(): number;
}

export interface BudgetShare {
  /** Takes n more bytes; false (nothing taken) when the total or the address's budget would be passed. */
  take(n: number): boolean;
  /** Gives back everything taken; idempotent. */
  release(): void;
}

export function createUnverifiedBudget(total: number, perAddress: number): UnverifiedBudget {
  let held = 0;
  const byAddress = new Map<string, number>();
  return {
    total,
    perAddress,
    held: () => held,
    open(address) {
      let mine = 0;
      return {
        take(n) {
          const theirs = byAddress.get(address) ?? 0;
          if (held + n > total || theirs + n > perAddress) return false;
          held += n;
          mine += n;
          byAddress.set(address, theirs + n);
          return true;
        },
        release() {
          if (mine === 0) return;
          held -= mine;
          const left = (byAddress.get(address) ?? 0) - mine;
          if (left > 0) byAddress.set(address, left);
          else byAddress.delete(address);
          mine = 0;
        },
      };
    },
  };
}

/** The unverified-bytes budget is spent (globally or for this address): answered 503, retry later. */
export class UnverifiedBudgetSpent extends Error {
  constructor() {
    super('too many unverified bytes in flight');
    this.name = 'UnverifiedBudgetSpent';
  }
}

/** Twitter gives up on a delivery after 3 s; a body still arriving after 10 s serves nobody. */
export const BODY_TIMEOUT_MS = 10_000;

export class BodyTimeout extends Error {
  constructor(readonly ms: number) {
    super(`body not complete within ${ms} ms`);
    this.name = 'BodyTimeout';
  }
}

/** The client hung up or the socket failed before the body was complete. */
export class ClientAborted extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ClientAborted';
  }
}

/**
 * Resolves with the whole body; rejects with BodyTooLarge, BodyTimeout, ClientAborted, or
 * UnverifiedBudgetSpent when `share` (taken chunk by chunk) runs out. The deadline runs from the call (the headers have just arrived), so it
 * also bounds the rate: a body of the maximum size must arrive at limit/timeoutMs bytes a second.
 */
export function readBody(req: IncomingMessage, limit: number, timeoutMs: number = BODY_TIMEOUT_MS, share?: BudgetShare): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const timer = setTimeout(() => {
      cleanup();
      // Stop reading; the caller answers 408 and closes the connection.
      req.pause();
      reject(new BodyTimeout(timeoutMs));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        cleanup();
        // Stop reading; the caller answers 413 and closes the connection.
        req.pause();
        reject(new BodyTooLarge(limit));
        return;
      }
      if (share && !share.take(chunk.length)) {
        cleanup();
        req.pause();
        reject(new UnverifiedBudgetSpent());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total));
    };
    const fail = (err: ClientAborted) => {
      cleanup();
      reject(err);
    };
    const onError = (err: Error) => fail(new ClientAborted(err.message, err));
    const onAborted = () => fail(new ClientAborted('the client closed the connection before the body was complete'));
    const cleanup = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}
