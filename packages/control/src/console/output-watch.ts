import { ChunkedText } from "./chunked-text.js";
import { ConsoleClosedError } from "./errors.js";
import type { Matcher } from "./expect-buffer.js";
import type { ExpectMatch } from "./patterns.js";

interface Watcher {
  operation: string;
  /** What this watcher has seen and may still match: at most `maxChars`, the newest. */
  text: ChunkedText;
  matcher: Matcher<ExpectMatch>;
  resolve(match: ExpectMatch): void;
  reject(error: unknown): void;
}

/**
 * Waits for text in the console output without taking it from anyone: each
 * watcher starts from the text still unread when it was armed and sees every
 * character received after that, whatever reads (consumes) it. The operations
 * of the console, and `expect()`, go on as if no watcher were there.
 *
 * Bounded as the expect buffer is: a watcher keeps at most `maxChars` of the
 * newest text. It looks at each arrival before it drops anything, so it never
 * misses a match; only how far back a match may start is bounded.
 */
export class OutputWatchers {
  readonly #maxChars: number;
  readonly #watchers = new Set<Watcher>();
  #ended: { error: Error | undefined } | undefined;

  constructor(maxChars: number) {
    this.#maxChars = maxChars;
  }

  /** Text received: every watcher looks at it. */
  push(text: string): void {
    if (text.length === 0) return;
    for (const watcher of [...this.#watchers]) {
      watcher.text.push(text);
      if (this.#step(watcher)) continue;
      const excess = watcher.text.length - this.#maxChars;
      if (excess > 0) watcher.text.drop(excess);
    }
  }

  /** The input ended: every waiting watcher (and every later one) rejects with `ERR_CONSOLE_CLOSED`. */
  end(error: Error | undefined): void {
    if (this.#ended) return;
    this.#ended = { error };
    for (const watcher of [...this.#watchers])
      watcher.reject(new ConsoleClosedError({ operation: watcher.operation, cause: error }));
  }

  /**
   * Resolves with the first match of `matcher` in `unread` followed by what
   * arrives from now on; rejects with `signal.reason` when it aborts, or
   * `ERR_CONSOLE_CLOSED` when the input ends first. Consumes nothing.
   */
  wait(
    operation: string,
    matcher: Matcher<ExpectMatch>,
    unread: string,
    signal: AbortSignal,
  ): Promise<ExpectMatch> {
    return new Promise<ExpectMatch>((resolve, reject) => {
      const onAbort = () => {
        this.#watchers.delete(watcher);
        reject(signal.reason);
      };
      const settle =
        <T>(done: (value: T) => void) =>
        (value: T) => {
          signal.removeEventListener("abort", onAbort);
          this.#watchers.delete(watcher);
          done(value);
        };
      const watcher: Watcher = {
        operation,
        text: new ChunkedText(
          unread.length > this.#maxChars ? unread.slice(-this.#maxChars) : unread,
        ),
        matcher,
        resolve: settle(resolve),
        reject: settle(reject),
      };
      // The text may be there already.
      if (this.#step(watcher)) return;
      if (this.#ended) {
        reject(new ConsoleClosedError({ operation, cause: this.#ended.error }));
        return;
      }
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      signal.addEventListener("abort", onAbort, { once: true });
      this.#watchers.add(watcher);
    });
  }

  /** True when `watcher` matched (and was resolved). */
  #step(watcher: Watcher): boolean {
    const step = watcher.matcher(watcher.text);
    if (!step?.done) return false;
    watcher.resolve(step.value as ExpectMatch);
    return true;
  }
}
