import type { Duplex } from "node:stream";
import type { DebugLog } from "./debug.js";

/** How a session over a stream ended. */
export interface CloseInfo {
  /**
   * `client`: closed or destroyed on our side without an error; `peer`: the
   * other side ended the stream or reset the connection; `error`: a stream
   * error, a protocol error, or `destroy(error)`.
   */
  by: "client" | "peer" | "error";
  /** What ended it, when something failed (for `peer`: the reset, if any). */
  error?: Error;
}

export interface StreamSessionHandlers {
  /** Each chunk read from the stream, while the session is open. */
  data(chunk: Buffer): void;
  /**
   * Called once when the session ends, before `closed` settles: reject what is
   * pending here, with the package's `ClosedError` (`cause`: `info.error`).
   */
  ended(info: CloseInfo): void;
}

const PEER_RESET = new Set(["ECONNRESET", "EPIPE"]);

/**
 * The lifecycle every stream client of qemu-kvm shares (QMP, HMP, the serial
 * console, the guest agent): it listens to a connected duplex stream, ends
 * exactly once however the end comes (the peer ends or resets it, an error,
 * `close()`, `destroy()`), always destroys the stream then, and settles
 * `closed` with how it ended. `ECONNRESET` and `EPIPE` count as the peer going
 * away (QEMU killed while our writes were unread), not as errors of ours.
 */
export class StreamSession {
  readonly stream: Duplex;
  /** Settles (never rejects) once the session is over. */
  readonly closed: Promise<CloseInfo>;
  readonly #handlers: StreamSessionHandlers;
  readonly #label: string;
  readonly #debug: DebugLog | undefined;
  #resolveClosed!: (info: CloseInfo) => void;
  #info: CloseInfo | undefined;
  #closing = false;
  #held = 0;
  #heldEnd: CloseInfo | undefined;

  /**
   * @param label names the session in debug output (`qmp`, `console`…).
   */
  constructor(
    stream: Duplex,
    handlers: StreamSessionHandlers,
    options: { label: string; debug?: DebugLog },
  ) {
    this.stream = stream;
    this.#handlers = handlers;
    this.#label = options.label;
    this.#debug = options.debug;
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    stream.on("data", this.#onData);
    stream.on("end", this.#onEnd);
    stream.on("close", this.#onEnd);
    stream.on("error", this.#onError);
    if (stream.destroyed || stream.readableEnded)
      queueMicrotask(() => this.finish("peer", new Error("the stream was already closed")));
  }

  /** How it ended; undefined while open. */
  get closeInfo(): CloseInfo | undefined {
    return this.#info;
  }

  get isClosed(): boolean {
    return this.#info !== undefined;
  }

  /** True from the start of a graceful `close()` until the end. */
  get isClosing(): boolean {
    return this.#closing || this.#info !== undefined;
  }

  /** Writes to the stream unless the session is over. Returns false when it is. */
  write(data: string | Uint8Array): boolean {
    if (this.#info || this.stream.destroyed) return false;
    this.stream.write(data);
    return true;
  }

  /**
   * Holds the end of the stream back (a peer end or error is remembered, not
   * acted on) until {@link release}: for a client that must first handle the
   * data it has already received. Holds nest.
   */
  hold(): void {
    this.#held++;
  }

  release(): void {
    if (this.#held > 0) this.#held--;
    const end = this.#heldEnd;
    if (this.#held === 0 && end) {
      this.#heldEnd = undefined;
      this.finish(end.by, end.error);
    }
  }

  /**
   * Graceful close: marks the session closing, waits for `whenIdle` (the
   * client's pending work), then ends it. Later calls wait for the same end.
   */
  async close(whenIdle?: () => Promise<void> | void): Promise<void> {
    if (!this.#closing && !this.#info) {
      this.#closing = true;
      await whenIdle?.();
      this.finish("client");
    }
    await this.closed;
  }

  /** Abrupt: ends the session at once (`by: "error"` with a reason, else `client`). */
  destroy(reason?: Error): void {
    this.finish(reason ? "error" : "client", reason);
  }

  /** Ends the session once: detaches, destroys the stream, calls `ended`, settles `closed`. */
  finish(by: CloseInfo["by"], error?: Error): void {
    if (this.#info) return;
    const info: CloseInfo = error ? { by, error } : { by };
    this.#info = info;
    this.#heldEnd = undefined;
    this.#debug?.("%s: closed by %s%s", this.#label, by, error ? `: ${error.message}` : "");
    const stream = this.stream;
    stream.off("data", this.#onData);
    stream.off("end", this.#onEnd);
    stream.off("close", this.#onEnd);
    // Keep an error listener: a destroyed stream may still emit one.
    stream.off("error", this.#onError);
    stream.on("error", noop);
    if (!stream.destroyed) stream.destroy();
    try {
      this.#handlers.ended(info);
    } finally {
      this.#resolveClosed(info);
    }
  }

  #peerEnded(by: CloseInfo["by"], error: Error | undefined): void {
    if (this.#held > 0) {
      this.#heldEnd ??= error ? { by, error } : { by };
      return;
    }
    this.finish(by, error);
  }

  readonly #onData = (chunk: Buffer | string): void => {
    if (this.#info) return;
    this.#handlers.data(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  };

  readonly #onEnd = (): void => {
    this.#peerEnded("peer", undefined);
  };

  readonly #onError = (error: Error): void => {
    const code = (error as NodeJS.ErrnoException).code;
    this.#peerEnded(code !== undefined && PEER_RESET.has(code) ? "peer" : "error", error);
  };
}

function noop(): void {}
