// A tiny progress spinner on stderr, only on a TTY: scripts and logs get no control characters.
// Written here rather than pulled in as a dependency because it is twenty lines.
export interface Spinner {
  /** Replaces the text next to the spinner. */
  update(text: string): void;
  /** Erases the spinner line; call before printing anything else. */
  stop(): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function startSpinner(stream: NodeJS.WritableStream & { isTTY?: boolean }, text: string): Spinner {
  if (!stream.isTTY) return { update: () => {}, stop: () => {} };
  let frame = 0;
  let current = text;
  const draw = () => {
    stream.write(`\r\u001b[2K${FRAMES[frame]} ${current}`);
    frame = (frame + 1) % FRAMES.length;
  };
  draw();
  const timer = setInterval(draw, 80);
  // Never keep the process alive just to animate.
  timer.unref();
  let stopped = false;
  return {
    update(next) {
      current = next;
      if (!stopped) draw();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      stream.write('\r\u001b[2K');
    },
  };
}
