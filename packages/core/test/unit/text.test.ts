import { expect, test } from "vitest";
import {
  checkOptionKeys,
  describeValue,
  excerpt,
  preview,
  stripTerminalEscapes,
  tail,
} from "../../src/index.js";

test("excerpt keeps the start", () => {
  expect(excerpt("abcdef", 3)).toBe("abc…");
  expect(excerpt("abc", 3)).toBe("abc");
});

test("tail keeps the end, by lines and characters, without trailing blanks", () => {
  const text = "1\n2\n3\n4\n\n";
  expect(tail(text, { maxLines: 2 })).toBe("…\n3\n4");
  expect(tail(text)).toBe("1\n2\n3\n4");
  expect(tail("abcdef", { maxChars: 2 })).toBe("…ef");
  expect(tail("only\n", { maxLines: 1 })).toBe("only");
});

test("preview quotes and counts", () => {
  expect(preview("a\nb")).toBe('"a\\nb"');
  expect(preview("abcdef", 2)).toBe('"ab…(6 chars)"');
});

test("describeValue never says [object Object]", () => {
  expect(describeValue({ port: 1, kind: "serial" })).toBe("an object { port, kind }");
  expect(describeValue({})).toBe("an empty object");
  expect(describeValue({ a: 1, b: 2, c: 3, d: 4, e: 5 })).toBe("an object { a, b, c, d, … }");
  expect(describeValue(new Map())).toBe("an instance of Map");
  expect(describeValue([1, 2])).toBe("an array of 2");
  expect(describeValue("x")).toBe('"x"');
  expect(describeValue(Number.NaN)).toBe("NaN");
  expect(describeValue(-0)).toBe("-0");
  expect(describeValue(5n)).toBe("5n");
  expect(describeValue(null)).toBe("null");
  expect(describeValue(undefined)).toBe("undefined");
  expect(describeValue(() => 1)).toBe("a function");
  expect(describeValue(Object.create(null))).toBe("an empty object");
});

test("checkOptionKeys refuses an option the function does not know", () => {
  expect(() => checkOptionKeys({ host: "x", port: 22 }, ["host", "port"])).not.toThrow();
  expect(() =>
    checkOptionKeys({ host: "x", sock: {} }, ["host", "port"], "sshHost options"),
  ).toThrow(
    "sshHost options.sock is not an option; expected one of host, port (got an empty object)",
  );
});

test("stripTerminalEscapes removes CSI and other escape sequences, nothing else", () => {
  expect(stripTerminalEscapes("\x1b[1;32mok\x1b[0m \x1b7x\x1b[K(qemu) ")).toBe("ok x(qemu) ");
});

test("tail of blank text is empty, whatever the limits", () => {
  expect(tail("", { maxLines: 2 })).toBe("");
  expect(tail("  \n\n", { maxLines: 1, maxChars: 5 })).toBe("");
});
