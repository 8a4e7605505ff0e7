import { Duplex } from "node:stream";
import { type ConnectHmpOptions, connectHmp, type HmpClient } from "../../src/index.js";

export const BANNER = "QEMU 7.2.22 monitor - type 'help' for more information\r\n(qemu) ";

/** QEMU's readline echo of a typed line, byte for byte as QEMU 7.2 sends it. */
export function echo(line: string): string {
  let out = "";
  for (let i = 1; i <= line.length; i++) {
    out += `${line.slice(0, i)}\x1b[K`;
    if (i < line.length) out += "\x1b[D".repeat(i);
  }
  return `${out}\r\n`;
}

/** A fake human monitor: answers each line with echo, output, prompt; in chunks of `chunkSize`. */
export class FakeHmp extends Duplex {
  readonly received: string[] = [];
  hold = false;
  #held: string[] = [];
  constructor(
    readonly answer: (line: string) => string | undefined,
    readonly chunkSize = 7,
  ) {
    super();
  }
  override _read(): void {}
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    for (const line of chunk.toString("utf8").split("\n").slice(0, -1)) {
      this.received.push(line);
      const output = this.answer(line);
      if (output === undefined) continue; // e.g. quit: no prompt
      const text = `${echo(line)}${output.replace(/\n/g, "\r\n")}(qemu) `;
      if (this.hold) this.#held.push(text);
      else this.sendChunked(text);
    }
    callback();
  }
  sendChunked(text: string | Buffer): void {
    const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
    for (let offset = 0; offset < bytes.length; offset += this.chunkSize)
      this.push(bytes.subarray(offset, offset + this.chunkSize));
  }
  release(): void {
    this.hold = false;
    for (const text of this.#held.splice(0)) this.sendChunked(text);
  }
}

/** A client connected to `peer`, which sends QEMU 7.2's banner. */
export async function connectFake(peer: FakeHmp, options?: ConnectHmpOptions): Promise<HmpClient> {
  const connecting = connectHmp(peer, options);
  peer.sendChunked(BANNER);
  return connecting;
}
