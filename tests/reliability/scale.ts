// The reliability tests run twice over: a fast variant in `npm test` (a few seconds each) and a long
// one in `npm run test:reliability` (vitest.reliability.config.ts sets OMNI_RELIABILITY=long).
export const LONG = process.env.OMNI_RELIABILITY === 'long';

/** The fast figure in `npm test`, the long one in `npm run test:reliability`. */
export function scale<T>(fast: T, long: T): T {
  return LONG ? long : fast;
}
