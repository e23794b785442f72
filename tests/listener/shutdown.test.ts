import { afterEach, describe, expect, it, vi } from 'vitest';
import { catchSignals, type SignalCatcher } from '../../src/listener/shutdown.js';

// Signals are emitted on `process` in this test process; process.kill is stubbed where the code
// re-raises a signal, since a real one would end the test worker.
let catcher: SignalCatcher | undefined;
afterEach(() => {
  catcher?.release();
  catcher = undefined;
  vi.restoreAllMocks();
});

describe('catchSignals', () => {
  it('settles with the first signal and hands the next ones to the serving phase', async () => {
    catcher = catchSignals();
    process.emit('SIGTERM', 'SIGTERM');
    expect(await catcher.first).toBe('SIGTERM');
    const again: string[] = [];
    catcher.onRepeat((s) => again.push(s));
    process.emit('SIGINT', 'SIGINT');
    expect(again).toEqual(['SIGINT']);
  });

  it('lets a second signal during start-up end the process the default way', async () => {
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    const before = process.listenerCount('SIGINT');
    catcher = catchSignals();
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    process.emit('SIGINT', 'SIGINT');
    process.emit('SIGINT', 'SIGINT');
    expect(kill).toHaveBeenCalledWith(process.pid, 'SIGINT');
    // Our handlers are gone, so the re-raised signal meets Node's default: exit.
    expect(process.listenerCount('SIGINT')).toBe(before);
  });
});
