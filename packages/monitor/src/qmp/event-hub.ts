import { armDeadline, type CloseInfo, InvalidArgumentError } from "@qemu-kvm/core";
import { QmpClosedError } from "../errors.js";
import { compileFilter, type EventSink, QmpEventStream } from "./event-stream.js";
import type { RawEventFilter, RawQmpEvent } from "./events.js";

/**
 * The subscribers of one QMP connection: `events()` streams, `waitForEvent`
 * waits and `on()` listeners. Each event is offered to every subscriber in
 * arrival order; when the connection ends, every subscriber is told once.
 */
export class EventHub {
  readonly #sinks = new Set<EventSink>();
  #ended: CloseInfo | undefined;

  /** Offers `event` to every current subscriber (one added meanwhile starts with the next event). */
  dispatch(event: RawQmpEvent): void {
    if (this.#sinks.size === 0) return;
    for (const sink of [...this.#sinks]) {
      if (this.#sinks.has(sink)) sink.offer(event);
    }
  }

  /** The connection is over: ends every subscriber, and any later one at once. */
  end(info: CloseInfo): void {
    if (this.#ended) return;
    this.#ended = info;
    const sinks = [...this.#sinks];
    this.#sinks.clear();
    for (const sink of sinks) sink.end(info);
  }

  /** A bounded async iterator of the matching events, subscribed now. */
  stream(
    filter: RawEventFilter | undefined,
    bufferSize: number,
    signal: AbortSignal | undefined,
  ): QmpEventStream {
    const stream = new QmpEventStream({
      filter,
      bufferSize,
      signal,
      unsubscribe: (sink) => this.#sinks.delete(sink),
    });
    if (this.#ended) stream.end(this.#ended);
    else if (!signal?.aborted) this.#sinks.add(stream); // (an aborted one has ended)
    return stream;
  }

  /**
   * The first matching event for which `predicate` returns true, from now on.
   * `timeoutMs` must be checked already.
   */
  wait(
    name: string | readonly string[],
    predicate: ((event: RawQmpEvent) => boolean) | undefined,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<RawQmpEvent> {
    const matches = compileFilter(name);
    if (predicate !== undefined && typeof predicate !== "function")
      throw new InvalidArgumentError("predicate", "a function", predicate);
    const operation = `waitForEvent ${Array.isArray(name) ? name.join("|") : name}`;
    const promise = new Promise<RawQmpEvent>((resolve, reject) => {
      if (this.#ended) {
        reject(new QmpClosedError({ operation, cause: this.#ended.error }));
        return;
      }
      let stopped = false;
      const sink: EventSink = {
        offer: (event) => {
          if (!matches(event)) return;
          let found: boolean;
          try {
            found = predicate ? predicate(event) : true;
          } catch (error) {
            settle();
            reject(error);
            return;
          }
          if (found) {
            settle();
            resolve(event);
          }
        },
        end: (info) => {
          settle();
          reject(new QmpClosedError({ operation, cause: info.error }));
        },
      };
      const disarm = armDeadline(operation, signal, timeoutMs, (error) => {
        stopped = true;
        this.#sinks.delete(sink);
        reject(error);
      });
      const settle = () => {
        disarm();
        this.#sinks.delete(sink);
      };
      if (!stopped) this.#sinks.add(sink);
    });
    // Armed waits are often abandoned when the command meant to trigger them fails:
    // their later rejection (closed, timeout) must not crash the process.
    promise.catch(() => {});
    return promise;
  }

  /** Calls `listener` synchronously for each matching event until the returned function is called. */
  listen(filter: RawEventFilter | undefined, listener: (event: RawQmpEvent) => void): () => void {
    const matches = compileFilter(filter);
    if (typeof listener !== "function")
      throw new InvalidArgumentError("listener", "a function", listener);
    const sink: EventSink = {
      offer: (event) => {
        if (!matches(event)) return;
        try {
          listener(event);
        } catch (error) {
          // As an EventEmitter would: an uncaught exception, not a silent loss.
          queueMicrotask(() => {
            throw error;
          });
        }
      },
      end: () => {},
    };
    if (!this.#ended) this.#sinks.add(sink);
    return () => {
      this.#sinks.delete(sink);
    };
  }
}
