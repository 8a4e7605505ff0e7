import type { Duplex } from "node:stream";
import type { Deadline } from "@qemu-kvm/core";
import { HostConnectError } from "../errors/host-errors.js";

/**
 * Opens a new connected stream to an SSH server, for each connection of an SSH
 * host (the first, and each reconnection after a drop). `signal` aborts when
 * the connection attempt is given up: pass it on (`connectTcp(…, { signal })`).
 */
export type SshStreamOpener = (options: { signal: AbortSignal }) => Promise<Duplex>;

/** Whether `value` looks like a duplex stream (readable and writable). */
export function isDuplex(value: unknown): value is Duplex {
  const stream = value as Partial<Duplex> | null;
  return (
    typeof stream === "object" &&
    stream !== null &&
    typeof stream.on === "function" &&
    typeof stream.write === "function" &&
    typeof stream.end === "function" &&
    typeof stream.destroy === "function" &&
    typeof stream.pipe === "function"
  );
}

/**
 * The streams an SSH host runs its connections over when it was given `sock`:
 * the one stream given, used once, or a new stream from the opener for each
 * connection.
 */
export class StreamSocket {
  #used = false;

  constructor(
    readonly sock: Duplex | SshStreamOpener,
    readonly name: string,
  ) {}

  /** Whether a lost connection can be made again (an opener was given). */
  get reconnects(): boolean {
    return typeof this.sock === "function";
  }

  /**
   * The stream for the next connection. A stream given once cannot serve a
   * second connection (`ERR_HOST_CONNECT`); an opener's failure is
   * `ERR_HOST_CONNECT` (cause: its error). A stream that arrives after the
   * deadline stopped is destroyed.
   */
  async open(deadline: Deadline): Promise<Duplex> {
    const sock = this.sock;
    if (typeof sock !== "function") {
      if (this.#used)
        throw new HostConnectError({
          message: `the stream to ${this.name} was used by a connection that ended; it cannot connect again`,
          host: this.name,
        });
      this.#used = true;
      return sock;
    }
    try {
      const stream = await deadline.race(sock({ signal: deadline.signal }), (late) =>
        late.destroy(),
      );
      if (!isDuplex(stream)) throw new TypeError("the opener did not resolve a duplex stream");
      return stream;
    } catch (error) {
      if (deadline.stopped) throw error;
      throw new HostConnectError({
        message: `cannot open a stream to ${this.name}: ${(error as Error).message}`,
        host: this.name,
        cause: error,
      });
    }
  }
}
