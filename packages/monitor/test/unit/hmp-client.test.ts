import { Duplex } from "node:stream";
import { describe, expect, it } from "vitest";
import { connectHmp, HmpClosedError, stripTerminalEscapes } from "../../src/index.js";

const BANNER = "QEMU 7.2.22 monitor - type 'help' for more information\r\n(qemu) ";

/** QEMU's readline echo of a typed line, byte for byte as QEMU 7.2 sends it. */
function echo(line: string): string {
  let out = "";
  for (let i = 1; i <= line.length; i++) {
    out += `${line.slice(0, i)}\x1b[K`;
    if (i < line.length) out += "\x1b[D".repeat(i);
  }
  return `${out}\r\n`;
}

/** A fake human monitor: answers each line with echo, output, prompt; in chunks of `chunkSize`. */
class FakeHmp extends Duplex {
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
  sendChunked(text: string): void {
    const bytes = Buffer.from(text, "utf8");
    for (let offset = 0; offset < bytes.length; offset += this.chunkSize)
      this.push(bytes.subarray(offset, offset + this.chunkSize));
  }
  release(): void {
    this.hold = false;
    for (const text of this.#held.splice(0)) this.sendChunked(text);
  }
}

const OUTPUTS: Record<string, string> = {
  "info status": "VM status: paused (prelaunch)\n",
  "info cpus": "* CPU #0: thread_id=8431\n  CPU #1: thread_id=8432\n",
  "info name": "",
  "info nosuch": "unknown command: 'info nosuch'\n",
  "echo-unicode": "café ☕\n",
};

async function connect(peer: FakeHmp) {
  const connecting = connectHmp(peer);
  peer.sendChunked(BANNER);
  return connecting;
}

describe("HMP client", () => {
  it("reads the banner and version, strips the echo and escapes from output", async () => {
    const peer = new FakeHmp((line) => OUTPUTS[line] ?? "");
    const hmp = await connect(peer);
    expect(hmp.banner).toBe("QEMU 7.2.22 monitor - type 'help' for more information");
    expect(hmp.version).toEqual({ major: 7, minor: 2, micro: 22 });
    expect(await hmp.command("info status")).toBe("VM status: paused (prelaunch)\n");
    expect(await hmp.command("info cpus")).toBe(OUTPUTS["info cpus"]);
    expect(await hmp.command("info name")).toBe("");
    expect(await hmp.command("info nosuch")).toBe("unknown command: 'info nosuch'\n");
    // 1-byte chunks split the UTF-8 characters too.
    const bytewise = new FakeHmp((line) => OUTPUTS[line] ?? "", 1);
    const second = await connect(bytewise);
    expect(await second.command("echo-unicode")).toBe("café ☕\n");
    await hmp.close();
    await second.close();
  });

  it("runs commands one at a time, in call order", async () => {
    const peer = new FakeHmp((line) => `${line} done\n`);
    const hmp = await connect(peer);
    peer.hold = true;
    const results = ["info a", "info b", "info c"].map((line) => hmp.command(line));
    await new Promise((resolve) => setImmediate(resolve));
    // Only the first was sent: the others wait for its prompt.
    expect(peer.received).toEqual(["info a"]);
    peer.release();
    await results[0];
    peer.release();
    await results[1];
    peer.release();
    expect(await Promise.all(results)).toEqual(["info a done\n", "info b done\n", "info c done\n"]);
    expect(peer.received).toEqual(["info a", "info b", "info c"]);
    await hmp.close();
  });

  it("skips the late output of a command that timed out", async () => {
    const peer = new FakeHmp((line) => `${line} output\n`);
    const hmp = await connect(peer);
    peer.hold = true;
    const slow = hmp.command("info slow", { timeoutMs: 10 });
    const next = hmp.command("info next");
    await expect(slow).rejects.toMatchObject({ code: "ERR_TIMEOUT" });
    // "info next" waits for the prompt of "info slow".
    expect(peer.received).toEqual(["info slow"]);
    peer.release();
    await new Promise((resolve) => setImmediate(resolve));
    peer.release();
    await expect(next).resolves.toBe("info next output\n");
    await hmp.close();
  });

  it("refuses control characters, which would drive readline", async () => {
    const hmp = await connect(new FakeHmp(() => ""));
    for (const line of ["info\tst", "info status\n", "\x1b[A", ""]) {
      expect(() => hmp.command(line)).toThrow(TypeError);
    }
    hmp.destroy();
  });

  it("rejects pending commands with ERR_HMP_CLOSED when the peer hangs up; quit resolves", async () => {
    const peer = new FakeHmp((line) => (line === "quit" ? undefined : `${line}\n`));
    const hmp = await connect(peer);
    peer.hold = true;
    const pending = hmp.command("info status");
    const quitting = hmp.quit();
    peer.release();
    await pending;
    await new Promise((resolve) => setImmediate(resolve));
    expect(peer.received).toEqual(["info status", "quit"]);
    peer.push(null);
    await expect(quitting).resolves.toBeUndefined();
    expect((await hmp.closed).by).toBe("peer");
    await expect(hmp.command("info status")).rejects.toBeInstanceOf(HmpClosedError);
  });

  it("says so when pointed at a QMP socket", async () => {
    const peer = new FakeHmp(() => "");
    const connecting = connectHmp(peer);
    peer.push('{"QMP": {"version": {}}}\r\n');
    await expect(connecting).rejects.toMatchObject({
      code: "ERR_HMP_PROTOCOL",
      message: expect.stringContaining("connectQmp"),
    });
  });

  it("stripTerminalEscapes removes readline's sequences", () => {
    expect(stripTerminalEscapes(echo("info status"))).toMatch(/info status\r\n$/);
    expect(stripTerminalEscapes("a\x1b[Kb\x1b[D\x1b[1;31mc\x1b7")).toBe("abc");
  });
});
