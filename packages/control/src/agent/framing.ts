import { debugLog, LineReader, LineTooLongError } from "@qemu-kvm/core";

const debug = debugLog("control");

/** The byte that precedes the answer to `guest-sync-delimited`. */
export const DELIMITER = 0xff;

export interface FramingHandlers {
  /** A complete reply line (not blank). */
  line(text: string): void;
  /** A 0xFF: what follows may be the answer to a sync. */
  delimiter(): void;
  /** A line grew past the limit; its rest is dropped up to the next newline or 0xFF. */
  overflow(error: LineTooLongError): void;
}

/**
 * The agent's framing: JSON replies one per line, and 0xFF, which never occurs
 * in its JSON, marking the answer to `guest-sync-delimited`. What came before a
 * 0xFF on its line is stale and dropped. Lines longer than `maxLineBytes` are
 * not kept (core's `LineReader`): memory stays bounded whatever the peer sends.
 */
export class AgentFraming {
  readonly #maxLineBytes: number;
  readonly #handlers: FramingHandlers;
  #reader: LineReader;

  constructor(maxLineBytes: number, handlers: FramingHandlers) {
    this.#maxLineBytes = maxLineBytes;
    this.#handlers = handlers;
    this.#reader = new LineReader({ maxLineBytes });
  }

  push(chunk: Buffer): void {
    let bytes = chunk;
    for (;;) {
      const delimiter = bytes.indexOf(DELIMITER);
      this.#read(delimiter === -1 ? bytes : bytes.subarray(0, delimiter));
      if (delimiter === -1) return;
      if (this.#reader.pendingBytes > 0) debug("qga: stale partial line dropped at the delimiter");
      // A fresh reader: the partial line (or the over-long one being skipped) is gone.
      this.#reader = new LineReader({ maxLineBytes: this.#maxLineBytes });
      this.#handlers.delimiter();
      bytes = bytes.subarray(delimiter + 1);
    }
  }

  #read(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#reader.push(bytes);
    for (;;) {
      let line: string | undefined;
      try {
        line = this.#reader.next();
      } catch (error) {
        if (!LineTooLongError.isInstance(error)) throw error;
        this.#handlers.overflow(error);
        continue;
      }
      if (line === undefined) return;
      if (line.trim().length > 0) this.#handlers.line(line);
    }
  }
}
