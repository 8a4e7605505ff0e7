import { AbortError, type CloseInfo, InvalidArgumentError } from "@qemu-kvm/core";
import { QmpClosedError, QmpEventOverflowError } from "../errors.js";
import type { RawEventFilter, RawQmpEvent } from "./events.js";

/** Something the client offers every event to, in arrival order. */
export interface EventSink {
  offer(event: RawQmpEvent): void;
  /** The connection is over. */
  end(info: CloseInfo): void;
}

/** Compiles a filter into a predicate (`undefined`: every event). */
export function compileFilter(filter: RawEventFilter | undefined): (event: RawQmpEvent) => boolean {
  if (filter === undefined) return () => true;
  if (typeof filter === "function") return filter;
  if (typeof filter === "string") return (event) => event.event === filter;
  if (Array.isArray(filter)) {
    const names = new Set<string>(filter);
    return (event) => names.has(event.event);
  }
  throw new InvalidArgumentError(
    "filter",
    "an event name, an array of names or a predicate",
    filter,
  );
}

/**
 * One `events()` subscription: an async iterator over a bounded queue.
 *
 * Subscribed when created (not at the first `next()`), so events that arrive
 * between `events()` and the first `next()` are kept. When the queue holds
 * `bufferSize` events and another arrives, the subscription stops receiving:
 * the iterator yields every queued event, then throws `QmpEventOverflowError`
 * at the point of loss. Other subscribers are unaffected.
 */
export class QmpEventStream<E = RawQmpEvent> implements AsyncIterableIterator<E>, EventSink {
  readonly #matches: (event: RawQmpEvent) => boolean;
  readonly #bufferSize: number;
  readonly #unsubscribe: (sink: EventSink) => void;
  #queue: E[] = [];
  #head = 0;
  /** Pending next() calls (only while the queue is empty), oldest first. */
  #waiters: { resolve(result: IteratorResult<E>): void; reject(error: unknown): void }[] = [];
  /** Set once no more events will be queued; `error` is thrown after the queue drains. */
  #ended: { error: Error | undefined } | undefined;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;

  constructor(fields: {
    filter: RawEventFilter | undefined;
    bufferSize: number;
    signal: AbortSignal | undefined;
    unsubscribe: (sink: EventSink) => void;
  }) {
    this.#matches = compileFilter(fields.filter);
    this.#bufferSize = fields.bufferSize;
    this.#unsubscribe = fields.unsubscribe;
    const signal = fields.signal;
    if (signal?.aborted) {
      this.#abort(new AbortError({ operation: "events()", cause: signal.reason }));
    } else if (signal) {
      this.#signal = signal;
      this.#onAbort = () =>
        this.#abort(new AbortError({ operation: "events()", cause: signal.reason }));
      signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  /** Events queued and not yet consumed. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  offer(event: RawQmpEvent): void {
    if (this.#ended || !this.#matches(event)) return;
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve({ value: event as E, done: false });
      return;
    }
    if (this.queued >= this.#bufferSize) {
      this.#finish(
        new QmpEventOverflowError({ bufferSize: this.#bufferSize, lostEvent: event.event }),
      );
      return;
    }
    this.#queue.push(event as E);
  }

  /** The connection ended: a clean end unless it ended by an error. */
  end(info: CloseInfo): void {
    this.#finish(
      info.by === "error"
        ? new QmpClosedError({ operation: "events()", cause: info.error })
        : undefined,
    );
  }

  next(): Promise<IteratorResult<E>> {
    if (this.#head < this.#queue.length) {
      const value = this.#queue[this.#head]!;
      this.#queue[this.#head] = undefined as unknown as E;
      this.#head++;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      } else if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.#ended) {
      const error = this.#ended.error;
      // Throw once, then report done like any finished iterator.
      this.#ended.error = undefined;
      return error ? Promise.reject(error) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
    });
  }

  /** Stops the subscription and drops queued events (`break` in `for await` calls this). */
  return(): Promise<IteratorResult<E>> {
    this.#queue = [];
    this.#head = 0;
    this.#finish(undefined);
    if (this.#ended) this.#ended.error = undefined;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #abort(error: Error): void {
    this.#queue = [];
    this.#head = 0;
    this.#finish(error);
  }

  #finish(error: Error | undefined): void {
    if (this.#ended) return;
    this.#ended = { error };
    this.#unsubscribe(this);
    if (this.#onAbort) this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#onAbort = undefined;
    // Waiters mean the queue is empty: the first gets the error (if any), the rest are done.
    const waiters = this.#waiters.splice(0);
    for (const waiter of waiters) {
      const pending = this.#ended.error;
      this.#ended.error = undefined;
      if (pending) waiter.reject(pending);
      else waiter.resolve({ value: undefined, done: true });
    }
  }
}
