// The main thread's young generation, held at a size chosen at run time. Under a sustained
// allocation rate V8 doubles the semi-spaces up to their 16 MB maximum, ~20 MB of resident memory at
// once: that is the "high mode" of `omni listen`'s peak RSS. `--max-semi-space-size` can only be
// given to node at start (set later it has no effect on Node 20), but the growth factor is read each
// time V8 grows the space: set to 1 it makes growth a no-op. So: checked every `everyMs`, growth is
// stopped once the space reached `maxSemiSpaceMb` and allowed again below it (V8 shrinks an idle
// young generation). Overshoot is at most one doubling between two checks.
import v8 from 'node:v8';

const DEFAULT_GROWTH_FACTOR = 2; // V8's --semi-space-growth-factor

/** Starts the check; returns its stop. */
export function holdYoungGeneration(maxSemiSpaceMb: number, everyMs = 50): () => void {
  let held = false;
  const check = () => {
    const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    if (!space) return;
    // space_size counts both semi-spaces.
    const full = space.space_size / 2 >= maxSemiSpaceMb * 2 ** 20;
    if (full === held) return;
    held = full;
    v8.setFlagsFromString(`--semi-space-growth-factor=${full ? 1 : DEFAULT_GROWTH_FACTOR}`);
  };
  check();
  const timer = setInterval(check, everyMs).unref();
  return () => {
    clearInterval(timer);
    if (held) v8.setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH_FACTOR}`);
    held = false;
  };
}

/** The young generation's size now (both semi-spaces), in MB: for tests and the bench. */
export function youngGenerationMb(): number {
  const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  return space ? space.space_size / 2 ** 20 : 0;
}
