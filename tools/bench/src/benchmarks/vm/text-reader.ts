/**
 * The baselines' whole console and QMP client: read text from a socket, wait
 * until a string shows, write a line. Nothing more (no prompt detection, no
 * markers, no escapes): the least code that logs in over a serial port.
 */
import type { Duplex } from "node:stream";

/** The most text kept while waiting: older text is dropped (a needle is much shorter). */
const MAX_KEPT_CHARS = 64 * 1024;

export class TextReader {
  readonly stream: Duplex;
  /** Settles when the stream closes (QEMU exited, or we destroyed it). */
  readonly closed: Promise<void>;
  #text = "";
  #error: Error | undefined;
  #isClosed = false;
  #wake: (() => void) | undefined;

  constructor(stream: Duplex) {
    this.stream = stream;
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      this.#text = (this.#text + chunk).slice(-MAX_KEPT_CHARS);
      this.#wake?.();
    });
    stream.on("error", (error: Error) => {
      this.#error = error;
    });
    this.closed = new Promise((resolve) => {
      stream.once("close", () => {
        this.#isClosed = true;
        this.#wake?.();
        resolve();
      });
    });
  }

  write(text: string): void {
    this.stream.write(text);
  }

  /**
   * Resolves once `needle` has shown since the last match (the text up to it is
   * then consumed); rejects when the stream closes first or `signal` aborts.
   * One wait at a time.
   */
  waitFor(needle: string, signal: AbortSignal): Promise<void> {
    if (this.#wake) throw new Error("TextReader: one waitFor() at a time");
    return new Promise((resolve, reject) => {
      const check = () => {
        const index = this.#text.indexOf(needle);
        if (index !== -1) {
          this.#text = this.#text.slice(index + needle.length);
          done();
          resolve();
        } else if (signal.aborted) {
          done();
          reject(signal.reason);
        } else if (this.#isClosed) {
          done();
          const reason = this.#error ? `: ${this.#error.message}` : "";
          reject(new Error(`closed before ${JSON.stringify(needle)} showed${reason}`));
        }
      };
      const done = () => {
        this.#wake = undefined;
        signal.removeEventListener("abort", check);
      };
      this.#wake = check;
      signal.addEventListener("abort", check);
      check();
    });
  }

  /** Resolves once the stream has closed; rejects when `signal` aborts first. */
  waitForClose(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const abort = () => reject(signal.reason);
      if (signal.aborted) return abort();
      signal.addEventListener("abort", abort, { once: true });
      void this.closed.then(() => {
        signal.removeEventListener("abort", abort);
        resolve();
      });
    });
  }

  destroy(): void {
    this.stream.destroy();
  }
}
