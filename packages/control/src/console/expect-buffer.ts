import { armDeadline, InvalidArgumentError } from "@qemu-kvm/core";
import { ConsoleClosedError, ConsoleDesyncError, ConsoleOverflowError } from "./errors.js";
import { examined } from "./scan-meter.js";

/**
 * One step of a matcher: how much of the text it has used up (dropped from
 * the buffer) and, when `done`, the value the wait resolves with.
 */
export interface MatchStep<T> {
  consume: number;
  done: boolean;
  value?: T;
}

/**
 * Looks at the unconsumed text each time more arrives (and once at the start).
 * May consume part of it and keep waiting (`done: false`), so that a long
 * transfer never has to sit whole in the buffer. `origin` is the position of
 * `text[0]` in the whole input (it grows as text is consumed or dropped), for
 * matchers that remember how far they have looked. Returning `undefined` means
 * "nothing yet". A matcher that throws fails the wait with that error.
 */
export type Matcher<T> = (text: string, origin: number) => MatchStep<T> | undefined;

interface Waiter {
  operation: string;
  matcher: Matcher<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  disarm(): void;
}

/**
 * The console's input: text not yet consumed, with at most one waiter at a
 * time (the console runs its operations one after the other).
 *
 * Bounded: past `maxChars` unconsumed characters, the oldest are dropped. A
 * waiting matcher has seen every character before it is dropped (it runs on
 * each arrival), so the bound only limits how far back a match may start.
 * Characters dropped while nobody was waiting, or after a wait gave up, are
 * counted and reported once, as `ERR_CONSOLE_OVERFLOW`, to the next `expect()`.
 */
export class ExpectBuffer {
  readonly #maxChars: number;
  #text = "";
  /** Position of `#text[0]` in the whole input. */
  #origin = 0;
  #waiter: Waiter | undefined;
  #dropped = 0;
  #ended: { error: Error | undefined } | undefined;

  constructor(maxChars: number) {
    this.#maxChars = maxChars;
  }

  /** The unconsumed text. */
  get text(): string {
    return this.#text;
  }

  push(text: string): void {
    if (text.length === 0) return;
    this.#text += text;
    this.#step();
    if (this.#text.length > this.#maxChars) {
      const cut = this.#text.length - this.#maxChars;
      this.#text = this.#text.slice(cut);
      this.#origin += cut;
      this.#dropped += cut;
    }
  }

  /** Drops the first `count` characters, as read. */
  consume(count: number): string {
    const taken = this.#text.slice(0, count);
    this.#text = this.#text.slice(count);
    this.#origin += taken.length;
    return taken;
  }

  /** Drops everything unconsumed (not counted as overflow). */
  clear(): string {
    return this.consume(this.#text.length);
  }

  /** Throws `ERR_CONSOLE_OVERFLOW` if characters were dropped unread, then forgets them. */
  checkOverflow(): void {
    if (this.#dropped === 0) return;
    const droppedChars = this.#dropped;
    this.#dropped = 0;
    throw new ConsoleOverflowError({ droppedChars, bufferSize: this.#maxChars });
  }

  resetOverflow(): void {
    this.#dropped = 0;
  }

  /** The input ended: the waiter (and every later wait) rejects with `ERR_CONSOLE_CLOSED`. */
  end(error?: Error): void {
    if (this.#ended) return;
    this.#ended = { error };
    const waiter = this.#waiter;
    if (!waiter) return;
    this.#waiter = undefined;
    waiter.disarm();
    waiter.reject(new ConsoleClosedError({ operation: waiter.operation, cause: error }));
  }

  /**
   * Waits until `matcher` is done. Rejects with `ERR_TIMEOUT`/`ERR_ABORTED`
   * (text consumed so far stays consumed; the rest stays in the buffer), or
   * `ERR_CONSOLE_CLOSED` when the input ends first.
   */
  wait<T>(
    operation: string,
    matcher: Matcher<T>,
    options: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<T> {
    // The console runs one operation at a time: two readers would be out of step.
    if (this.#waiter)
      throw new ConsoleDesyncError(`internal: ${operation} while ${this.#waiter.operation} waits`);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        operation,
        matcher: matcher as Matcher<unknown>,
        resolve: resolve as (value: unknown) => void,
        reject,
        disarm: () => {},
      };
      this.#waiter = waiter;
      // Look at what is there first: the answer may have arrived already.
      this.#step();
      if (this.#waiter !== waiter) return;
      if (this.#ended) {
        this.#waiter = undefined;
        reject(new ConsoleClosedError({ operation, cause: this.#ended.error }));
        return;
      }
      waiter.disarm = armDeadline(
        operation,
        options.signal,
        options.timeoutMs ?? Number.POSITIVE_INFINITY,
        (error) => {
          if (this.#waiter === waiter) this.#waiter = undefined;
          reject(error);
        },
      );
    });
  }

  #step(): void {
    const waiter = this.#waiter;
    if (!waiter) return;
    let step: MatchStep<unknown> | undefined;
    try {
      step = waiter.matcher(this.#text, this.#origin);
    } catch (error) {
      this.#waiter = undefined;
      waiter.disarm();
      waiter.reject(error);
      return;
    }
    if (!step) return;
    if (step.consume > 0) this.consume(step.consume);
    if (step.done) {
      this.#waiter = undefined;
      waiter.disarm();
      waiter.resolve(step.value);
    }
  }
}

/** A pattern `expect()` accepts. */
export type ExpectPattern = string | RegExp;

export interface ExpectMatch {
  /** Index of the pattern that matched, in the array given (0 for a single pattern). */
  index: number;
  /** The matched text. */
  match: string;
  /** The RegExp match (capture groups), for a RegExp pattern. */
  groups: RegExpExecArray | undefined;
  /** The text between the previous consumption and the match. */
  before: string;
}

/**
 * A matcher for `expect()`: the earliest match of any pattern (ties go to the
 * pattern listed first); consumes through the end of the match.
 */
export function patternMatcher(patterns: readonly ExpectPattern[]): Matcher<ExpectMatch> {
  const compiled = patterns.map((pattern, index) => {
    const field = patterns.length === 1 ? "pattern" : `pattern[${index}]`;
    if (typeof pattern === "string") {
      if (pattern.length === 0)
        throw new InvalidArgumentError(field, "a non-empty string or a RegExp", pattern);
      return pattern;
    }
    if (!(pattern instanceof RegExp))
      throw new InvalidArgumentError(field, "a non-empty string or a RegExp", pattern);
    // A fresh global copy: exec() from index 0 each time, the caller's lastIndex untouched.
    const flags = pattern.flags.replace(/[gy]/g, "");
    return new RegExp(pattern.source, `${flags}g`);
  });
  // Strings: where the previous look stopped (absolute position), so that a flood is
  // scanned once, not quadratically.
  const searchedUpTo = compiled.map(() => 0);
  return (text, origin) => {
    let best: { index: number; start: number; end: number; groups?: RegExpExecArray } | undefined;
    compiled.forEach((pattern, index) => {
      let start: number;
      let end: number;
      let groups: RegExpExecArray | undefined;
      if (typeof pattern === "string") {
        const from = Math.max(0, searchedUpTo[index]! - origin);
        examined(text.length - from);
        start = text.indexOf(pattern, from);
        if (start === -1) {
          searchedUpTo[index] = origin + Math.max(0, text.length - pattern.length + 1);
          return;
        }
        end = start + pattern.length;
      } else {
        pattern.lastIndex = 0;
        examined(text.length);
        const found = pattern.exec(text);
        if (!found) return;
        start = found.index;
        end = start + found[0].length;
        groups = found;
      }
      if (!best || start < best.start) best = { index, start, end, groups };
    });
    if (!best) return undefined;
    const found = best;
    return {
      consume: found.end,
      done: true,
      value: {
        index: found.index,
        match: text.slice(found.start, found.end),
        groups: found.groups,
        before: text.slice(0, found.start),
      } satisfies ExpectMatch,
    };
  };
}

/** The patterns of `expect()`/`waitForOutput()`, checked, as one matcher, and as errors name them. */
export function compilePatterns(pattern: ExpectPattern | readonly ExpectPattern[]): {
  matcher: Matcher<ExpectMatch>;
  described: string;
} {
  const patterns: readonly ExpectPattern[] = Array.isArray(pattern)
    ? pattern
    : [pattern as ExpectPattern];
  if (patterns.length === 0)
    throw new InvalidArgumentError("pattern", "a pattern or a non-empty array of them", pattern);
  return {
    matcher: patternMatcher(patterns),
    described: patterns.map((item) => String(item)).join(" | "),
  };
}
