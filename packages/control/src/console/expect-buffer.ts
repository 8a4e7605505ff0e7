import { armDeadline } from "@qemu-kvm/core";
import { ChunkedText, type TextView } from "./chunked-text.js";
import { ConsoleClosedError, ConsoleDesyncError, ConsoleOverflowError } from "./errors.js";

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
 * transfer never has to sit whole in the buffer. Positions in the view are
 * absolute (they grow as text is consumed or dropped), so a matcher can
 * remember how far it has looked and look only at what is new: a matcher that
 * reads the whole view on every arrival makes a flood cost its size squared.
 * Returning `undefined` means "nothing yet". A matcher that throws fails the
 * wait with that error.
 */
export type Matcher<T> = (view: TextView) => MatchStep<T> | undefined;

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
  readonly #text = new ChunkedText();
  #waiter: Waiter | undefined;
  #dropped = 0;
  #ended: { error: Error | undefined } | undefined;

  constructor(maxChars: number) {
    this.#maxChars = maxChars;
  }

  /** The unconsumed text. */
  get text(): string {
    return this.#text.text;
  }

  /** The unconsumed text as matchers see it. */
  get view(): TextView {
    return this.#text;
  }

  push(text: string): void {
    if (text.length === 0) return;
    this.#text.push(text);
    this.#step();
    const excess = this.#text.length - this.#maxChars;
    if (excess > 0) this.#dropped += this.#text.drop(excess);
  }

  /** Drops the first `count` characters, as read. */
  consume(count: number): void {
    this.#text.drop(count);
  }

  /** Drops everything unconsumed (not counted as overflow). */
  clear(): void {
    this.#text.drop(this.#text.length);
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
      step = waiter.matcher(this.#text);
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
