/**
 * Progress on a terminal: one line per phase on stderr, its elapsed time
 * counting while the phase runs, left as it was when the next begins. Not a
 * byte when stderr is not a terminal (a pipe, a log, a test).
 */
import type { Output } from "./io.js";

/** How often the current line's time is redrawn. A display refresh, not a wait: nothing waits on it. */
const REDRAW_MS = 100;

export interface Progress {
  /** A new phase: the previous line is left, a new one counts. `elapsedMs` is since `since`. */
  phase(label: string, elapsedMs?: number): void;
  /** Ends the current line (at the end, or before other output). */
  done(): void;
}

const QUIET: Progress = { phase: () => {}, done: () => {} };

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1).padStart(5)} s`;
}

/** A progress display on `stream` if it is a terminal, else one that prints nothing. */
export function createProgress(stream: Output, prefix: string): Progress {
  if (!stream.isTTY) return QUIET;
  const started = performance.now();
  let label: string | undefined;
  let offsetMs = 0;
  let phaseStart = 0;
  let timer: NodeJS.Timeout | undefined;
  const draw = () => {
    if (label === undefined) return;
    const elapsed = offsetMs + (performance.now() - phaseStart);
    stream.write(`\r\x1b[K${seconds(elapsed)}  ${prefix}${label}`);
  };
  const finish = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    if (label !== undefined) {
      draw();
      stream.write("\n");
    }
    label = undefined;
  };
  return {
    phase(next, elapsedMs) {
      finish();
      label = next;
      phaseStart = performance.now();
      offsetMs = elapsedMs ?? phaseStart - started;
      draw();
      timer = setInterval(draw, REDRAW_MS);
      timer.unref();
    },
    done: finish,
  };
}
