import { Duplex } from "node:stream";
import type { ClientChannel } from "ssh2";
import { HostSocketError } from "../errors/host-errors.js";

/**
 * A forwarded channel as an ordinary duplex stream: `destroy(error)` works as
 * on a socket. A channel failure destroys it with `ERR_HOST_SOCKET`.
 */
export class ChannelStream extends Duplex {
  /** Private: the channel leads to the ssh2 client, which no printout of the stream needs to show. */
  readonly #channel: ClientChannel;

  constructor(channel: ClientChannel, where: { target: string; host: string }) {
    super({ allowHalfOpen: true });
    this.#channel = channel;
    channel.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) channel.pause();
    });
    channel.once("end", () => this.push(null));
    channel.on("error", (error: Error) =>
      this.destroy(
        new HostSocketError({
          ...where,
          systemCode: undefined,
          message: error.message,
          cause: error,
        }),
      ),
    );
    channel.once("close", () => {
      // Closed both ways: whatever was received stays readable; nothing more can be written.
      this.push(null);
      if (!this.writableEnded) this.end();
    });
  }

  override _read(): void {
    this.#channel.resume();
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.#channel.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#channel.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#channel.close();
    callback(error);
  }
}
