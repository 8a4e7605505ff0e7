import { Duplex } from "node:stream";
import { type ConnectQmpOptions, connectQmp, type QmpClient } from "../../src/index.js";

export interface Request {
  execute: string;
  arguments?: Record<string, unknown>;
  id: number;
}

/**
 * The far end of an in-memory stream: what the client writes is split into
 * lines and queued; what the test sends is pushed to the client as raw bytes,
 * in exactly the chunks given.
 */
export class FakePeer extends Duplex {
  readonly lines: string[] = [];
  #partial = "";
  #waiters: (() => void)[] = [];
  #read = 0;

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.#partial += chunk.toString("utf8");
    let newline = this.#partial.indexOf("\n");
    while (newline !== -1) {
      this.lines.push(this.#partial.slice(0, newline));
      this.#partial = this.#partial.slice(newline + 1);
      newline = this.#partial.indexOf("\n");
    }
    for (const wake of this.#waiters.splice(0)) wake();
    callback();
  }

  /** Sends bytes to the client as one chunk. */
  send(data: string | Buffer): void {
    this.push(typeof data === "string" ? Buffer.from(data, "utf8") : data);
  }

  /** Sends one QMP message (CRLF-terminated, like QEMU). */
  sendMessage(message: unknown): void {
    this.send(`${JSON.stringify(message)}\r\n`);
  }

  reply(id: number, value: unknown = {}): void {
    this.sendMessage({ return: value, id });
  }

  event(name: string, data?: Record<string, unknown>): void {
    this.sendMessage({
      event: name,
      ...(data ? { data } : {}),
      timestamp: { seconds: 1, microseconds: 2 },
    });
  }

  /** QEMU hangs up (EOF). */
  hangUp(): void {
    this.push(null);
  }

  /** The next line the client wrote (waits for it). */
  async nextLine(): Promise<string> {
    while (this.#read >= this.lines.length) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return this.lines[this.#read++]!;
  }

  async nextRequest(): Promise<Request> {
    return JSON.parse(await this.nextLine()) as Request;
  }
}

export const GREETING = {
  QMP: {
    version: {
      qemu: { micro: 22, minor: 2, major: 7 },
      package: "Debian 1:7.2+dfsg-7+deb12u18+b3",
    },
    capabilities: ["oob"],
  },
};

/** A client connected to a fake QEMU that has greeted and negotiated. */
export async function connected(
  options: ConnectQmpOptions = {},
): Promise<{ client: QmpClient; peer: FakePeer }> {
  const peer = new FakePeer();
  const connecting = connectQmp(peer, options);
  peer.sendMessage(GREETING);
  const negotiate = await peer.nextRequest();
  peer.reply(negotiate.id);
  const client = await connecting;
  return { client, peer };
}
