import { Duplex, PassThrough } from "node:stream";
import { describe, expect, test } from "vitest";
import { DETACH_KEY, relay } from "../../src/cli/console.js";
import type { CliIo } from "../../src/cli/io.js";

/** A console socket: what the relay writes is kept; `push` is the guest speaking. */
function socket() {
  const written: Buffer[] = [];
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, done) {
      written.push(chunk);
      done();
    },
  });
  return { stream, written: () => Buffer.concat(written) };
}

function terminal(isTTY: boolean) {
  const modes: boolean[] = [];
  const stdin = Object.assign(new PassThrough(), {
    isTTY,
    setRawMode: (mode: boolean) => modes.push(mode),
  });
  const stdout = new PassThrough();
  let shown = Buffer.alloc(0);
  stdout.on("data", (chunk: Buffer) => {
    shown = Buffer.concat([shown, chunk]);
  });
  const controller = new AbortController();
  const io: CliIo = {
    stdin,
    stdout,
    stderr: new PassThrough(),
    env: {},
    signal: controller.signal,
  };
  return { io, stdin, modes, shown: () => shown, controller };
}

describe("the interactive console", () => {
  test("keys go to the guest until Ctrl-], which detaches; the terminal is raw meanwhile", async () => {
    const { stream, written } = socket();
    const { io, stdin, modes } = terminal(true);
    const ending = relay(stream, false, io);
    stdin.write(Buffer.from([0x72, 0x6f, 0x03, 0x0d])); // "ro", Ctrl-C, Enter: all for the guest
    stdin.write(Buffer.from([0x6f, 0x74, DETACH_KEY, 0x78])); // "ot", then detach: "x" is not sent
    expect(await ending).toBe("detached");
    expect(written()).toEqual(Buffer.from([0x72, 0x6f, 0x03, 0x0d, 0x6f, 0x74]));
    expect(modes).toEqual([true, false]);
    expect(stream.destroyed).toBe(true);
  });

  test("what the guest prints is shown byte for byte; over telnet, without the negotiation, which is answered", async () => {
    const { stream, written } = socket();
    const { io, stdin, shown } = terminal(false);
    const ending = relay(stream, true, io);
    // QEMU's telnet server: WILL ECHO, WILL SGA, WILL BINARY, DO BINARY; then the guest.
    stream.push(
      Buffer.from([0xff, 0xfb, 0x01, 0xff, 0xfb, 0x03, 0xff, 0xfb, 0x00, 0xff, 0xfd, 0x00]),
    );
    stream.push(Buffer.from("guest login: \u00e9"));
    await new Promise((resolve) => setImmediate(resolve));
    stdin.write(Buffer.from([0xff, DETACH_KEY])); // a 0xFF byte from the user is escaped for telnet
    expect(await ending).toBe("detached");
    expect(shown().toString()).toBe("guest login: \u00e9");
    const sent = written();
    expect(sent.subarray(-2)).toEqual(Buffer.from([0xff, 0xff]));
    expect(sent.length).toBeGreaterThan(2); // the answers to the negotiation came first
  });

  test("the console closing ends the session; so does stdin's end on a pipe, and an interrupt", async () => {
    const closed = socket();
    const first = terminal(false);
    const ending = relay(closed.stream, false, first.io);
    closed.stream.destroy();
    expect(await ending).toBe("closed");

    const piped = socket();
    const second = terminal(false);
    const eof = relay(piped.stream, false, second.io);
    second.stdin.end(Buffer.from("root\n"));
    expect(await eof).toBe("detached");
    expect(piped.written().toString()).toBe("root\n");

    const aborted = socket();
    const third = terminal(false);
    const interrupted = relay(aborted.stream, false, third.io);
    third.controller.abort();
    expect(await interrupted).toBe("interrupted");
  });
});
