import { describe, expect, test } from "vitest";
import { InvalidArgumentError, LineReader, LineTooLongError } from "../../src/index.js";

function lines(reader: LineReader): string[] {
  const out: string[] = [];
  for (let line = reader.next(); line !== undefined; line = reader.next()) out.push(line);
  return out;
}

describe("LineReader", () => {
  test("splits lines, drops \\r\\n, keeps an unfinished line for later", () => {
    const reader = new LineReader({ maxLineBytes: 100 });
    reader.push(Buffer.from('{"a":1}\r\n{"b":2}\n{"c"'));
    expect(lines(reader)).toEqual(['{"a":1}', '{"b":2}']);
    expect(reader.pendingBytes).toBe(4);
    reader.push(Buffer.from(":3}\n"));
    expect(lines(reader)).toEqual(['{"c":3}']);
    expect(reader.pendingBytes).toBe(0);
  });

  test("a character split across chunks, and a \\r\\n split between chunks, read right", () => {
    const reader = new LineReader({ maxLineBytes: 100 });
    const bytes = Buffer.from("grüße\r\nnext\n");
    for (const byte of bytes) reader.push(Buffer.from([byte]));
    expect(lines(reader)).toEqual(["grüße", "next"]);
  });

  test("a line of exactly maxLineBytes passes, one byte more throws once, then reading goes on", () => {
    const reader = new LineReader({ maxLineBytes: 8 });
    reader.push(Buffer.from("12345678\r\n123456789\nafter\n"));
    expect(reader.next()).toBe("12345678");
    expect(() => reader.next()).toThrow(LineTooLongError);
    expect(reader.next()).toBe("after");
    expect(reader.next()).toBeUndefined();
  });

  test("an endless line is dropped as it comes: memory stays bounded, the next line is read", () => {
    const reader = new LineReader({ maxLineBytes: 1024 });
    const chunk = Buffer.alloc(4096, 0x41);
    let thrown = 0;
    for (let i = 0; i < 1000; i++) {
      reader.push(chunk);
      try {
        lines(reader);
      } catch (error) {
        expect(error).toBeInstanceOf(LineTooLongError);
        expect((error as LineTooLongError).start).toBe(`${"A".repeat(200)}…`);
        thrown++;
      }
      expect(reader.pendingBytes).toBeLessThanOrEqual(1025 + chunk.length);
    }
    expect(thrown).toBe(1);
    reader.push(Buffer.from("AAAA\nhello\n"));
    expect(lines(reader)).toEqual(["hello"]);
  });

  test("maxLineBytes must be a positive integer", () => {
    expect(() => new LineReader({ maxLineBytes: 0 })).toThrow(InvalidArgumentError);
    expect(() => new LineReader({ maxLineBytes: 1.5 })).toThrow(InvalidArgumentError);
  });
});
