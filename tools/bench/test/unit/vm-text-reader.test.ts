import { PassThrough } from "node:stream";
import { describe, expect, test } from "vitest";
import { TextReader } from "../../src/benchmarks/vm/text-reader.js";

/** A stream that reads back what is written to it: the "guest" is the test. */
function echo(): { reader: TextReader; say: (text: string) => void; stream: PassThrough } {
  const stream = new PassThrough();
  const reader = new TextReader(stream);
  return { reader, stream, say: (text) => stream.write(text) };
}

const never = new AbortController().signal;

describe("TextReader", () => {
  test("finds a needle split across chunks, and text that came before the wait", async () => {
    const { reader, say } = echo();
    say("Debian guest lo");
    await new Promise((resolve) => setImmediate(resolve));
    const waiting = reader.waitFor("login:", never);
    say("gin: ");
    await expect(waiting).resolves.toBeUndefined();
  });

  test("a match consumes the text up to it: the same needle must show again", async () => {
    const { reader, say } = echo();
    say("# one # ");
    await reader.waitFor("# ", never);
    await reader.waitFor("# ", never); // "one # " is still there
    let found = false;
    const third = reader.waitFor("# ", never).then(() => {
      found = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(found).toBe(false);
    say("root@guest:~# ");
    await third;
    expect(found).toBe(true);
  });

  test("keeps only the recent text, so a flood still ends in a match", async () => {
    const { reader, say } = echo();
    say("x".repeat(200 * 1024));
    say("login:");
    await expect(reader.waitFor("login:", never)).resolves.toBeUndefined();
  });

  test("rejects when the stream closes first, and when the signal aborts", async () => {
    const closing = echo();
    const waiting = closing.reader.waitFor("login:", never);
    closing.stream.destroy();
    await expect(waiting).rejects.toThrow('closed before "login:" showed');

    const aborted = echo();
    const controller = new AbortController();
    const pending = aborted.reader.waitFor("login:", controller.signal);
    controller.abort(new Error("stop now"));
    await expect(pending).rejects.toThrow("stop now");
    // The reader is free for another wait after a failed one.
    aborted.say("login:");
    await expect(aborted.reader.waitFor("login:", never)).resolves.toBeUndefined();
  });

  test("one wait at a time", () => {
    const { reader } = echo();
    void reader.waitFor("a", never).catch(() => {});
    expect(() => reader.waitFor("b", never)).toThrow("one waitFor() at a time");
  });

  test("waitForClose: resolves when the stream closes, rejects when the signal aborts first", async () => {
    const { reader, stream } = echo();
    const closed = reader.waitForClose(never);
    stream.destroy();
    await expect(closed).resolves.toBeUndefined();

    const other = echo();
    const controller = new AbortController();
    const pending = other.reader.waitForClose(controller.signal);
    controller.abort(new Error("took too long"));
    await expect(pending).rejects.toThrow("took too long");
    await expect(other.reader.waitForClose(AbortSignal.abort(new Error("late")))).rejects.toThrow(
      "late",
    );
  });

  test("write goes to the stream", async () => {
    const { reader } = echo();
    reader.write("root\n");
    await expect(reader.waitFor("root\n", never)).resolves.toBeUndefined();
  });
});
